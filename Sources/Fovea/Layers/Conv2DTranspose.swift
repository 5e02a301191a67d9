import Foundation

/// Keras `Conv2DTranspose` (a "deconvolution"): the adjoint of a convolution, upsampling by its
/// strides. Kernel `(kh, kw, filters, inChannels)`, as in Keras; output size per Keras's rule
/// (``Tensor/conv2DTransposeOutputSize(input:kernel:stride:padding:outputPadding:dilation:)``).
public final class Conv2DTranspose: Layer, ConfigurableLayer {
    public let filters: Int
    public let kernelSize: (Int, Int)
    public let strides: (Int, Int)
    public let padding: Padding
    public let outputPadding: (Int, Int)?
    public let dataFormat: DataFormat
    public let dilationRate: (Int, Int)
    public let activation: Activation
    public let useBias: Bool
    public let kernelInitializer: Initializer, biasInitializer: Initializer
    public let kernelRegularizer: Regularizer?, biasRegularizer: Regularizer?
    public let kernelConstraint: Constraint?, biasConstraint: Constraint?
    public private(set) var kernel: Variable?
    public private(set) var bias: Variable?
    public override var channelsFirst: Bool { dataFormat == .channelsFirst }

    public init(filters: Int, kernelSize: (Int, Int), strides: (Int, Int) = (1, 1), padding: Padding = .valid,
                outputPadding: (Int, Int)? = nil, dataFormat: DataFormat = .channelsLast, dilationRate: (Int, Int) = (1, 1),
                activation: Activation = .linear, useBias: Bool = true,
                kernelInitializer: Initializer = .glorotUniform, biasInitializer: Initializer = .zeros,
                kernelRegularizer: Regularizer? = nil, biasRegularizer: Regularizer? = nil,
                kernelConstraint: Constraint? = nil, biasConstraint: Constraint? = nil, name: String? = nil) {
        self.filters = filters; self.kernelSize = kernelSize; self.strides = strides; self.padding = padding
        self.outputPadding = outputPadding; self.dataFormat = dataFormat; self.dilationRate = dilationRate
        self.activation = activation; self.useBias = useBias
        self.kernelInitializer = kernelInitializer; self.biasInitializer = biasInitializer
        self.kernelRegularizer = kernelRegularizer; self.biasRegularizer = biasRegularizer
        self.kernelConstraint = kernelConstraint; self.biasConstraint = biasConstraint
        super.init(name: name)
    }

    /// Square kernel and strides.
    public convenience init(filters: Int, kernelSize: Int, strides: Int = 1, padding: Padding = .valid,
                            activation: Activation = .linear, useBias: Bool = true, name: String? = nil) {
        self.init(filters: filters, kernelSize: (kernelSize, kernelSize), strides: (strides, strides), padding: padding,
                  activation: activation, useBias: useBias, name: name)
    }

    var geometry: ConvolutionGeometry {
        ConvolutionGeometry(kernelSize: kernelSize, strides: strides, padding: padding, dataFormat: dataFormat, dilationRate: dilationRate)
    }

