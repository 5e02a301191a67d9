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
                dataFormat: DataFormat = .channelsLast, dilationRate: (Int, Int) = (1, 1),
                activation: Activation = .linear, useBias: Bool = true,
                kernelInitializer: Initializer = .glorotUniform, biasInitializer: Initializer = .zeros,
                kernelRegularizer: Regularizer? = nil, biasRegularizer: Regularizer? = nil,
                kernelConstraint: Constraint? = nil, biasConstraint: Constraint? = nil,
                name: String? = nil) {
        self.filters = filters; self.kernelSize = kernelSize; self.strides = strides; self.padding = padding
        self.dataFormat = dataFormat; self.dilationRate = dilationRate; self.activation = activation
        self.useBias = useBias; self.kernelInitializer = kernelInitializer; self.biasInitializer = biasInitializer
        self.kernelRegularizer = kernelRegularizer; self.biasRegularizer = biasRegularizer
        self.kernelConstraint = kernelConstraint; self.biasConstraint = biasConstraint
        super.init(name: name)
    }

    /// Square kernel and strides, as Keras accepts a single integer.
    public convenience init(filters: Int, kernelSize: Int, strides: Int = 1, padding: Padding = .valid,
                            dataFormat: DataFormat = .channelsLast, dilationRate: Int = 1,
                            activation: Activation = .linear, useBias: Bool = true,
                            kernelInitializer: Initializer = .glorotUniform, biasInitializer: Initializer = .zeros,
                            kernelRegularizer: Regularizer? = nil, biasRegularizer: Regularizer? = nil,
                            kernelConstraint: Constraint? = nil, biasConstraint: Constraint? = nil,
                            name: String? = nil) {
        self.init(filters: filters, kernelSize: (kernelSize, kernelSize), strides: (strides, strides), padding: padding,
                  dataFormat: dataFormat, dilationRate: (dilationRate, dilationRate), activation: activation,
                  useBias: useBias, kernelInitializer: kernelInitializer, biasInitializer: biasInitializer,
                  kernelRegularizer: kernelRegularizer, biasRegularizer: biasRegularizer,
                  kernelConstraint: kernelConstraint, biasConstraint: biasConstraint, name: name)
    }

    /// `(height, width, channels)` of an input in this layer's data format.
    func spatial(_ shape: [Int?]) throws -> (h: Int, w: Int, c: Int) {
        let layout = dataFormat == .channelsLast ? "(batch, height, width, channels)" : "(batch, channels, height, width)"
        guard shape.count == 4 else { throw shapeError(shape, "a rank-4 input \(layout)") }
        let dims = dataFormat == .channelsLast ? (shape[1], shape[2], shape[3]) : (shape[2], shape[3], shape[1])
        guard let h = dims.0, let w = dims.1, let c = dims.2 else { throw shapeError(shape, "known spatial and channel sizes \(layout)") }
        return (h, w, c)
    }

    func window(h: Int, w: Int, shape: [Int?]) throws -> Window2D {
        guard filters > 0, kernelSize.0 > 0, kernelSize.1 > 0, strides.0 > 0, strides.1 > 0, dilationRate.0 > 0, dilationRate.1 > 0 else {
            throw FoveaError("\(name) (Conv2D): filters, kernelSize, strides and dilationRate must be positive")
        }
        guard padding != .causal else { throw FoveaError("\(name) (Conv2D): 'causal' padding is for 1-D convolutions; use 'valid' or 'same'") }
        if (strides.0 > 1 || strides.1 > 1) && (dilationRate.0 > 1 || dilationRate.1 > 1) {
            throw FoveaError("\(name) (Conv2D): strides > 1 cannot be combined with dilationRate > 1 (Keras forbids it); got strides \(strides), dilationRate \(dilationRate)")
        }
        guard let rows = WindowAxis(input: h, kernel: kernelSize.0, stride: strides.0, dilation: dilationRate.0, padding: padding),
              let cols = WindowAxis(input: w, kernel: kernelSize.1, stride: strides.1, dilation: dilationRate.1, padding: padding) else {
            throw shapeError(shape, "an input at least as large as the (dilated) \(kernelSize.0)×\(kernelSize.1) kernel with 'valid' padding")
        }
        return Window2D(rows: rows, columns: cols)
    }

    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        let (h, w, _) = try spatial(inputShape)
        let win = try window(h: h, w: w, shape: inputShape)
        return dataFormat == .channelsLast ? [inputShape[0], win.rows.output, win.columns.output, filters]
                                           : [inputShape[0], filters, win.rows.output, win.columns.output]
    }

    public override func build(inputShape: [Int?]) throws {
        let (_, _, c) = try spatial(inputShape)
        kernel = addWeight("kernel", shape: [kernelSize.0, kernelSize.1, c, filters], initializer: kernelInitializer,
                           regularizer: kernelRegularizer, constraint: kernelConstraint)
        if useBias {
            bias = addWeight("bias", shape: [filters], initializer: biasInitializer,
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
        let x = dataFormat == .channelsLast ? input : input.transposed([0, 2, 3, 1])
        let fuseRelu = activation.kind == .relu
        var y = Tensor.conv2D(x, kernel: k ?? kernel!.tracked, bias: b ?? bias?.tracked, window: win, relu: fuseRelu,
                               algorithm: algorithm)
        if !fuseRelu { y = activation(y) }
        return dataFormat == .channelsLast ? y : y.transposed([0, 3, 1, 2])
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
        guard dataFormat == .channelsLast, pool.dataFormat == .channelsLast, relu || activation.kind == .linear,
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
        let cin = Double(dataFormat == .channelsLast ? inputShapes[0][3] : inputShapes[0][1])
        return 2 * Double(outputShapes[0].reduce(1, *)) * Double(kernelSize.0 * kernelSize.1) * cin
    }

    public typealias Configuration = ConvolutionConfiguration
    /// Grouped convolution, LoRA adapters and quantization are not implemented yet: Keras's defaults only.
    public static var acceptedDefaults: [String: JSONValue] { ConvolutionConfiguration.acceptedDefaults }

    public var configuration: Configuration {
        var c = ConvolutionConfiguration(filters: filters, kernelSize: KerasInts(kernelSize))
        c.strides = KerasInts(strides); c.padding = padding; c.dataFormat = dataFormat; c.dilationRate = KerasInts(dilationRate)
        c.activation = activation; c.useBias = useBias; c.kernelInitializer = kernelInitializer; c.biasInitializer = biasInitializer
        c.kernelRegularizer = kernelRegularizer; c.biasRegularizer = biasRegularizer
        c.kernelConstraint = kernelConstraint; c.biasConstraint = biasConstraint
        return c
    }

    public convenience init(configuration c: Configuration, name: String?) throws {
        self.init(filters: c.filters, kernelSize: try c.kernelSize.pair("kernel_size"), strides: try c.strides.pair("strides"),
                  padding: c.padding, dataFormat: c.dataFormat, dilationRate: try c.dilationRate.pair("dilation_rate"),
                  activation: c.activation, useBias: c.useBias, kernelInitializer: c.kernelInitializer,
                  biasInitializer: c.biasInitializer, kernelRegularizer: c.kernelRegularizer, biasRegularizer: c.biasRegularizer,
                  kernelConstraint: c.kernelConstraint, biasConstraint: c.biasConstraint, name: name)
    }
}
