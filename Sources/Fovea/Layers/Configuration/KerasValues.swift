import Foundation

/// The values Keras configurations hold besides plain numbers and strings, as `Codable` types in
/// Keras 3's serialized form, so a layer's typed configuration reads and writes `config.json` directly.

/// Keras's integer tuples (`kernel_size`, `strides`, `pool_size`, …): written as a list, read from
/// a list or a single integer (which Keras repeats for every axis).
public struct KerasInts: Codable, Sendable, Equatable, ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral {
    public var values: [Int]
    public init(_ values: [Int]) { self.values = values }
    public init(integerLiteral value: Int) { values = [value] }
    public init(arrayLiteral elements: Int...) { values = elements }
    public init(_ pair: (Int, Int)) { values = [pair.0, pair.1] }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let single = try? c.decode(Int.self) { values = [single]; return }
        values = try c.decode([Int].self)
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(values)
    }

    /// The values for `count` axes: a single value repeated, or exactly `count` values.
    public func axes(_ count: Int, key: String) throws -> [Int] {
        if values.count == 1 { return Array(repeating: values[0], count: count) }
        guard values.count == count else { throw FoveaError("config key '\(key)' must be an integer or a list of \(count), got \(values)") }
        return values
    }

    /// Two axes as a tuple.
    public func pair(_ key: String) throws -> (Int, Int) {
        let v = try axes(2, key: key)
        return (v[0], v[1])
    }
}

/// Keras 3's serialized object: `{"module", "class_name", "config", "registered_name"}`. Keras also
/// accepts (and Keras 2 wrote) the bare `{"class_name", "config"}` or just a name.
struct KerasObject: Codable {
    var module: String?
    var className: String
    var config: JSONValue
    var registeredName: JSONValue?

    enum CodingKeys: String, CodingKey {
        case module, className = "class_name", config, registeredName = "registered_name"
    }

    init(module: String, className: String, config: JSONValue) {
        self.module = module; self.className = className; self.config = config; registeredName = .null
    }

