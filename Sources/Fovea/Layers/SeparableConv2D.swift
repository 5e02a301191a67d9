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
        depthwiseKernel = addWeight("depthwise_kernel", shape: [kernelSize.0, kernelSize.1, c, depthMultiplier],
                                    initializer: depthwiseInitializer, regularizer: depthwiseRegularizer, constraint: depthwiseConstraint)
        pointwiseKernel = addWeight("pointwise_kernel", shape: [1, 1, c * depthMultiplier, filters],
                                    initializer: pointwiseInitializer, regularizer: pointwiseRegularizer, constraint: pointwiseConstraint)
        if useBias {
            bias = addWeight("bias", shape: [filters], initializer: biasInitializer, regularizer: biasRegularizer, constraint: biasConstraint)
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

    public struct Configuration: Codable {
        public var filters: Int
        public var kernelSize: KerasInts
        public var strides: KerasInts = 1
        public var padding: Padding = .valid
        public var depthMultiplier = 1
        public var dataFormat: DataFormat = .channelsLast
        public var dilationRate: KerasInts = 1
        public var activation: Activation = .linear
        public var useBias = true
        public var depthwiseInitializer: Initializer = .glorotUniform
        public var pointwiseInitializer: Initializer = .glorotUniform
        public var biasInitializer: Initializer = .zeros
        public var depthwiseRegularizer: Regularizer?
        public var pointwiseRegularizer: Regularizer?
        public var biasRegularizer: Regularizer?
        public var depthwiseConstraint: Constraint?
        public var pointwiseConstraint: Constraint?
        public var biasConstraint: Constraint?
        enum CodingKeys: String, CodingKey {
            case filters, kernelSize = "kernel_size", strides, padding, depthMultiplier = "depth_multiplier", dataFormat = "data_format"
            case dilationRate = "dilation_rate", activation, useBias = "use_bias"
            case depthwiseInitializer = "depthwise_initializer", pointwiseInitializer = "pointwise_initializer", biasInitializer = "bias_initializer"
            case depthwiseRegularizer = "depthwise_regularizer", pointwiseRegularizer = "pointwise_regularizer", biasRegularizer = "bias_regularizer"
            case depthwiseConstraint = "depthwise_constraint", pointwiseConstraint = "pointwise_constraint", biasConstraint = "bias_constraint"
        }
        init(_ l: SeparableConv2D) {
            filters = l.filters; kernelSize = KerasInts(l.kernelSize); strides = KerasInts(l.strides); padding = l.padding
            depthMultiplier = l.depthMultiplier; dataFormat = l.dataFormat; dilationRate = KerasInts(l.dilationRate)
            activation = l.activation; useBias = l.useBias
            depthwiseInitializer = l.depthwiseInitializer; pointwiseInitializer = l.pointwiseInitializer; biasInitializer = l.biasInitializer
            depthwiseRegularizer = l.depthwiseRegularizer; pointwiseRegularizer = l.pointwiseRegularizer; biasRegularizer = l.biasRegularizer
            depthwiseConstraint = l.depthwiseConstraint; pointwiseConstraint = l.pointwiseConstraint; biasConstraint = l.biasConstraint
        }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            filters = try c.decode(Int.self, forKey: .filters)
            kernelSize = try c.decode(KerasInts.self, forKey: .kernelSize)
            strides = try c.value(.strides, default: strides)
            padding = try c.value(.padding, default: padding)
            depthMultiplier = try c.value(.depthMultiplier, default: depthMultiplier)
            dataFormat = try c.value(.dataFormat, default: dataFormat)
            dilationRate = try c.value(.dilationRate, default: dilationRate)
            activation = try c.value(.activation, default: activation)
            useBias = try c.value(.useBias, default: useBias)
            depthwiseInitializer = try c.value(.depthwiseInitializer, default: depthwiseInitializer)
            pointwiseInitializer = try c.value(.pointwiseInitializer, default: pointwiseInitializer)
            biasInitializer = try c.value(.biasInitializer, default: biasInitializer)
            depthwiseRegularizer = try c.decodeIfPresent(Regularizer.self, forKey: .depthwiseRegularizer)
            pointwiseRegularizer = try c.decodeIfPresent(Regularizer.self, forKey: .pointwiseRegularizer)
            biasRegularizer = try c.decodeIfPresent(Regularizer.self, forKey: .biasRegularizer)
            depthwiseConstraint = try c.decodeIfPresent(Constraint.self, forKey: .depthwiseConstraint)
            pointwiseConstraint = try c.decodeIfPresent(Constraint.self, forKey: .pointwiseConstraint)
            biasConstraint = try c.decodeIfPresent(Constraint.self, forKey: .biasConstraint)
        }
    }
    public var configuration: Configuration { Configuration(self) }
    public convenience init(configuration c: Configuration, name: String?) throws {
        self.init(filters: c.filters, kernelSize: try c.kernelSize.pair("kernel_size"), strides: try c.strides.pair("strides"),
                  padding: c.padding, depthMultiplier: c.depthMultiplier, dataFormat: c.dataFormat,
                  dilationRate: try c.dilationRate.pair("dilation_rate"), activation: c.activation, useBias: c.useBias,
                  depthwiseInitializer: c.depthwiseInitializer, pointwiseInitializer: c.pointwiseInitializer,
                  biasInitializer: c.biasInitializer, depthwiseRegularizer: c.depthwiseRegularizer,
                  pointwiseRegularizer: c.pointwiseRegularizer, biasRegularizer: c.biasRegularizer,
                  depthwiseConstraint: c.depthwiseConstraint, pointwiseConstraint: c.pointwiseConstraint,
                  biasConstraint: c.biasConstraint, name: name)
    }
}
