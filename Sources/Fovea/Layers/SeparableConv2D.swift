import Foundation

/// Keras `SeparableConv2D`: a depthwise convolution (`depthMultiplier` filters per input channel)
/// followed by a 1×1 pointwise convolution to `filters` channels, bias, then the activation.
/// Kernels `depthwise_kernel (kh, kw, inChannels, depthMultiplier)` and
/// `pointwise_kernel (1, 1, inChannels · depthMultiplier, filters)`.
public final class SeparableConv2D: Layer, ConfigurableLayer {
    public let filters: Int
    public let kernelSize: (Int, Int)
    public let strides: (Int, Int)
    public let padding: Padding
    public let depthMultiplier: Int
    public let dataFormat: DataFormat
    public let dilationRate: (Int, Int)
    public let activation: Activation
    public let useBias: Bool
    public let depthwiseInitializer: Initializer, pointwiseInitializer: Initializer, biasInitializer: Initializer
    public let depthwiseRegularizer: Regularizer?, pointwiseRegularizer: Regularizer?, biasRegularizer: Regularizer?
    public let depthwiseConstraint: Constraint?, pointwiseConstraint: Constraint?, biasConstraint: Constraint?
    public private(set) var depthwiseKernel: Variable?
    public private(set) var pointwiseKernel: Variable?
    public private(set) var bias: Variable?
    public override var channelsFirst: Bool { dataFormat == .channelsFirst }

    public init(filters: Int, kernelSize: (Int, Int), strides: (Int, Int) = (1, 1), padding: Padding = .valid,
                depthMultiplier: Int = 1, dataFormat: DataFormat = .channelsLast, dilationRate: (Int, Int) = (1, 1),
                activation: Activation = .linear, useBias: Bool = true,
                depthwiseInitializer: Initializer = .glorotUniform, pointwiseInitializer: Initializer = .glorotUniform,
                biasInitializer: Initializer = .zeros, depthwiseRegularizer: Regularizer? = nil,
                pointwiseRegularizer: Regularizer? = nil, biasRegularizer: Regularizer? = nil,
                depthwiseConstraint: Constraint? = nil, pointwiseConstraint: Constraint? = nil, biasConstraint: Constraint? = nil,
                name: String? = nil) {
        self.filters = filters; self.kernelSize = kernelSize; self.strides = strides; self.padding = padding
        self.depthMultiplier = depthMultiplier; self.dataFormat = dataFormat; self.dilationRate = dilationRate
        self.activation = activation; self.useBias = useBias
        self.depthwiseInitializer = depthwiseInitializer; self.pointwiseInitializer = pointwiseInitializer; self.biasInitializer = biasInitializer
        self.depthwiseRegularizer = depthwiseRegularizer; self.pointwiseRegularizer = pointwiseRegularizer; self.biasRegularizer = biasRegularizer
        self.depthwiseConstraint = depthwiseConstraint; self.pointwiseConstraint = pointwiseConstraint; self.biasConstraint = biasConstraint
        super.init(name: name)
    }

    /// Square kernel and strides.
    public convenience init(filters: Int, kernelSize: Int, strides: Int = 1, padding: Padding = .valid, depthMultiplier: Int = 1,
                            activation: Activation = .linear, useBias: Bool = true, name: String? = nil) {
        self.init(filters: filters, kernelSize: (kernelSize, kernelSize), strides: (strides, strides), padding: padding,
                  depthMultiplier: depthMultiplier, activation: activation, useBias: useBias, name: name)
    }

