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
    /// `nil` for layers without groups (`Conv2DTranspose`); Keras's default for the others is 1.
    public var groups: Int?
    public var activation: Activation = .linear
    public var useBias = true
    public var kernelInitializer: Initializer = .glorotUniform
    public var biasInitializer: Initializer = .zeros
    public var kernelRegularizer: Regularizer?
    public var biasRegularizer: Regularizer?
    public var kernelConstraint: Constraint?
    public var biasConstraint: Constraint?

    enum CodingKeys: String, CodingKey {
        case filters, kernelSize = "kernel_size", strides, padding, dataFormat = "data_format", dilationRate = "dilation_rate", groups
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
        groups = try c.decodeIfPresent(Int.self, forKey: .groups)
        activation = try c.value(.activation, default: activation)
        useBias = try c.value(.useBias, default: useBias)
        kernelInitializer = try c.value(.kernelInitializer, default: kernelInitializer)
        biasInitializer = try c.value(.biasInitializer, default: biasInitializer)
        kernelRegularizer = try c.decodeIfPresent(Regularizer.self, forKey: .kernelRegularizer)
        biasRegularizer = try c.decodeIfPresent(Regularizer.self, forKey: .biasRegularizer)
        kernelConstraint = try c.decodeIfPresent(Constraint.self, forKey: .kernelConstraint)
        biasConstraint = try c.decodeIfPresent(Constraint.self, forKey: .biasConstraint)
    }

    /// Keys Keras writes that neither layer implements, at the only values accepted.
    static let acceptedDefaults: [String: JSONValue] = ["lora_rank": nil, "lora_alpha": nil, "quantization_config": nil]
}

/// Where a 2-D convolution's window goes: what `Conv2D`, `DepthwiseConv2D` and `SeparableConv2D`
/// share (kernel size, strides, padding, layout, dilation) and check the same way Keras does.
struct ConvolutionGeometry {
    let kernelSize: (Int, Int)
    let strides: (Int, Int)
    let padding: Padding
    let dataFormat: DataFormat
    let dilationRate: (Int, Int)

    /// `(height, width, channels)` of an input in this layout, or an error from `layer`.
    func spatial(_ shape: [Int?], _ layer: Layer) throws -> (h: Int, w: Int, c: Int) {
        let layout = dataFormat == .channelsLast ? "(batch, height, width, channels)" : "(batch, channels, height, width)"
        guard shape.count == 4 else { throw layer.shapeError(shape, "a rank-4 input \(layout)") }
        let dims = dataFormat == .channelsLast ? (shape[1], shape[2], shape[3]) : (shape[2], shape[3], shape[1])
        guard let h = dims.0, let w = dims.1, let c = dims.2 else { throw layer.shapeError(shape, "known spatial and channel sizes \(layout)") }
        return (h, w, c)
    }

    /// The window over an `h`×`w` input, or an error naming `layer` when the geometry is invalid.
    func window(h: Int, w: Int, shape: [Int?], _ layer: Layer) throws -> Window2D {
        guard kernelSize.0 > 0, kernelSize.1 > 0, strides.0 > 0, strides.1 > 0, dilationRate.0 > 0, dilationRate.1 > 0 else {
            throw FoveaError("\(layer.name) (\(layer.typeName)): kernelSize, strides and dilationRate must be positive")
        }
        guard padding != .causal else {
            throw FoveaError("\(layer.name) (\(layer.typeName)): 'causal' padding is for 1-D convolutions; use 'valid' or 'same'")
        }
        if (strides.0 > 1 || strides.1 > 1) && (dilationRate.0 > 1 || dilationRate.1 > 1) {
            throw FoveaError("\(layer.name) (\(layer.typeName)): strides > 1 cannot be combined with dilationRate > 1 (Keras forbids it); got strides \(strides), dilationRate \(dilationRate)")
        }
        guard let rows = WindowAxis(input: h, kernel: kernelSize.0, stride: strides.0, dilation: dilationRate.0, padding: padding),
              let cols = WindowAxis(input: w, kernel: kernelSize.1, stride: strides.1, dilation: dilationRate.1, padding: padding) else {
            throw layer.shapeError(shape, "an input at least as large as the (dilated) \(kernelSize.0)×\(kernelSize.1) kernel with 'valid' padding")
        }
        return Window2D(rows: rows, columns: cols)
    }

    /// The output shape for `channels` output channels.
    func outputShape(_ inputShape: [Int?], channels: Int, _ layer: Layer) throws -> [Int?] {
        let (h, w, _) = try spatial(inputShape, layer)
        let win = try window(h: h, w: w, shape: inputShape, layer)
        return dataFormat == .channelsLast ? [inputShape[0], win.rows.output, win.columns.output, channels]
                                           : [inputShape[0], channels, win.rows.output, win.columns.output]
    }

    /// Runs `body` on the input in channels-last order and puts the result back in this layout.
    func channelsLast(_ input: Tensor, _ body: (Tensor) throws -> Tensor) rethrows -> Tensor {
        guard dataFormat == .channelsFirst else { return try body(input) }
        return try body(input.transposed([0, 2, 3, 1])).transposed([0, 3, 1, 2])
    }
}
