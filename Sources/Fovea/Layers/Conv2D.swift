import Foundation

/// 2-D convolution (Keras `Conv2D`): `filters` kernels of `kernelSize` slid over the image,
/// plus bias, then the activation. Kernel shape `(kh, kw, inChannels, filters)`, as in Keras.
public final class Conv2D: Layer, ConfigurableLayer {
    public let filters: Int
    public let kernelSize: (Int, Int)
    public let strides: (Int, Int)
    public let padding: Padding
    public let dataFormat: DataFormat
    public override var channelsFirst: Bool { dataFormat == .channelsFirst }
    public let dilationRate: (Int, Int)
    /// Keras's `groups`: the channels split into this many groups, each convolved with its share of
    /// the filters (kernel `(kh, kw, inChannels / groups, filters)`).
    public let groups: Int
    public let activation: Activation
    public let useBias: Bool
    public let kernelInitializer: Initializer, biasInitializer: Initializer
    public let kernelRegularizer: Regularizer?, biasRegularizer: Regularizer?
    public let kernelConstraint: Constraint?, biasConstraint: Constraint?
    public private(set) var kernel: Variable?
    public private(set) var bias: Variable?
    /// How the convolution is computed (not part of Keras's config, never saved): `.automatic`
    /// takes Winograd for 3×3 stride-1 layers with enough channels; `.im2col` forces the reference path.
    public var algorithm: ConvolutionAlgorithm = .automatic

    public init(filters: Int, kernelSize: (Int, Int), strides: (Int, Int) = (1, 1), padding: Padding = .valid,
                dataFormat: DataFormat = .channelsLast, dilationRate: (Int, Int) = (1, 1), groups: Int = 1,
                activation: Activation = .linear, useBias: Bool = true,
                kernelInitializer: Initializer = .glorotUniform, biasInitializer: Initializer = .zeros,
                kernelRegularizer: Regularizer? = nil, biasRegularizer: Regularizer? = nil,
                kernelConstraint: Constraint? = nil, biasConstraint: Constraint? = nil,
                name: String? = nil) {
        self.filters = filters; self.kernelSize = kernelSize; self.strides = strides; self.padding = padding
        self.dataFormat = dataFormat; self.dilationRate = dilationRate; self.groups = groups; self.activation = activation
        self.useBias = useBias; self.kernelInitializer = kernelInitializer; self.biasInitializer = biasInitializer
        self.kernelRegularizer = kernelRegularizer; self.biasRegularizer = biasRegularizer
        self.kernelConstraint = kernelConstraint; self.biasConstraint = biasConstraint
        super.init(name: name)
    }

    /// Square kernel and strides, as Keras accepts a single integer.
    public convenience init(filters: Int, kernelSize: Int, strides: Int = 1, padding: Padding = .valid,
                            dataFormat: DataFormat = .channelsLast, dilationRate: Int = 1, groups: Int = 1,
                            activation: Activation = .linear, useBias: Bool = true,
                            kernelInitializer: Initializer = .glorotUniform, biasInitializer: Initializer = .zeros,
                            kernelRegularizer: Regularizer? = nil, biasRegularizer: Regularizer? = nil,
                            kernelConstraint: Constraint? = nil, biasConstraint: Constraint? = nil,
                            name: String? = nil) {
        self.init(filters: filters, kernelSize: (kernelSize, kernelSize), strides: (strides, strides), padding: padding,
                  dataFormat: dataFormat, dilationRate: (dilationRate, dilationRate), groups: groups, activation: activation,
                  useBias: useBias, kernelInitializer: kernelInitializer, biasInitializer: biasInitializer,
                  kernelRegularizer: kernelRegularizer, biasRegularizer: biasRegularizer,
                  kernelConstraint: kernelConstraint, biasConstraint: biasConstraint, name: name)
    }

    var geometry: ConvolutionGeometry {
        ConvolutionGeometry(kernelSize: kernelSize, strides: strides, padding: padding, dataFormat: dataFormat, dilationRate: dilationRate)
    }

    /// `(height, width, channels)` of an input in this layer's data format.
    func spatial(_ shape: [Int?]) throws -> (h: Int, w: Int, c: Int) { try geometry.spatial(shape, self) }

