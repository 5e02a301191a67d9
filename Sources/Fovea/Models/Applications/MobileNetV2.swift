import Foundation

extension Applications {
    /// The widths (`alpha`) Keras publishes ImageNet weights of MobileNetV2 for.
    public static let mobileNetV2Alphas: [Double] = [0.35, 0.5, 0.75, 1.0, 1.3, 1.4]
    /// The square input sizes Keras publishes ImageNet weights of MobileNetV2 for.
    public static let mobileNetV2Sizes = [96, 128, 160, 192, 224]

    /// MobileNetV2 (Sandler et al., 2018) as `keras.applications.MobileNetV2` builds it: `Conv1`
    /// (3×3 stride 2) with `bn_Conv1` and `Conv1_relu` (ReLU6), seventeen inverted residual blocks
    /// (`expanded_conv_*`, then `block_1_*` … `block_16_*`: 1×1 `expand` convolution, `pad` before a
    /// stride-2 block, 3×3 `depthwise`, 1×1 linear `project`, each with its `_BN` and, but for the
    /// projection, a ReLU6; `add` where input and output match), `Conv_1` (1×1, 1280 filters), `Conv_1_bn`
    /// and `out_relu`. With `includeTop`, an unnamed `GlobalAveragePooling2D` and `predictions`.
    /// Batch norms use epsilon 1e-3 and momentum 0.999.
    ///
    /// `alpha` scales every layer's filters (rounded to multiples of 8 as Keras's `_make_divisible`
    /// rounds them; the last convolution keeps 1280 filters unless `alpha` > 1): 3,538,984 parameters
    /// at 1.0 (2,257,984 without the top). The model is named `mobilenetv2_<alpha, 2 decimals>_<rows>`
    /// (`mobilenetv2_1.00_224`), as Keras names it.
    ///
    /// - Input: 224×224×3 by default; at least 32×32. Prepare images with
    ///   `preprocessInput(_:mode: .tf)` (pixels scaled to [-1, 1]).
    /// - Weights Keras publishes, for `alpha` in ``mobileNetV2Alphas`` and square inputs of a size in
    ///   ``mobileNetV2Sizes`` (bring the file; load with `weights: .imagenet(url)` or
    ///   ``Model/loadKerasWeights(from:byName:skipMismatch:)``):
    ///   `mobilenet_v2_weights_tf_dim_ordering_tf_kernels_<alpha>_<rows>.h5` and
    ///   `mobilenet_v2_weights_tf_dim_ordering_tf_kernels_<alpha>_<rows>_no_top.h5`, `alpha` written as
    ///   Python prints a float (`1.0`, `0.35`) — e.g. `mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5`.
    ///   With `weights: .imagenet(_)`, `alpha` must be one of those widths; an input size without
    ///   weights of its own takes the 224 ones (Keras warns, and names the model `…_224`).
    /// - `pooling` without the top: an unnamed `GlobalAveragePooling2D` or `GlobalMaxPooling2D`.
    public static func mobileNetV2(inputShape: [Int]? = nil, alpha: Double = 1.0, includeTop: Bool = true,
                                   weights: Weights = .random, pooling: Pooling? = nil, classes: Int = 1000,
                                   classifierActivation: Activation = .softmax, name: String? = nil,
                                   seed: UInt64? = nil) throws -> Model {
        let network = "mobilenet_v2"
        guard alpha.isFinite, alpha > 0 else { throw FoveaError("\(network): alpha must be a positive width multiplier, got \(alpha)") }
        try checkClassifier(includeTop: includeTop, classes: classes, activation: classifierActivation, weights: weights, network: network)
        // Keras's default size is the given one when it is square and one of the published sizes.
        var defaultSize = 224
        if let given = inputShape, given.count == 3, given[0] == given[1], mobileNetV2Sizes.contains(given[0]) { defaultSize = given[0] }
        let shape = try Self.inputShape(inputShape, defaultSize: defaultSize, minSize: 32, includeTop: includeTop, weights: weights, network: network)
        var rows = shape[0]
        if weights.isImageNet {
            guard mobileNetV2Alphas.contains(where: { Swift.abs($0 - alpha) < 1e-9 }) else {
                throw FoveaError("\(network): Keras publishes ImageNet weights for alpha \(mobileNetV2Alphas.map { "\($0)" }.joined(separator: ", ")) only, got \(alpha); pass weights: .random (or a file of your own) for other widths")
            }
            if shape[0] != shape[1] || !mobileNetV2Sizes.contains(shape[0]) { rows = 224 }
        }

        let input = Input(shape: shape)
        var x = try Conv2D(filters: makeDivisible(32 * alpha, 8), kernelSize: 3, strides: 2, padding: .same, useBias: false, name: "Conv1")(input)
        x = try mobileNetBatchNorm("bn_Conv1")(x)
        x = try ReLU(maxValue: 6, name: "Conv1_relu")(x)
        let blocks: [(filters: Int, stride: Int, expansion: Int)] = [
            (16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6), (64, 2, 6), (64, 1, 6), (64, 1, 6),
            (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6), (160, 2, 6), (160, 1, 6), (160, 1, 6), (320, 1, 6),
        ]
        for (id, block) in blocks.enumerated() {
            x = try invertedResidualBlock(x, expansion: block.expansion, stride: block.stride, alpha: alpha, filters: block.filters, id: id)
        }
        let lastFilters = alpha > 1 ? makeDivisible(1280 * alpha, 8) : 1280
        x = try Conv2D(filters: lastFilters, kernelSize: 1, useBias: false, name: "Conv_1")(x)
        x = try mobileNetBatchNorm("Conv_1_bn")(x)
        x = try ReLU(maxValue: 6, name: "out_relu")(x)
        if includeTop {
            x = try GlobalAveragePooling2D()(x)
            x = try Dense(classes, activation: classifierActivation, name: "predictions")(x)
        } else {
            x = try pool(x, pooling)
        }
        return try finish(input, x, name: name ?? "mobilenetv2_\(String(format: "%.2f", alpha))_\(rows)", weights: weights, seed: seed)
    }