    var geometry: ConvolutionGeometry {
        ConvolutionGeometry(kernelSize: kernelSize, strides: strides, padding: padding, dataFormat: dataFormat, dilationRate: dilationRate)
    }

    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        guard filters > 0, depthMultiplier > 0 else {
            throw FoveaError("\(name) (SeparableConv2D): filters and depthMultiplier must be positive, got \(filters), \(depthMultiplier)")
        }
        return try geometry.outputShape(inputShape, channels: filters, self)
    }

    public override func build(inputShape: [Int?]) throws {
        let (_, _, c) = try geometry.spatial(inputShape, self)
        depthwiseKernel = try addWeight("depthwise_kernel", shape: [kernelSize.0, kernelSize.1, c, depthMultiplier],
                                    initializer: depthwiseInitializer, regularizer: depthwiseRegularizer, constraint: depthwiseConstraint)
        pointwiseKernel = try addWeight("pointwise_kernel", shape: [1, 1, c * depthMultiplier, filters],
                                    initializer: pointwiseInitializer, regularizer: pointwiseRegularizer, constraint: pointwiseConstraint)
        if useBias {
            bias = try addWeight("bias", shape: [filters], initializer: biasInitializer, regularizer: biasRegularizer, constraint: biasConstraint)
        }
    }

    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor {
        let (h, w, _) = try geometry.spatial(input.optionalShape, self)
        let win = try geometry.window(h: h, w: w, shape: input.optionalShape, self)
        let fuseRelu = activation.kind == .relu
        return geometry.channelsLast(input) { x in
            let depthwise = Tensor.depthwiseConv2D(x, kernel: depthwiseKernel!.tracked, bias: nil, window: win)
            let pointwiseWindow = Window2D(rows: WindowAxis(input: win.rows.output, kernel: 1, stride: 1, padding: .valid)!,
                                           columns: WindowAxis(input: win.columns.output, kernel: 1, stride: 1, padding: .valid)!)
            let y = Tensor.conv2D(depthwise, kernel: pointwiseKernel!.tracked, bias: bias?.tracked, window: pointwiseWindow, relu: fuseRelu)
            return fuseRelu ? y : activation(y)
        }
    }

    public override func forwardFLOPs(inputShapes: [[Int]], outputShapes: [[Int]]) -> Double {
        let out = outputShapes[0], positions = Double(out.reduce(1, *)) / Double(filters)
        let c = Double(dataFormat == .channelsLast ? inputShapes[0][3] : inputShapes[0][1]) * Double(depthMultiplier)
        return 2 * positions * c * (Double(kernelSize.0 * kernelSize.1) + Double(filters))
    }

    /// Keras's configuration: a depthwise convolution's keys (``DepthwiseConv2D/Configuration``) with
    /// `filters` and the pointwise kernel's initializer, regularizer and constraint.
    public struct Configuration: Codable {
        public var depthwise: DepthwiseConv2D.Configuration
        public var filters: Int
        public var pointwiseInitializer: Initializer = .glorotUniform
        public var pointwiseRegularizer: Regularizer?
        public var pointwiseConstraint: Constraint?
        enum CodingKeys: String, CodingKey {
            case filters, pointwiseInitializer = "pointwise_initializer", pointwiseRegularizer = "pointwise_regularizer"
            case pointwiseConstraint = "pointwise_constraint"
        }
        init(_ l: SeparableConv2D) {
            var d = DepthwiseConv2D.Configuration(kernelSize: KerasInts(l.kernelSize))
            d.strides = KerasInts(l.strides); d.padding = l.padding; d.depthMultiplier = l.depthMultiplier; d.dataFormat = l.dataFormat
            d.dilationRate = KerasInts(l.dilationRate); d.activation = l.activation; d.useBias = l.useBias
            d.depthwiseInitializer = l.depthwiseInitializer; d.biasInitializer = l.biasInitializer
            d.depthwiseRegularizer = l.depthwiseRegularizer; d.biasRegularizer = l.biasRegularizer
            d.depthwiseConstraint = l.depthwiseConstraint; d.biasConstraint = l.biasConstraint
            depthwise = d
            filters = l.filters
            pointwiseInitializer = l.pointwiseInitializer; pointwiseRegularizer = l.pointwiseRegularizer; pointwiseConstraint = l.pointwiseConstraint
        }
        public init(from decoder: Decoder) throws {
            depthwise = try DepthwiseConv2D.Configuration(from: decoder)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            filters = try c.decode(Int.self, forKey: .filters)
            pointwiseInitializer = try c.value(.pointwiseInitializer, default: pointwiseInitializer)
            pointwiseRegularizer = try c.decodeIfPresent(Regularizer.self, forKey: .pointwiseRegularizer)
            pointwiseConstraint = try c.decodeIfPresent(Constraint.self, forKey: .pointwiseConstraint)
        }
        public func encode(to encoder: Encoder) throws {
            try depthwise.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(filters, forKey: .filters)
            try c.encode(pointwiseInitializer, forKey: .pointwiseInitializer)
            try c.encodeIfPresent(pointwiseRegularizer, forKey: .pointwiseRegularizer)
            try c.encodeIfPresent(pointwiseConstraint, forKey: .pointwiseConstraint)
        }
    }
    public static var acceptedDefaults: [String: JSONValue] { ConvolutionConfiguration.acceptedDefaults }
    public var configuration: Configuration { Configuration(self) }
    public convenience init(configuration config: Configuration, name: String?) throws {
        let c = config.depthwise
        self.init(filters: config.filters, kernelSize: try c.kernelSize.pair("kernel_size"), strides: try c.strides.pair("strides"),
                  padding: c.padding, depthMultiplier: c.depthMultiplier, dataFormat: c.dataFormat,
                  dilationRate: try c.dilationRate.pair("dilation_rate"), activation: c.activation, useBias: c.useBias,
                  depthwiseInitializer: c.depthwiseInitializer, pointwiseInitializer: config.pointwiseInitializer,
                  biasInitializer: c.biasInitializer, depthwiseRegularizer: c.depthwiseRegularizer,
                  pointwiseRegularizer: config.pointwiseRegularizer, biasRegularizer: c.biasRegularizer,
                  depthwiseConstraint: c.depthwiseConstraint, pointwiseConstraint: config.pointwiseConstraint,
                  biasConstraint: c.biasConstraint, name: name)
    }
}
