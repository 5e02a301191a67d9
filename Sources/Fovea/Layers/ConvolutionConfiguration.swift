import Foundation

/// The configuration Keras's `Conv1D` and `Conv2D` share (their `get_config()` has the same keys; the
/// integer tuples have one entry per spatial axis).
public struct ConvolutionConfiguration: Codable {
    public var filters: Int
    public var kernelSize: KerasInts
    public var strides: KerasInts = 1
    public var padding: Padding = .valid
    public var dataFormat: DataFormat = .channelsLast
    public var dilationRate: KerasInts = 1
    public var activation: Activation = .linear
    public var useBias = true
    public var kernelInitializer: Initializer = .glorotUniform
    public var biasInitializer: Initializer = .zeros
    public var kernelRegularizer: Regularizer?
    public var biasRegularizer: Regularizer?
    public var kernelConstraint: Constraint?
    public var biasConstraint: Constraint?

    enum CodingKeys: String, CodingKey {
        case filters, kernelSize = "kernel_size", strides, padding, dataFormat = "data_format", dilationRate = "dilation_rate"
        case activation, useBias = "use_bias", kernelInitializer = "kernel_initializer", biasInitializer = "bias_initializer"
        case kernelRegularizer = "kernel_regularizer", biasRegularizer = "bias_regularizer"
        case kernelConstraint = "kernel_constraint", biasConstraint = "bias_constraint"
    }

    init(filters: Int, kernelSize: KerasInts) { self.filters = filters; self.kernelSize = kernelSize }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        filters = try c.decode(Int.self, forKey: .filters)
        kernelSize = try c.decode(KerasInts.self, forKey: .kernelSize)
        strides = try c.value(.strides, default: strides)
        padding = try c.value(.padding, default: padding)
        dataFormat = try c.value(.dataFormat, default: dataFormat)
        dilationRate = try c.value(.dilationRate, default: dilationRate)
        activation = try c.value(.activation, default: activation)
        useBias = try c.value(.useBias, default: useBias)
        kernelInitializer = try c.value(.kernelInitializer, default: kernelInitializer)
        biasInitializer = try c.value(.biasInitializer, default: biasInitializer)
        kernelRegularizer = try c.decodeIfPresent(Regularizer.self, forKey: .kernelRegularizer)
        biasRegularizer = try c.decodeIfPresent(Regularizer.self, forKey: .biasRegularizer)
        kernelConstraint = try c.decodeIfPresent(Constraint.self, forKey: .kernelConstraint)
        biasConstraint = try c.decodeIfPresent(Constraint.self, forKey: .biasConstraint)
    }

    /// Keys Keras writes that neither layer implements yet, at the only values accepted.
    static let acceptedDefaults: [String: JSONValue] = ["groups": 1, "lora_rank": nil, "lora_alpha": nil, "quantization_config": nil]
}