    init(from decoder: Decoder) throws {
        if let name = try? decoder.singleValueContainer().decode(String.self) {
            className = name; config = .object([:]); return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        module = try c.decodeIfPresent(String.self, forKey: .module)
        className = try c.decode(String.self, forKey: .className)
        config = try c.decodeIfPresent(JSONValue.self, forKey: .config) ?? .object([:])
        registeredName = try c.decodeIfPresent(JSONValue.self, forKey: .registeredName)
    }

    func number(_ key: String, _ fallback: Float) throws -> Float {
        guard let v = config[key], !v.isNull else { return fallback }
        guard let d = v.numberValue else { throw FoveaError("\(className) config '\(key)' must be a number") }
        return Float(d)
    }
}

extension Initializer: Codable {
    public init(from decoder: Decoder) throws {
        let o = try KerasObject(from: decoder)
        switch snakeCase(o.className) {
        case "zeros": self = .zeros
        case "ones": self = .ones
        case "constant": self = .constant(try o.number("value", 0))
        case "glorot_uniform": self = .glorotUniform
        case "glorot_normal": self = .glorotNormal
        case "he_normal": self = .heNormal
        case "he_uniform": self = .heUniform
        case "lecun_normal": self = .lecunNormal
        case "lecun_uniform": self = .lecunUniform
        case "random_normal": self = .randomNormal(mean: try o.number("mean", 0), standardDeviation: try o.number("stddev", 0.05))
        case "random_uniform": self = .randomUniform(min: try o.number("minval", -0.05), max: try o.number("maxval", 0.05))
        case "truncated_normal": self = .truncatedNormal(mean: try o.number("mean", 0), standardDeviation: try o.number("stddev", 0.05))
        case "variance_scaling":
            let mode = o.config["mode"]?.stringValue ?? "fan_in", distribution = o.config["distribution"]?.stringValue ?? "truncated_normal"
            guard let m = VarianceScalingMode(rawValue: mode) else {
                throw FoveaError("VarianceScaling mode '\(mode)' is not one of fan_in, fan_out, fan_avg")
            }
            guard let d = VarianceScalingDistribution(rawValue: distribution) else {
                throw FoveaError("VarianceScaling distribution '\(distribution)' is not one of truncated_normal, untruncated_normal, uniform")
            }
            self = .varianceScaling(scale: try o.number("scale", 1), mode: m, distribution: d)
        default:
            throw FoveaError("initializer '\(o.className)' is not one Fovea implements (Zeros, Ones, Constant, GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal, LecunUniform, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var config: [String: JSONValue] = [:]
        switch self {
        case .constant(let v): config = ["value": .double(Double(v))]
        case .randomNormal(let m, let s), .truncatedNormal(let m, let s):
            config = ["mean": .double(Double(m)), "stddev": .double(Double(s)), "seed": .null]
        case .randomUniform(let lo, let hi): config = ["minval": .double(Double(lo)), "maxval": .double(Double(hi)), "seed": .null]
        case .varianceScaling(let scale, let mode, let distribution):
            config = ["scale": .double(Double(scale)), "mode": .string(mode.rawValue), "distribution": .string(distribution.rawValue), "seed": .null]
        case .zeros, .ones: break
        default: config = ["seed": .null]
        }
        let className = kerasName.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        try KerasObject(module: "keras.initializers", className: className, config: .object(config)).encode(to: encoder)
    }
}

extension Regularizer: Codable {
    public init(from decoder: Decoder) throws {
        let o = try KerasObject(from: decoder)
        switch o.className {
        case "L1", "l1": self = .l1(try o.number("l1", 0.01))
        case "L2", "l2": self = .l2(try o.number("l2", 0.01))
        case "L1L2", "l1_l2": self = Regularizer(l1: try o.number("l1", 0), l2: try o.number("l2", 0))
        default: throw FoveaError("regularizer '\(o.className)' is not one Fovea implements (L1, L2, L1L2)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        try KerasObject(module: "keras.regularizers", className: "L1L2",
                        config: ["l1": .double(Double(l1)), "l2": .double(Double(l2))]).encode(to: encoder)
    }
}

extension Constraint: Codable {
    public init(from decoder: Decoder) throws {
        let o = try KerasObject(from: decoder)
        let axis = o.config["axis"]
        let axes = axis?.arrayValue?.compactMap(\.intValue) ?? axis?.intValue.map { [$0] } ?? [0]
        switch o.className {
        case "MaxNorm", "max_norm": self = .maxNorm(maxValue: try o.number("max_value", 2), axes: axes)
        case "NonNeg", "non_neg": self = .nonNeg
        case "UnitNorm", "unit_norm": self = .unitNorm(axes: axes)
        default: throw FoveaError("constraint '\(o.className)' is not one Fovea implements (MaxNorm, NonNeg, UnitNorm)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        let object: KerasObject
        switch self {
        case .nonNeg: object = KerasObject(module: "keras.constraints", className: "NonNeg", config: [:])
        case .maxNorm(let m, let axes):
            object = KerasObject(module: "keras.constraints", className: "MaxNorm",
                                 config: ["max_value": .double(Double(m)), "axis": .array(axes.map(JSONValue.int))])
        case .unitNorm(let axes):
            object = KerasObject(module: "keras.constraints", className: "UnitNorm", config: ["axis": .array(axes.map(JSONValue.int))])
        }
        try object.encode(to: encoder)
    }
}

extension KeyedDecodingContainer {
    /// The value at `key`, or `fallback` when the key is missing or `null` (Keras's "not set").
    func value<T: Decodable>(_ key: Key, default fallback: T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? fallback
    }
}

extension KeyedEncodingContainer {
    /// Writes `value`, or `null` when it is nil (Keras writes every key of a config).
    mutating func encodeOrNull<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
}
