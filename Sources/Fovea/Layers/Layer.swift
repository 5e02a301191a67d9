import Foundation

/// Keras's `data_format`: where the channel axis is.
public enum DataFormat: String, Sendable, Codable {
    /// `(batch, ..., channels)` — the default.
    case channelsLast = "channels_last"
    /// `(batch, channels, ...)`.
    case channelsFirst = "channels_first"
}

/// The base of every layer: a named, lazily built function of one tensor that owns variables.
///
/// Subclasses override ``build(inputShape:)`` (create weights with ``addWeight(_:shape:initializer:regularizer:constraint:)``),
/// ``outputShape(for:)`` and ``forward(_:training:)``. Shapes include the batch axis, `nil` when unknown.
/// Calling a layer (`try layer(x)`) builds it on first use from `x`'s shape, checks the shape, and runs it.
open class Layer {
    /// The name shown by `summary()` and used in variable names (`conv2d_1.kernel`).
    public var name: String { didSet { for w in weights { w.variable.name = "\(name).\(w.shortName)" } } }
    /// Whether a name was given explicitly (models keep explicit names and number the others).
    public let hasExplicitName: Bool
    /// Seed for the weight initialisers and any randomness in the layer; set by the model when nil.
    public var seed: UInt64?
    /// The input shape the layer was built for (batch axis `nil`), once built.
    public private(set) var builtInputShape: [Int?]?
    public var isBuilt: Bool { builtInputShape != nil }

    struct Weight {
        let shortName: String
        let variable: Variable
        let regularizer: Regularizer?
        let constraint: Constraint?
    }
    private(set) var weights: [Weight] = []

    /// Whether the layer's variables are updated by training. Freezing a layer keeps its weights.
    public var trainable = true { didSet { for w in weights { w.variable.trainable = trainable } } }

    public init(name: String? = nil) {
        self.name = name ?? Self.defaultName
        hasExplicitName = name != nil
    }

    /// Keras's automatic base name: the class name in snake case (`Conv2D` → `conv2d`).
    open class var defaultName: String { snakeCase(String(describing: self)) }
    /// The class name shown in summaries.
    open var typeName: String { String(describing: type(of: self)) }

    /// The state of the layer's random number generator (Dropout's masks), saved with the model so
    /// that resuming a run draws the same numbers as the uninterrupted run; nil for layers that
    /// draw none. Setting a state the layer cannot use is ignored by layers without randomness.
    open var randomState: [UInt64]? {
        get { nil }
        set {}
    }

    /// Extra configuration entries a custom layer saves with the model.
    open var customConfiguration: [String: Any] { [:] }

    /// Creates the layer's weights for an input of `inputShape` (batch axis included, `nil`).
    open func build(inputShape: [Int?]) throws {}
    /// The output shape for an input shape (batch axis included, `nil`); throws when the input does not fit.
    open func outputShape(for inputShape: [Int?]) throws -> [Int?] { inputShape }
    /// The computation. `training` turns on training-only behaviour such as dropout.
    open func forward(_ input: Tensor, training: Bool) throws -> Tensor { input }

    /// The layer's variables, trainable and not, in creation order.
    public var variables: [Variable] { weights.map(\.variable) }
    public var trainableVariables: [Variable] { variables.filter(\.trainable) }
    /// Number of scalars in all variables.
    public var parameterCount: Int { variables.reduce(0) { $0 + $1.value.count } }

    /// Builds the layer for `inputShape` if it is not built yet; checks the shape if it is.
    public func buildIfNeeded(inputShape: [Int?]) throws {
        if let built = builtInputShape {
            try checkCompatible(inputShape, with: built)
            return
        }
        _ = try outputShape(for: inputShape)
        try build(inputShape: inputShape)
        var shape = inputShape
        if !shape.isEmpty { shape[0] = nil }
        builtInputShape = shape
    }

    func checkCompatible(_ shape: [Int?], with built: [Int?]) throws {
        let matches = shape.count == built.count && zip(shape.dropFirst(), built.dropFirst()).allSatisfy { a, b in
            a == nil || b == nil || a == b
        }
        if !matches {
            throw FoveaError("\(name) (\(typeName)): input shape \(formatShape(shape)) does not match the shape it was built for, \(formatShape(built))")
        }
    }

    /// Runs the layer on `input`, building it first if needed.
    public func callAsFunction(_ input: Tensor, training: Bool = false) throws -> Tensor {
        // The concrete shape (batch included) so errors show exactly what was passed.
        try buildIfNeeded(inputShape: input.optionalShape)
        return try forward(input, training: training)
    }