    /// Output height and width for an `h`×`w` input.
    func outputSize(h: Int, w: Int) throws -> (Int, Int) {
        guard filters > 0 else { throw FoveaError("\(name) (Conv2DTranspose): filters must be positive, got \(filters)") }
        if (strides.0 > 1 || strides.1 > 1) && (dilationRate.0 > 1 || dilationRate.1 > 1) {
            throw FoveaError("\(name) (Conv2DTranspose): strides > 1 cannot be combined with dilationRate > 1 (Keras forbids it)")
        }
        do {
            return (try Tensor.conv2DTransposeOutputSize(input: h, kernel: kernelSize.0, stride: strides.0, padding: padding,
                                                         outputPadding: outputPadding?.0, dilation: dilationRate.0),
                    try Tensor.conv2DTransposeOutputSize(input: w, kernel: kernelSize.1, stride: strides.1, padding: padding,
                                                         outputPadding: outputPadding?.1, dilation: dilationRate.1))
        } catch let error as FoveaError {
            throw FoveaError("\(name) (Conv2DTranspose): \(error.message.replacingOccurrences(of: "Conv2DTranspose: ", with: ""))")
        }
    }

    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        let (h, w, _) = try geometry.spatial(inputShape, self)
        let (oh, ow) = try outputSize(h: h, w: w)
        return dataFormat == .channelsLast ? [inputShape[0], oh, ow, filters] : [inputShape[0], filters, oh, ow]
    }

    public override func build(inputShape: [Int?]) throws {
        let (_, _, c) = try geometry.spatial(inputShape, self)
        kernel = try addWeight("kernel", shape: [kernelSize.0, kernelSize.1, filters, c], initializer: kernelInitializer,
                           regularizer: kernelRegularizer, constraint: kernelConstraint)
        if useBias {
            bias = try addWeight("bias", shape: [filters], initializer: biasInitializer, regularizer: biasRegularizer, constraint: biasConstraint)
        }
    }

    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor {
        let (h, w, _) = try geometry.spatial(input.optionalShape, self)
        _ = try outputSize(h: h, w: w)
        return geometry.channelsLast(input) { x in
            activation(Tensor.conv2DTranspose(x, kernel: kernel!.tracked, bias: bias?.tracked, strides: strides, padding: padding,
                                              outputPadding: outputPadding, dilation: dilationRate))
        }
    }

    public override func forwardFLOPs(inputShapes: [[Int]], outputShapes: [[Int]]) -> Double {
        2 * Double(inputShapes[0].reduce(1, *)) * Double(kernelSize.0 * kernelSize.1 * filters)
    }

    public struct Configuration: Codable {
        public var convolution: ConvolutionConfiguration
        public var outputPadding: KerasInts?
        enum CodingKeys: String, CodingKey { case outputPadding = "output_padding" }
        init(_ convolution: ConvolutionConfiguration, outputPadding: KerasInts?) { self.convolution = convolution; self.outputPadding = outputPadding }
        public init(from decoder: Decoder) throws {
            convolution = try ConvolutionConfiguration(from: decoder)
            outputPadding = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(KerasInts.self, forKey: .outputPadding)
        }
        public func encode(to encoder: Encoder) throws {
            try convolution.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeOrNull(outputPadding, forKey: .outputPadding)
        }
    }
    public static var acceptedDefaults: [String: JSONValue] { ConvolutionConfiguration.acceptedDefaults }
    public var configuration: Configuration {
        var c = ConvolutionConfiguration(filters: filters, kernelSize: KerasInts(kernelSize))
        c.strides = KerasInts(strides); c.padding = padding; c.dataFormat = dataFormat; c.dilationRate = KerasInts(dilationRate)
        c.activation = activation; c.useBias = useBias; c.kernelInitializer = kernelInitializer; c.biasInitializer = biasInitializer
        c.kernelRegularizer = kernelRegularizer; c.biasRegularizer = biasRegularizer
        c.kernelConstraint = kernelConstraint; c.biasConstraint = biasConstraint
        return Configuration(c, outputPadding: outputPadding.map(KerasInts.init))
    }
    public convenience init(configuration config: Configuration, name: String?) throws {
        let c = config.convolution
        guard (c.groups ?? 1) == 1 else { throw FoveaError("grouped transposed convolution (groups \(c.groups ?? 1)) is not implemented; groups must be 1") }
        self.init(filters: c.filters, kernelSize: try c.kernelSize.pair("kernel_size"), strides: try c.strides.pair("strides"),
                  padding: c.padding, outputPadding: try config.outputPadding?.pair("output_padding"), dataFormat: c.dataFormat,
                  dilationRate: try c.dilationRate.pair("dilation_rate"), activation: c.activation, useBias: c.useBias,
                  kernelInitializer: c.kernelInitializer, biasInitializer: c.biasInitializer,
                  kernelRegularizer: c.kernelRegularizer, biasRegularizer: c.biasRegularizer,
                  kernelConstraint: c.kernelConstraint, biasConstraint: c.biasConstraint, name: name)
    }
}
