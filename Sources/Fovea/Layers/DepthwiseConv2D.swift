import Foundation

/// Keras `DepthwiseConv2D`: each input channel convolved on its own with `depthMultiplier` filters
/// (MobileNet's spatial step). Kernel `(kh, kw, inChannels, depthMultiplier)`; output channel
/// `c · depthMultiplier + m`.
public final class DepthwiseConv2D: Layer, ConfigurableLayer {
    public let kernelSize: (Int, Int)
    public let strides: (Int, Int)
    public let padding: Padding
    public let depthMultiplier: Int
    public let dataFormat: DataFormat
    public let dilationRate: (Int, Int)
    public let activation: Activation
    public let useBias: Bool
    public let depthwiseInitializer: Initializer, biasInitializer: Initializer
    public let depthwiseRegularizer: Regularizer?, biasRegularizer: Regularizer?
    public let depthwiseConstraint: Constraint?, biasConstraint: Constraint?
    public private(set) var kernel: Variable?
    public private(set) var bias: Variable?
    public override var channelsFirst: Bool { dataFormat == .channelsFirst }

    public init(kernelSize: (Int, Int), strides: (Int, Int) = (1, 1), padding: Padding = .valid, depthMultiplier: Int = 1,
                dataFormat: DataFormat = .channelsLast, dilationRate: (Int, Int) = (1, 1), activation: Activation = .linear,
                useBias: Bool = true, depthwiseInitializer: Initializer = .glorotUniform, biasInitializer: Initializer = .zeros,
                depthwiseRegularizer: Regularizer? = nil, biasRegularizer: Regularizer? = nil,
                depthwiseConstraint: Constraint? = nil, biasConstraint: Constraint? = nil, name: String? = nil) {
        self.kernelSize = kernelSize; self.strides = strides; self.padding = padding; self.depthMultiplier = depthMultiplier
        self.dataFormat = dataFormat; self.dilationRate = dilationRate; self.activation = activation; self.useBias = useBias
        self.depthwiseInitializer = depthwiseInitializer; self.biasInitializer = biasInitializer
        self.depthwiseRegularizer = depthwiseRegularizer; self.biasRegularizer = biasRegularizer
        self.depthwiseConstraint = depthwiseConstraint; self.biasConstraint = biasConstraint
        super.init(name: name)
    }

    /// Square kernel and strides.
    public convenience init(kernelSize: Int, strides: Int = 1, padding: Padding = .valid, depthMultiplier: Int = 1,
                            activation: Activation = .linear, useBias: Bool = true, name: String? = nil) {
        self.init(kernelSize: (kernelSize, kernelSize), strides: (strides, strides), padding: padding, depthMultiplier: depthMultiplier,
                  activation: activation, useBias: useBias, name: name)
    }