    /// Creates a variable owned by this layer, initialised from the layer's seed.
    @discardableResult
    public func addWeight(_ shortName: String, shape: [Int], initializer: Initializer,
                          regularizer: Regularizer? = nil, constraint: Constraint? = nil,
                          trainable: Bool = true) -> Variable {
        let seed = SeededGenerator.derive(self.seed ?? Seeds.default, UInt64(weights.count + 1))
        let variable = Variable(initializer.make(shape: shape, seed: seed), name: "\(name).\(shortName)",
                                trainable: trainable && self.trainable)
        weights.append(Weight(shortName: shortName, variable: variable, regularizer: regularizer, constraint: constraint))
        return variable
    }

    /// The regularisation penalties of this layer's weights, on the gradient graph; training adds
    /// them to the loss.
    public func regularizationLosses() -> [Tensor] {
        weights.compactMap { w in w.regularizer.map { $0.penalty(w.variable.tracked) } }
    }

    /// Applies each weight's constraint (after an optimizer step, as Keras does).
    public func applyConstraints() {
        for w in weights { if let c = w.constraint { w.variable.value = c.apply(w.variable.value) } }
    }

    /// Describes the input expected, for error messages.
    func shapeError(_ input: [Int?], _ expectation: String) -> FoveaError {
        FoveaError("\(name) (\(typeName)): expected \(expectation), got input shape \(formatShape(input))")
    }
}

/// Keras's `to_snake_case`: `Conv2D` → `conv2d`, `MaxPooling2D` → `max_pooling2d`, `ReLU` → `re_lu`.
func snakeCase(_ s: String) -> String {
    func sub(_ re: NSRegularExpression, _ template: String, _ text: String) -> String {
        re.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: template)
    }
    return sub(SnakeCasePatterns.lowerUpper, "$1_$2", sub(SnakeCasePatterns.word, "$1_$2", sub(SnakeCasePatterns.nonWord, "", s))).lowercased()
}

/// Compiled once: compiling them on every call made adding a layer to a model cost milliseconds
/// (Sequential names each layer by comparing class names, quadratic in the layer count).
private enum SnakeCasePatterns {
    static let nonWord = try! NSRegularExpression(pattern: "\\W+")
    static let word = try! NSRegularExpression(pattern: "(.)([A-Z][a-z]+)")
    static let lowerUpper = try! NSRegularExpression(pattern: "([a-z])([A-Z])")
}

/// An activation function with Keras's name.
public struct Activation: Sendable {
    public let name: String
    let apply: @Sendable (Tensor) -> Tensor

    public init(name: String, _ apply: @escaping @Sendable (Tensor) -> Tensor) {
        self.name = name
        self.apply = apply
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { apply(x) }

    public static let linear = Activation(name: "linear") { $0 }
    public static let relu = Activation(name: "relu") { $0.relu() }
    public static let sigmoid = Activation(name: "sigmoid") { $0.sigmoid() }
    public static let tanh = Activation(name: "tanh") { $0.tanh() }
    public static let softmax = Activation(name: "softmax") { $0.softmax() }

    /// Looks an activation up by Keras's name (`"relu"`, `"softmax"`, …).
    public init(named name: String) throws {
        guard let a = [Activation.linear, .relu, .sigmoid, .tanh, .softmax].first(where: { $0.name == name }) else {
            throw FoveaError("unknown activation '\(name)'; use one of linear, relu, sigmoid, tanh, softmax")
        }
        self = a
    }
}

/// Keras's weight initialisers. Fans follow Keras: for a kernel `[..., in, out]`, the receptive
/// field is the product of the leading dimensions.
public enum Initializer: Sendable, Equatable {
    case zeros, ones
    case constant(Float)
    case glorotUniform, glorotNormal, heNormal, heUniform, lecunNormal, lecunUniform
    case randomNormal(mean: Float, standardDeviation: Float)
    case randomUniform(min: Float, max: Float)

    /// Keras's name for the initializer (`glorot_uniform`, …).
    public var kerasName: String {
        switch self {
        case .zeros: return "zeros"
        case .ones: return "ones"
        case .constant: return "constant"
        case .glorotUniform: return "glorot_uniform"
        case .glorotNormal: return "glorot_normal"
        case .heNormal: return "he_normal"
        case .heUniform: return "he_uniform"
        case .lecunNormal: return "lecun_normal"
        case .lecunUniform: return "lecun_uniform"
        case .randomNormal: return "random_normal"
        case .randomUniform: return "random_uniform"
        }
    }

