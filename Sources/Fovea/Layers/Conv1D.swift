import Foundation

/// 1-D convolution (Keras `Conv1D`) over `(batch, steps, channels)` (or `(batch, channels, steps)`
/// with `dataFormat: .channelsFirst`); kernel `(k, inChannels, filters)`.
public final class Conv1D: Layer, ConfigurableLayer {
    public let filters: Int, kernelSize: Int, strides: Int, dilationRate: Int
    public let padding: Padding
    public let dataFormat: DataFormat
    public override var channelsFirst: Bool { dataFormat == .channelsFirst }
    public let activation: Activation
    public let useBias: Bool
    public let kernelInitializer: Initializer, biasInitializer: Initializer
    public let kernelRegularizer: Regularizer?, biasRegularizer: Regularizer?
    public let kernelConstraint: Constraint?, biasConstraint: Constraint?
    public private(set) var kernel: Variable?
    public private(set) var bias: Variable?

    public init(filters: Int, kernelSize: Int, strides: Int = 1, padding: Padding = .valid,
                dataFormat: DataFormat = .channelsLast, dilationRate: Int = 1,
                activation: Activation = .linear, useBias: Bool = true,
                kernelInitializer: Initializer = .glorotUniform, biasInitializer: Initializer = .zeros,
                kernelRegularizer: Regularizer? = nil, biasRegularizer: Regularizer? = nil,
                kernelConstraint: Constraint? = nil, biasConstraint: Constraint? = nil, name: String? = nil) {
        self.filters = filters; self.kernelSize = kernelSize; self.strides = strides; self.padding = padding
        self.dataFormat = dataFormat; self.dilationRate = dilationRate; self.activation = activation; self.useBias = useBias
        self.kernelInitializer = kernelInitializer; self.biasInitializer = biasInitializer
        self.kernelRegularizer = kernelRegularizer; self.biasRegularizer = biasRegularizer
        self.kernelConstraint = kernelConstraint; self.biasConstraint = biasConstraint
        super.init(name: name)
    }

    /// `(steps, channels)` of an input in this layer's data format.
    func layout(_ shape: [Int?]) throws -> (steps: Int, channels: Int) {
        let cl = dataFormat == .channelsLast
        guard shape.count == 3, let steps = shape[cl ? 1 : 2], let channels = shape[cl ? 2 : 1] else {
            throw shapeError(shape, cl ? "a rank-3 input (batch, steps, channels)" : "a rank-3 input (batch, channels, steps)")
        }
        return (steps, channels)
    }

    func window(_ shape: [Int?]) throws -> Window2D {
        let (steps, _) = try layout(shape)
        guard filters > 0, kernelSize > 0, strides > 0, dilationRate > 0 else {
            throw FoveaError("\(name) (Conv1D): filters, kernelSize, strides and dilationRate must be positive")
        }
        if strides > 1 && dilationRate > 1 {
            throw FoveaError("\(name) (Conv1D): strides > 1 cannot be combined with dilationRate > 1")
        }
        guard let cols = WindowAxis(input: steps, kernel: kernelSize, stride: strides, dilation: dilationRate, padding: padding) else {
            throw shapeError(shape, "at least as many steps as the (dilated) kernel of \(kernelSize) with 'valid' padding")
        }
        return Window2D(rows: WindowAxis(input: 1, kernel: 1, stride: 1, padding: .valid)!, columns: cols)
    }

    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        let steps = try window(inputShape).columns.output
        return dataFormat == .channelsLast ? [inputShape[0], steps, filters] : [inputShape[0], filters, steps]
    }

    public override func build(inputShape: [Int?]) throws {
        kernel = try addWeight("kernel", shape: [kernelSize, try layout(inputShape).channels, filters], initializer: kernelInitializer,
                           regularizer: kernelRegularizer, constraint: kernelConstraint)
        if useBias {
            bias = try addWeight("bias", shape: [filters], initializer: biasInitializer, regularizer: biasRegularizer, constraint: biasConstraint)
        }
    }

    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor {
        let win = try window(input.optionalShape)
        let steps = dataFormat == .channelsLast ? input : input.transposed([0, 2, 1])
        let x = steps.reshaped([steps.shape[0], 1, steps.shape[1], steps.shape[2]])
        let k = kernel!.tracked
        let fuseRelu = activation.kind == .relu
        let y = Tensor.conv2D(x, kernel: k.reshaped([1] + k.shape), bias: bias?.tracked, window: win, relu: fuseRelu)
        var out = y.reshaped([y.shape[0], y.shape[2], y.shape[3]])
        if !fuseRelu { out = activation(out) }
        return dataFormat == .channelsLast ? out : out.transposed([0, 2, 1])
    }

    public override func forwardFLOPs(inputShapes: [[Int]], outputShapes: [[Int]]) -> Double {
        let channels = inputShapes[0][dataFormat == .channelsLast ? 2 : 1]
        return 2 * Double(outputShapes[0].reduce(1, *)) * Double(kernelSize * channels)
    }

    public typealias Configuration = ConvolutionConfiguration
    public static var acceptedDefaults: [String: JSONValue] { ConvolutionConfiguration.acceptedDefaults }

    public var configuration: Configuration {
        var c = ConvolutionConfiguration(filters: filters, kernelSize: [kernelSize])
        c.strides = [strides]; c.padding = padding; c.dataFormat = dataFormat; c.dilationRate = [dilationRate]; c.groups = 1
        c.activation = activation; c.useBias = useBias; c.kernelInitializer = kernelInitializer; c.biasInitializer = biasInitializer
        c.kernelRegularizer = kernelRegularizer; c.biasRegularizer = biasRegularizer
        c.kernelConstraint = kernelConstraint; c.biasConstraint = biasConstraint
        return c
    }

    public convenience init(configuration c: Configuration, name: String?) throws {
        guard (c.groups ?? 1) == 1 else { throw FoveaError("grouped 1-D convolution (groups \(c.groups ?? 1)) is not implemented; groups must be 1") }
        self.init(filters: c.filters, kernelSize: try c.kernelSize.axes(1, key: "kernel_size")[0],
                  strides: try c.strides.axes(1, key: "strides")[0], padding: c.padding, dataFormat: c.dataFormat,
                  dilationRate: try c.dilationRate.axes(1, key: "dilation_rate")[0], activation: c.activation, useBias: c.useBias,
                  kernelInitializer: c.kernelInitializer, biasInitializer: c.biasInitializer,
                  kernelRegularizer: c.kernelRegularizer, biasRegularizer: c.biasRegularizer,
                  kernelConstraint: c.kernelConstraint, biasConstraint: c.biasConstraint, name: name)
    }
}