    func window(h: Int, w: Int, shape: [Int?]) throws -> Window2D {
        guard filters > 0, groups > 0 else { throw FoveaError("\(name) (Conv2D): filters and groups must be positive") }
        return try geometry.window(h: h, w: w, shape: shape, self)
    }

    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        let (h, w, c) = try spatial(inputShape)
        _ = try window(h: h, w: w, shape: inputShape)
        guard c % groups == 0, filters % groups == 0 else {
            throw FoveaError("\(name) (Conv2D): with groups \(groups), the input's \(c) channels and the \(filters) filters must both be divisible by it")
        }
        return try geometry.outputShape(inputShape, channels: filters, self)
    }

    public override func build(inputShape: [Int?]) throws {
        let (_, _, c) = try spatial(inputShape)
        kernel = try addWeight("kernel", shape: [kernelSize.0, kernelSize.1, c / groups, filters], initializer: kernelInitializer,
                           regularizer: kernelRegularizer, constraint: kernelConstraint)
        if useBias {
            bias = try addWeight("bias", shape: [filters], initializer: biasInitializer,
                             regularizer: biasRegularizer, constraint: biasConstraint)
        }
    }

    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor {
        try forward(input, activation: activation)
    }

    /// The convolution with `activation` in place of the layer's own (a fusion pass runs a following
    /// ReLU layer inside the convolution). ReLU is fused into the convolution's kernel.
    func forward(_ input: Tensor, activation: Activation, kernel k: Tensor? = nil, bias b: Tensor?? = nil) throws -> Tensor {
        let shape = input.optionalShape
        let (h, w, _) = try spatial(shape)
        let win = try window(h: h, w: w, shape: shape)
        let fuseRelu = activation.kind == .relu
        return geometry.channelsLast(input) { x in
            var y = groups == 1
                ? Tensor.conv2D(x, kernel: k ?? kernel!.tracked, bias: b ?? bias?.tracked, window: win, relu: fuseRelu, algorithm: algorithm)
                : Tensor.groupedConv2D(x, kernel: k ?? kernel!.tracked, bias: b ?? bias?.tracked, window: win, groups: groups, relu: fuseRelu)
            if !fuseRelu { y = activation(y) }
            return y
        }
    }

    /// This layer and then `pool` in one pass, when the pair has a fused kernel (a 3×3 first layer
    /// or a Winograd-computed layer, with a linear or ReLU activation, followed by a channels-last
    /// 2×2, stride-2 `valid` max pool). When a gradient is needed (trainable weights while gradients
    /// are recorded) only the direct one-channel 3×3 kernel qualifies, and only on an input with no
    /// gradient of its own (data, as a network's first layer sees): its backward pass then reads the
    /// pooled gradient and each window's winner, not a full-size convolution gradient.
    /// `nil` when the pair does not qualify; the caller then runs the two layers.
    func forwardFused(with pool: MaxPooling2D, _ input: Tensor) throws -> Tensor? {
        let relu = activation.kind == .relu
        guard groups == 1, dataFormat == .channelsLast, pool.dataFormat == .channelsLast, relu || activation.kind == .linear,
              pool.poolSize == (2, 2), pool.strides == (2, 2), pool.padding == .valid, input.rank == 4 else { return nil }
        let shape = input.optionalShape
        try buildIfNeeded(inputShape: shape)
        let win = try window(h: input.shape[1], w: input.shape[2], shape: shape)
        guard win.rows.output >= 2, win.columns.output >= 2 else { return nil }
        try pool.buildIfNeeded(inputShape: try outputShape(for: shape))
        return Tensor.fusedConv2DMaxPool2x2(input, kernel: kernel!.tracked, bias: bias?.tracked, window: win, relu: relu,
                                            algorithm: algorithm)
    }

    public override func forwardFLOPs(inputShapes: [[Int]], outputShapes: [[Int]]) -> Double {
        let cin = Double(dataFormat == .channelsLast ? inputShapes[0][3] : inputShapes[0][1]) / Double(groups)
        return 2 * Double(outputShapes[0].reduce(1, *)) * Double(kernelSize.0 * kernelSize.1) * cin
    }

    public typealias Configuration = ConvolutionConfiguration
    /// LoRA adapters and quantization are not implemented: Keras's defaults only.
    public static var acceptedDefaults: [String: JSONValue] { ConvolutionConfiguration.acceptedDefaults }

    public var configuration: Configuration {
        var c = ConvolutionConfiguration(filters: filters, kernelSize: KerasInts(kernelSize))
        c.strides = KerasInts(strides); c.padding = padding; c.dataFormat = dataFormat; c.dilationRate = KerasInts(dilationRate)
        c.groups = groups
        c.activation = activation; c.useBias = useBias; c.kernelInitializer = kernelInitializer; c.biasInitializer = biasInitializer
        c.kernelRegularizer = kernelRegularizer; c.biasRegularizer = biasRegularizer
        c.kernelConstraint = kernelConstraint; c.biasConstraint = biasConstraint
        return c
    }

    public convenience init(configuration c: Configuration, name: String?) throws {
        self.init(filters: c.filters, kernelSize: try c.kernelSize.pair("kernel_size"), strides: try c.strides.pair("strides"),
                  padding: c.padding, dataFormat: c.dataFormat, dilationRate: try c.dilationRate.pair("dilation_rate"), groups: c.groups ?? 1,
                  activation: c.activation, useBias: c.useBias, kernelInitializer: c.kernelInitializer,
                  biasInitializer: c.biasInitializer, kernelRegularizer: c.kernelRegularizer, biasRegularizer: c.biasRegularizer,
                  kernelConstraint: c.kernelConstraint, biasConstraint: c.biasConstraint, name: name)
    }
}
