import Foundation

/// An activation function by Keras's name (`"relu"`, `"softmax"`, …), usable in any layer that takes
/// one (`Conv2D(activation:)`, `Dense(activation:)`, `ActivationLayer`). Identity is the ``Kind``:
/// fusion passes and the training step switch over it, never over names.
public struct Activation: Sendable, Equatable, Hashable {
    /// The activations Fovea implements, by Keras's name (`swish` and `hard_swish` are Keras's aliases
    /// of `silu` and `hard_silu`, which Keras writes).
    public enum Kind: String, Sendable, CaseIterable {
        case linear, relu, sigmoid, tanh, softmax, relu6, silu, gelu, elu, selu, softplus, softsign, exponential
        case hardSigmoid = "hard_sigmoid", hardSilu = "hard_silu", leakyRelu = "leaky_relu"
    }

    public let kind: Kind
    public init(_ kind: Kind) { self.kind = kind }

    /// Keras's name.
    public var name: String { kind.rawValue }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch kind {
        case .linear: return x
        case .relu: return x.relu()
        case .sigmoid: return x.sigmoid()
        case .tanh: return x.tanh()
        case .softmax: return x.softmax()
        case .relu6: return x.relu6()
        case .silu: return x.silu()
        case .gelu: return x.gelu()
        case .elu: return x.elu()
        case .selu: return x.selu()
        case .softplus: return x.softplus()
        case .softsign: return x.softsign()
        case .exponential: return x.exponential()
        case .hardSigmoid: return x.hardSigmoid()
        case .hardSilu: return x.hardSilu()
        case .leakyRelu: return x.leakyRelu()
        }
    }

    public static let linear = Activation(.linear)
    public static let relu = Activation(.relu)
    public static let sigmoid = Activation(.sigmoid)
    public static let tanh = Activation(.tanh)
    public static let softmax = Activation(.softmax)
    public static let relu6 = Activation(.relu6)
    public static let silu = Activation(.silu)
    /// Keras's alias of ``silu``.
    public static let swish = Activation(.silu)
    public static let gelu = Activation(.gelu)
    public static let elu = Activation(.elu)
    public static let selu = Activation(.selu)
    public static let softplus = Activation(.softplus)
    public static let softsign = Activation(.softsign)
    public static let exponential = Activation(.exponential)
    public static let hardSigmoid = Activation(.hardSigmoid)
    public static let hardSilu = Activation(.hardSilu)
    /// Keras's alias of ``hardSilu``.
    public static let hardSwish = Activation(.hardSilu)
    /// Leaky ReLU with Keras's activation-function slope, 0.2.
    public static let leakyRelu = Activation(.leakyRelu)

    /// Keras's other names for activations.
    static let aliases: [String: Kind] = ["swish": .silu, "hard_swish": .hardSilu]

    /// Looks an activation up by Keras's name; the error lists the names Fovea knows.
    public init(named name: String) throws {
        guard let kind = Kind(rawValue: name) ?? Activation.aliases[name] else {
            throw FoveaError("unknown activation '\(name)'; Fovea implements \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.kind = kind
    }
}

extension Activation: Codable {
    /// Keras writes a built-in activation as its name; a serialized function object
    /// (`{"class_name": "function", "config": "relu"}`) names it in `config`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let name = try? c.decode(String.self) { try self.init(named: name); return }
        let object = try KerasObject(from: decoder)
        guard let name = object.config.stringValue else {
            throw FoveaError("activation \(object.className) is not a built-in activation Fovea knows")
        }
        try self.init(named: name)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(name)
    }
}