    /// MobileNetV2's batch normalisation (Keras writes `axis: -1`, epsilon 1e-3, momentum 0.999).
    private static func mobileNetBatchNorm(_ name: String) -> BatchNormalization {
        BatchNormalization(axis: -1, momentum: 0.999, epsilon: 1e-3, name: name)
    }

    /// Keras's `_make_divisible`: `value` rounded to the nearest multiple of `divisor` (at least
    /// `divisor`), one more step when rounding lost over 10%.
    static func makeDivisible(_ value: Double, _ divisor: Int) -> Int {
        // Clamped: a huge (finite) alpha makes a huge value, which the layer's own caps then refuse.
        var rounded = Swift.max(divisor, (value + Double(divisor) / 2).clampedInt(0...(1 << 40)) / divisor * divisor)
        if Double(rounded) < 0.9 * value { rounded += divisor }
        return rounded
    }

    /// Keras's `_inverted_res_block`.
    private static func invertedResidualBlock(_ inputs: SymbolicTensor, expansion: Int, stride: Int, alpha: Double, filters: Int,
                                              id: Int) throws -> SymbolicTensor {
        let inChannels = inputs.shape[3]!
        let pointwiseFilters = makeDivisible(Double((Double(filters) * alpha).clampedInt(0...(1 << 40))), 8)
        var x = inputs
        var prefix = "block_\(id)_"
        if id > 0 {
            x = try Conv2D(filters: expansion * inChannels, kernelSize: 1, padding: .same, useBias: false, name: "\(prefix)expand")(x)
            x = try mobileNetBatchNorm("\(prefix)expand_BN")(x)
            x = try ReLU(maxValue: 6, name: "\(prefix)expand_relu")(x)
        } else {
            prefix = "expanded_conv_"
        }
        if stride == 2 {
            x = try ZeroPadding2D(padding: correctPad(x, kernelSize: 3), name: "\(prefix)pad")(x)
        }
        x = try DepthwiseConv2D(kernelSize: 3, strides: stride, padding: stride == 1 ? .same : .valid, useBias: false,
                                name: "\(prefix)depthwise")(x)
        x = try mobileNetBatchNorm("\(prefix)depthwise_BN")(x)
        x = try ReLU(maxValue: 6, name: "\(prefix)depthwise_relu")(x)
        x = try Conv2D(filters: pointwiseFilters, kernelSize: 1, padding: .same, useBias: false, name: "\(prefix)project")(x)
        x = try mobileNetBatchNorm("\(prefix)project_BN")(x)
        if inChannels == pointwiseFilters && stride == 1 {
            return try Add(name: "\(prefix)add")([inputs, x])
        }
        return x
    }

    /// Keras's `imagenet_utils.correct_pad` (channels-last): the zero padding that makes a `valid`
    /// stride-2 convolution of a `kernelSize` kernel cover the input as `same` padding would, one row
    /// and column less before on even sizes.
    static func correctPad(_ x: SymbolicTensor, kernelSize: Int) -> Margins2D {
        let (h, w) = (x.shape[1]!, x.shape[2]!)
        let correct = kernelSize / 2
        return Margins2D(top: correct - (1 - h % 2), bottom: correct, left: correct - (1 - w % 2), right: correct)
    }
}
