import Foundation

/// The model's input (Keras `keras.Input` / `InputLayer`): fixes the shape, batch axis excluded.
/// It does nothing to the tensor and is not listed by `summary()`.
public final class Input: Layer {
    public let shape: [Int]
    public init(shape: [Int], name: String? = nil) {
        self.shape = shape
        super.init(name: name)
    }
    public override class var defaultName: String { "input_layer" }
    public override var typeName: String { "InputLayer" }
    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        let expected: [Int?] = [nil] + shape
        try checkCompatible(inputShape, with: expected)
        return inputShape
    }
}

/// Keras `Dense`: `activation(x · kernel + bias)` on the last axis. Kernel `(inFeatures, units)`.
public final class Dense: Layer {
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
        kernel = addWeight("kernel", shape: [inputShape.last!!, units], initializer: kernelInitializer,
                           regularizer: kernelRegularizer, constraint: kernelConstraint)
        if useBias {
            bias = addWeight("bias", shape: [units], initializer: biasInitializer,
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
        let fuseRelu = applyingActivation && activation.name == "relu"
        var y = Tensor.dense(x, kernel: kernel!.tracked, bias: bias?.tracked, relu: fuseRelu)
        if applyingActivation && !fuseRelu { y = activation(y) }
        return input.rank == 2 ? y : y.reshaped(Array(input.shape.dropLast()) + [units])
    }
}

/// Keras `Flatten`: `(batch, ...) → (batch, product)`. A channels-first input is flattened in
/// channels-last order, as Keras does, so weights carry over between layouts.
public final class Flatten: Layer {
    public let dataFormat: DataFormat
    public init(dataFormat: DataFormat = .channelsLast, name: String? = nil) {
        self.dataFormat = dataFormat
        super.init(name: name)
    }
    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        guard inputShape.count >= 1 else { throw shapeError(inputShape, "an input with a batch axis") }
        let rest = inputShape.dropFirst()
        return [inputShape[0], rest.contains(where: { $0 == nil }) ? nil : rest.reduce(1) { $0 * $1! }]
    }
    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor {
        var x = input
        if dataFormat == .channelsFirst && input.rank > 2 { x = x.transposed([0] + Array(2..<input.rank) + [1]) }
        return x.reshaped([input.shape.first ?? 1, -1])
    }
}

/// Keras `Dropout`: in training, zeroes each value with probability `rate` and scales the rest by
/// `1 / (1 − rate)` (inverted dropout); at inference it is the identity. Seeded.
public final class Dropout: Layer {
    public let rate: Float
    private var generator: SeededGenerator?

    public init(rate: Float, seed: UInt64? = nil, name: String? = nil) {
        self.rate = rate
        super.init(name: name)
        self.seed = seed
    }
    public convenience init(_ rate: Float, seed: UInt64? = nil, name: String? = nil) {
        self.init(rate: rate, seed: seed, name: name)
    }

    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        guard rate >= 0 && rate < 1 else { throw FoveaError("\(name) (Dropout): rate must be in [0, 1), got \(rate)") }
        return inputShape
    }

    /// The mask generator's state: where the sequence of dropout masks stands.
    public override var randomState: [UInt64]? {
        get { (generator ?? freshGenerator).state }
        set { generator = newValue.flatMap(SeededGenerator.init(state:)) }
    }

    private var freshGenerator: SeededGenerator { SeededGenerator(seed: SeededGenerator.derive(seed ?? Seeds.default, 0xD0)) }

    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor {
        guard training && rate > 0 else { return input }
        if generator == nil { generator = freshGenerator }
        let keep = 1 - rate, scale = 1 / keep
        let mask = Tensor(uninitializedShape: input.shape)
        let p = mask.storage.pointer
        for i in 0..<mask.count { p[i] = generator!.nextUniform() < keep ? scale : 0 }
        return input * mask
    }
}

/// Keras `Activation`: applies an activation function.
public final class ActivationLayer: Layer {
    public let activation: Activation
    public init(_ activation: Activation, name: String? = nil) {
        self.activation = activation
        super.init(name: name)
    }
    public override class var defaultName: String { "activation" }
    public override var typeName: String { "Activation" }
    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor { activation(input) }
}

/// Keras `ReLU`.
public final class ReLU: Layer {
    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor { input.relu() }
}

/// Keras `Softmax` (last axis).
public final class Softmax: Layer {
    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor { input.softmax() }
}
