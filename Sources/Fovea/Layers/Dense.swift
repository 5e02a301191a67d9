import Foundation

/// Keras `Dense`: `activation(x · kernel + bias)` on the last axis. Kernel `(inFeatures, units)`.
public final class Dense: Layer, ConfigurableLayer {
    public let units: Int
    public let activation: Activation
    public let useBias: Bool
    public let kernelInitializer: Initializer, biasInitializer: Initializer
    public let kernelRegularizer: Regularizer?, biasRegularizer: Regularizer?
    public let kernelConstraint: Constraint?, biasConstraint: Constraint?
    public private(set) var kernel: Variable?
    public private(set) var bias: Variable?

    public init(units: Int, activation: Activation = .linear, useBias: Bool = true,
                kernelInitializer: Initializer = .glorotUniform, biasInitializer: Initializer = .zeros,
                kernelRegularizer: Regularizer? = nil, biasRegularizer: Regularizer? = nil,
                kernelConstraint: Constraint? = nil, biasConstraint: Constraint? = nil, name: String? = nil) {
        self.units = units; self.activation = activation; self.useBias = useBias
        self.kernelInitializer = kernelInitializer; self.biasInitializer = biasInitializer
        self.kernelRegularizer = kernelRegularizer; self.biasRegularizer = biasRegularizer
        self.kernelConstraint = kernelConstraint; self.biasConstraint = biasConstraint
        super.init(name: name)
    }

    public convenience init(_ units: Int, activation: Activation = .linear, name: String? = nil) {
        self.init(units: units, activation: activation, name: name)
    }

    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        guard inputShape.count >= 2, inputShape.last! != nil else {
            throw shapeError(inputShape, "an input of rank ≥ 2 with a known last axis (batch, ..., features)")
        }
        guard units > 0 else { throw FoveaError("\(name) (Dense): units must be positive, got \(units)") }
        return Array(inputShape.dropLast()) + [units]
    }

    public override func build(inputShape: [Int?]) throws {
        kernel = try addWeight("kernel", shape: [inputShape.last!!, units], initializer: kernelInitializer,
                           regularizer: kernelRegularizer, constraint: kernelConstraint)
        if useBias {
            bias = try addWeight("bias", shape: [units], initializer: biasInitializer,
                             regularizer: biasRegularizer, constraint: biasConstraint)
        }
    }

    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor {
        try forward(input, applyingActivation: true)
    }

    /// The layer's output before its activation (training fuses softmax into the loss).
    public func forward(_ input: Tensor, applyingActivation: Bool) throws -> Tensor {
        let features = kernel!.value.shape[0]
        guard input.rank >= 2, input.shape.last == features else {
            throw FoveaError("\(name) (Dense): input shape \(formatShape(input.shape)) has \(input.shape.last.map(String.init) ?? "no") features on its last axis, but the layer was built for \(features): expected \(formatShape([nil, features]))")
        }
        let x = input.rank == 2 ? input : input.reshaped([-1, features])
        let fuseRelu = applyingActivation && activation.kind == .relu
        var y = Tensor.dense(x, kernel: kernel!.tracked, bias: bias?.tracked, relu: fuseRelu)
        if applyingActivation && !fuseRelu { y = activation(y) }
        return input.rank == 2 ? y : y.reshaped(Array(input.shape.dropLast()) + [units])
    }

    public override func forwardFLOPs(inputShapes: [[Int]], outputShapes: [[Int]]) -> Double {
        2 * Double(inputShapes[0].reduce(1, *)) * Double(units)
    }

    public struct Configuration: Codable {
        public var units: Int
        public var activation: Activation = .linear
        public var useBias = true
        public var kernelInitializer: Initializer = .glorotUniform
        public var biasInitializer: Initializer = .zeros
        public var kernelRegularizer: Regularizer?
        public var biasRegularizer: Regularizer?
        public var kernelConstraint: Constraint?
        public var biasConstraint: Constraint?
        enum CodingKeys: String, CodingKey {
            case units, activation, useBias = "use_bias", kernelInitializer = "kernel_initializer", biasInitializer = "bias_initializer"
            case kernelRegularizer = "kernel_regularizer", biasRegularizer = "bias_regularizer"
            case kernelConstraint = "kernel_constraint", biasConstraint = "bias_constraint"
        }
        init(units: Int) { self.units = units }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            units = try c.decode(Int.self, forKey: .units)
            activation = try c.value(.activation, default: activation)
            useBias = try c.value(.useBias, default: useBias)
            kernelInitializer = try c.value(.kernelInitializer, default: kernelInitializer)
            biasInitializer = try c.value(.biasInitializer, default: biasInitializer)
            kernelRegularizer = try c.decodeIfPresent(Regularizer.self, forKey: .kernelRegularizer)
            biasRegularizer = try c.decodeIfPresent(Regularizer.self, forKey: .biasRegularizer)
            kernelConstraint = try c.decodeIfPresent(Constraint.self, forKey: .kernelConstraint)
            biasConstraint = try c.decodeIfPresent(Constraint.self, forKey: .biasConstraint)
        }
    }

    /// LoRA adapters and quantization are not implemented.
    public static var acceptedDefaults: [String: JSONValue] { ["lora_rank": nil, "lora_alpha": nil, "quantization_config": nil] }

    public var configuration: Configuration {
        var c = Configuration(units: units)
        c.activation = activation; c.useBias = useBias; c.kernelInitializer = kernelInitializer; c.biasInitializer = biasInitializer
        c.kernelRegularizer = kernelRegularizer; c.biasRegularizer = biasRegularizer
        c.kernelConstraint = kernelConstraint; c.biasConstraint = biasConstraint
        return c
    }

    public convenience init(configuration c: Configuration, name: String?) throws {
        self.init(units: c.units, activation: c.activation, useBias: c.useBias, kernelInitializer: c.kernelInitializer,
                  biasInitializer: c.biasInitializer, kernelRegularizer: c.kernelRegularizer, biasRegularizer: c.biasRegularizer,
                  kernelConstraint: c.kernelConstraint, biasConstraint: c.biasConstraint, name: name)
    }
}
