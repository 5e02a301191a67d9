import Foundation

extension Applications {
    /// ResNet50 (He et al., 2015) as `keras.applications.ResNet50` builds it: `conv1_pad`, a 7×7
    /// stride-2 `conv1_conv` with `conv1_bn` and `conv1_relu`, `pool1_pad` and a 3×3 stride-2
    /// `pool1_pool`, then four stacks of bottleneck blocks (`conv2` ×3 at 64 filters, `conv3` ×4 at
    /// 128, `conv4` ×6 at 256, `conv5` ×3 at 512), each block `convN_blockM_{1,2,3}_conv/_bn`
    /// (ReLU after the first two), a projection shortcut `_0_conv`/`_0_bn` in a stack's first block,
    /// `_add` and `_out` (ReLU); batch norms with epsilon 1.001e-5. With `includeTop`, `avg_pool`
    /// (`GlobalAveragePooling2D`) and `predictions`. 25,636,712 parameters, 53,120 of them the batch
    /// norms' non-trainable moving statistics (23,587,712 without the top); model name `resnet50`.
    ///
    /// - Input: 224×224×3 by default; at least 32×32. Prepare images with
    ///   `preprocessInput(_:mode: .caffe)` (RGB to BGR, ImageNet's channel means subtracted, no scaling).
    /// - Weights Keras publishes (bring the file; load with `weights: .imagenet(url)` or
    ///   ``Model/loadKerasWeights(from:byName:skipMismatch:)``): `resnet50_weights_tf_dim_ordering_tf_kernels.h5`
    ///   (with the top) and `resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5` (without). Written by
    ///   Keras 2, they list the layers in Keras 2's order, which pairs with this model's by position
    ///   and by name alike.
    /// - `pooling` without the top: `avg_pool` (`GlobalAveragePooling2D`) or `max_pool` (`GlobalMaxPooling2D`).
    public static func resnet50(includeTop: Bool = true, weights: Weights = .random, inputShape: [Int]? = nil,
                                pooling: Pooling? = nil, classes: Int = 1000, classifierActivation: Activation = .softmax,
                                name: String = "resnet50", seed: UInt64? = nil) throws -> Model {
        let network = "resnet50"
        try checkClassifier(includeTop: includeTop, classes: classes, activation: classifierActivation, weights: weights, network: network)
        let shape = try Self.inputShape(inputShape, defaultSize: 224, minSize: 32, includeTop: includeTop, weights: weights, network: network)
        let input = Input(shape: shape)
        var x = try ZeroPadding2D(padding: Margins2D(3), name: "conv1_pad")(input)
        x = try Conv2D(filters: 64, kernelSize: 7, strides: 2, name: "conv1_conv")(x)
        x = try resNetBatchNorm("conv1_bn")(x)
        x = try ActivationLayer(.relu, name: "conv1_relu")(x)
        x = try ZeroPadding2D(padding: Margins2D(1), name: "pool1_pad")(x)
        x = try MaxPooling2D(poolSize: 3, strides: 2, name: "pool1_pool")(x)
        for (stack, (filters, blocks)) in [(64, 3), (128, 4), (256, 6), (512, 3)].enumerated() {
            let stackName = "conv\(stack + 2)"
            x = try residualBlock(x, filters: filters, stride: stack == 0 ? 1 : 2, projection: true, name: "\(stackName)_block1")
            for block in 2...blocks {
                x = try residualBlock(x, filters: filters, stride: 1, projection: false, name: "\(stackName)_block\(block)")
            }
        }
        if includeTop {
            x = try GlobalAveragePooling2D(name: "avg_pool")(x)
            x = try Dense(classes, activation: classifierActivation, name: "predictions")(x)
        } else {
            x = try pool(x, pooling, averageName: "avg_pool", maxName: "max_pool")
        }
        return try finish(input, x, name: name, weights: weights, seed: seed)
    }

    /// ResNet's batch normalisation over the channels (Keras writes `axis: 3`).
    private static func resNetBatchNorm(_ name: String) -> BatchNormalization {
        BatchNormalization(axis: 3, epsilon: 1.001e-5, name: name)
    }

    /// Keras's `residual_block_v1`: a 1×1, 3×3, 1×1 bottleneck (4 × `filters` out) added to the input
    /// or, with `projection`, to a strided 1×1 convolution of it.
    private static func residualBlock(_ x: SymbolicTensor, filters: Int, stride: Int, projection: Bool, name: String) throws -> SymbolicTensor {
        var shortcut = x
        if projection {
            shortcut = try Conv2D(filters: 4 * filters, kernelSize: 1, strides: stride, name: "\(name)_0_conv")(x)
            shortcut = try resNetBatchNorm("\(name)_0_bn")(shortcut)
        }
        var y = try Conv2D(filters: filters, kernelSize: 1, strides: stride, name: "\(name)_1_conv")(x)
        y = try resNetBatchNorm("\(name)_1_bn")(y)
        y = try ActivationLayer(.relu, name: "\(name)_1_relu")(y)
        y = try Conv2D(filters: filters, kernelSize: 3, padding: .same, name: "\(name)_2_conv")(y)
        y = try resNetBatchNorm("\(name)_2_bn")(y)
        y = try ActivationLayer(.relu, name: "\(name)_2_relu")(y)
        y = try Conv2D(filters: 4 * filters, kernelSize: 1, name: "\(name)_3_conv")(y)
        y = try resNetBatchNorm("\(name)_3_bn")(y)
        y = try Add(name: "\(name)_add")([shortcut, y])
        return try ActivationLayer(.relu, name: "\(name)_out")(y)
    }
}