    static func fans(_ shape: [Int]) -> (fanIn: Float, fanOut: Float) {
        switch shape.count {
        case 0: return (1, 1)
        case 1: return (Float(shape[0]), Float(shape[0]))
        case 2: return (Float(shape[0]), Float(shape[1]))
        default:
            let receptive = Float(shape.dropLast(2).reduce(1, *))
            return (Float(shape[shape.count - 2]) * receptive, Float(shape[shape.count - 1]) * receptive)
        }
    }

    /// Keras's VarianceScaling: truncated normal (std corrected by 0.8796…) or uniform.
    static func varianceScaling(_ shape: [Int], scale: Float, fan: Float, uniform: Bool, seed: UInt64) -> Tensor {
        let variance = scale / Swift.max(1, fan)
        if uniform {
            let limit = (3 * variance).squareRoot()
            return .uniform(shape, low: -limit, high: limit, seed: seed)
        }
        return .truncatedNormal(shape, standardDeviation: variance.squareRoot() / 0.87962566103423978, seed: seed)
    }

    public func make(shape: [Int], seed: UInt64) -> Tensor {
        let (fanIn, fanOut) = Initializer.fans(shape)
        switch self {
        case .zeros: return .zeros(shape)
        case .ones: return .ones(shape)
        case .constant(let v): return Tensor(repeating: v, shape: shape)
        case .glorotUniform: return Initializer.varianceScaling(shape, scale: 1, fan: (fanIn + fanOut) / 2, uniform: true, seed: seed)
        case .glorotNormal: return Initializer.varianceScaling(shape, scale: 1, fan: (fanIn + fanOut) / 2, uniform: false, seed: seed)
        case .heNormal: return Initializer.varianceScaling(shape, scale: 2, fan: fanIn, uniform: false, seed: seed)
        case .heUniform: return Initializer.varianceScaling(shape, scale: 2, fan: fanIn, uniform: true, seed: seed)
        case .lecunNormal: return Initializer.varianceScaling(shape, scale: 1, fan: fanIn, uniform: false, seed: seed)
        case .lecunUniform: return Initializer.varianceScaling(shape, scale: 1, fan: fanIn, uniform: true, seed: seed)
        case .randomNormal(let mean, let sd): return .normal(shape, mean: mean, standardDeviation: sd, seed: seed)
        case .randomUniform(let lo, let hi): return .uniform(shape, low: lo, high: hi, seed: seed)
        }
    }
}

/// A weight penalty added to the loss: `l1 · Σ|w| + l2 · Σw²` (Keras's L1, L2, L1L2).
public struct Regularizer: Sendable, Equatable {
    public let l1: Float
    public let l2: Float
    public init(l1: Float = 0, l2: Float = 0) { self.l1 = l1; self.l2 = l2 }
    public static func l1(_ factor: Float = 0.01) -> Regularizer { Regularizer(l1: factor) }
    public static func l2(_ factor: Float = 0.01) -> Regularizer { Regularizer(l2: factor) }
    public static func l1l2(l1: Float = 0, l2: Float = 0) -> Regularizer { Regularizer(l1: l1, l2: l2) }

    public func penalty(_ w: Tensor) -> Tensor {
        var total = Tensor(0)
        if l1 != 0 { total = total + w.abs().sum() * l1 }
        if l2 != 0 { total = total + w.squared().sum() * l2 }
        return total
    }
}

/// A projection applied to a weight after each optimizer update (Keras's constraints).
public enum Constraint: Sendable, Equatable {
    /// Rescales so the norm over `axes` is at most `maxValue`.
    case maxNorm(maxValue: Float = 2, axes: [Int] = [0])
    /// Zeroes negative entries.
    case nonNeg
    /// Rescales to unit norm over `axes`.
    case unitNorm(axes: [Int] = [0])

    public func apply(_ w: Tensor) -> Tensor {
        let epsilon: Float = 1e-7
        switch self {
        case .nonNeg:
            return w.map { $0 >= 0 ? $0 : 0 }
        case .maxNorm(let maxValue, let axes):
            let norms = w.map { $0 * $0 }.sumValues(alongAxes: axes).map { $0.squareRoot() }
            let scale = norms.map { Swift.min(Swift.max($0, 0), maxValue) / (epsilon + $0) }
            return Tensor.zipBroadcast(w, scale, *)
        case .unitNorm(let axes):
            let scale = w.map { $0 * $0 }.sumValues(alongAxes: axes).map { 1 / (epsilon + $0.squareRoot()) }
            return Tensor.zipBroadcast(w, scale, *)
        }
    }
}