    var geometry: ConvolutionGeometry {
        ConvolutionGeometry(kernelSize: kernelSize, strides: strides, padding: padding, dataFormat: dataFormat, dilationRate: dilationRate)
    }

    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        guard depthMultiplier > 0 else { throw FoveaError("\(name) (DepthwiseConv2D): depthMultiplier must be positive, got \(depthMultiplier)") }
        let (_, _, c) = try geometry.spatial(inputShape, self)
        return try geometry.outputShape(inputShape, channels: c * depthMultiplier, self)
    }

    public override func build(inputShape: [Int?]) throws {
        let (_, _, c) = try geometry.spatial(inputShape, self)
        kernel = try addWeight("kernel", shape: [kernelSize.0, kernelSize.1, c, depthMultiplier], initializer: depthwiseInitializer,
                           regularizer: depthwiseRegularizer, constraint: depthwiseConstraint)
        if useBias {
            bias = try addWeight("bias", shape: [c * depthMultiplier], initializer: biasInitializer, regularizer: biasRegularizer, constraint: biasConstraint)
        }
    }

    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor {
        try forward(input, kernel: kernel!.tracked, bias: bias?.tracked)
    }

    /// The convolution with the given weights (a fusion pass passes batch-norm-folded ones).
    func forward(_ input: Tensor, kernel: Tensor, bias: Tensor?) throws -> Tensor {
        let (h, w, _) = try geometry.spatial(input.optionalShape, self)
        let win = try geometry.window(h: h, w: w, shape: input.optionalShape, self)
        return geometry.channelsLast(input) { x in activation(Tensor.depthwiseConv2D(x, kernel: kernel, bias: bias, window: win)) }
    }

    public override func forwardFLOPs(inputShapes: [[Int]], outputShapes: [[Int]]) -> Double {
        2 * Double(outputShapes[0].reduce(1, *)) * Double(kernelSize.0 * kernelSize.1)
    }

    public struct Configuration: Codable {
        public var kernelSize: KerasInts
        public var strides: KerasInts = 1
        public var padding: Padding = .valid
        public var depthMultiplier = 1
        public var dataFormat: DataFormat = .channelsLast
        public var dilationRate: KerasInts = 1
        public var activation: Activation = .linear
        public var useBias = true
        public var depthwiseInitializer: Initializer = .glorotUniform
        public var biasInitializer: Initializer = .zeros
        public var depthwiseRegularizer: Regularizer?
        public var biasRegularizer: Regularizer?
        public var depthwiseConstraint: Constraint?
        public var biasConstraint: Constraint?
        enum CodingKeys: String, CodingKey {
            case kernelSize = "kernel_size", strides, padding, depthMultiplier = "depth_multiplier", dataFormat = "data_format"
            case dilationRate = "dilation_rate", activation, useBias = "use_bias"
            case depthwiseInitializer = "depthwise_initializer", biasInitializer = "bias_initializer"
            case depthwiseRegularizer = "depthwise_regularizer", biasRegularizer = "bias_regularizer"
            case depthwiseConstraint = "depthwise_constraint", biasConstraint = "bias_constraint"
        }
        init(kernelSize: KerasInts) { self.kernelSize = kernelSize }
        init(_ l: DepthwiseConv2D) {
            kernelSize = KerasInts(l.kernelSize); strides = KerasInts(l.strides); padding = l.padding; depthMultiplier = l.depthMultiplier
            dataFormat = l.dataFormat; dilationRate = KerasInts(l.dilationRate); activation = l.activation; useBias = l.useBias
            depthwiseInitializer = l.depthwiseInitializer; biasInitializer = l.biasInitializer
            depthwiseRegularizer = l.depthwiseRegularizer; biasRegularizer = l.biasRegularizer
            depthwiseConstraint = l.depthwiseConstraint; biasConstraint = l.biasConstraint
        }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            kernelSize = try c.decode(KerasInts.self, forKey: .kernelSize)
            strides = try c.value(.strides, default: strides)
            padding = try c.value(.padding, default: padding)
            depthMultiplier = try c.value(.depthMultiplier, default: depthMultiplier)
            dataFormat = try c.value(.dataFormat, default: dataFormat)
            dilationRate = try c.value(.dilationRate, default: dilationRate)
            activation = try c.value(.activation, default: activation)
            useBias = try c.value(.useBias, default: useBias)
            depthwiseInitializer = try c.value(.depthwiseInitializer, default: depthwiseInitializer)
            biasInitializer = try c.value(.biasInitializer, default: biasInitializer)
            depthwiseRegularizer = try c.decodeIfPresent(Regularizer.self, forKey: .depthwiseRegularizer)
            biasRegularizer = try c.decodeIfPresent(Regularizer.self, forKey: .biasRegularizer)
            depthwiseConstraint = try c.decodeIfPresent(Constraint.self, forKey: .depthwiseConstraint)
            biasConstraint = try c.decodeIfPresent(Constraint.self, forKey: .biasConstraint)
        }
    }
    public static var acceptedDefaults: [String: JSONValue] { ConvolutionConfiguration.acceptedDefaults }
    public var configuration: Configuration { Configuration(self) }
    public convenience init(configuration c: Configuration, name: String?) throws {
        self.init(kernelSize: try c.kernelSize.pair("kernel_size"), strides: try c.strides.pair("strides"), padding: c.padding,
                  depthMultiplier: c.depthMultiplier, dataFormat: c.dataFormat, dilationRate: try c.dilationRate.pair("dilation_rate"),
                  activation: c.activation, useBias: c.useBias, depthwiseInitializer: c.depthwiseInitializer,
                  biasInitializer: c.biasInitializer, depthwiseRegularizer: c.depthwiseRegularizer, biasRegularizer: c.biasRegularizer,
                  depthwiseConstraint: c.depthwiseConstraint, biasConstraint: c.biasConstraint, name: name)
    }
}
