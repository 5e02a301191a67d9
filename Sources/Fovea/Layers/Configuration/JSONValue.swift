import Foundation

/// A JSON document as a value: what model configurations are read into and written from.
///
/// Parsing and printing go through Foundation's `JSONDecoder`/`JSONEncoder`; this type only gives the
/// tree a shape Swift can switch over and compare. Integers keep their exact value (seeds are 64-bit);
/// `==` compares numbers by value, so `1` equals `1.0`.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    /// An integer above `Int.max` (a 64-bit seed).
    case unsigned(UInt64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)): return x == y
        case let (.unsigned(x), .unsigned(y)): return x == y
        default:
            guard let x = a.numberValue, let y = b.numberValue else { return false }
            return x == y
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let b): hasher.combine(b)
        case .int, .unsigned, .double: hasher.combine(numberValue)
        case .string(let s): hasher.combine(s)
        case .array(let a): hasher.combine(a)
        case .object(let o): hasher.combine(o)
        }
    }

    // MARK: Reading values

    public var isNull: Bool { if case .null = self { return true } else { return false } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    public var objectValue: [String: JSONValue]? { if case .object(let o) = self { return o } else { return nil } }
    /// Any number as a Double.
    public var numberValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .unsigned(let u): return Double(u)
        case .double(let d): return d
        default: return nil
        }
    }
    /// An integer (or a float with no fraction that fits an `Int`).
    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && Swift.abs(d) < 9.0e18: return Int(d)
        default: return nil
        }
    }
    /// A non-negative integer of up to 64 bits.
    public var uint64Value: UInt64? {
        switch self {
        case .int(let i) where i >= 0: return UInt64(i)
        case .unsigned(let u): return u
        default: return nil
        }
    }

    /// The member `key` of an object (nil for other values or a missing key).
    public subscript(key: String) -> JSONValue? { objectValue?[key] }

    // MARK: Text

    /// Parses JSON text.
    public init(parsing data: Data) throws {
        do { self = try JSONDecoder().decode(JSONValue.self, from: data) } catch let error as DecodingError {
            throw FoveaError("not valid JSON: \(Self.describe(error))")
        }
    }

    /// Parses JSON text.
    public init(parsing text: String) throws { try self.init(parsing: Data(text.utf8)) }

    /// The JSON text, object keys sorted (so equal values print equally).
    public func text(pretty: Bool = false) throws -> String {
        String(decoding: try data(pretty: pretty), as: UTF8.self)
    }

    public func data(pretty: Bool = false) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        do { return try encoder.encode(self) } catch {
            throw FoveaError("cannot write JSON: \(error) (a NaN or infinite number has no JSON form)")
        }
    }

    // MARK: Typed values

    /// Encodes a value (a layer's configuration) as JSON.
    public init<T: Encodable>(encoding value: T) throws {
        try self.init(parsing: try JSONEncoder().encode(value))
    }

    /// Decodes this JSON as `T`; errors name the key path in JSON's spelling.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: try data()) } catch let error as DecodingError {
            throw FoveaError(Self.describe(error))
        }
    }

    /// A decoding error as one sentence naming the key.
    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let at = path(context)
            return "config key '\(at.isEmpty ? key.stringValue : at + "." + key.stringValue)' is missing"
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            return "config key '\(path(context))' must be \(Self.typeName(type))"
        case .dataCorrupted(let context):
            let at = path(context)
            return at.isEmpty ? context.debugDescription : "config key '\(at)': \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type: return "an integer"
        case is Float.Type, is Double.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is String.Type: return "a string"
        default:
            let name = String(describing: type)
            return name.hasPrefix("Array") ? "a list" : name.hasPrefix("Dictionary") ? "an object" : "a \(name)"
        }
    }
}

extension JSONValue: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let u = try? c.decode(UInt64.self) { self = .unsigned(u) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .unsigned(let u): try c.encode(u)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
                     ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
                     ExpressibleByDictionaryLiteral {
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, b in b }))
    }
}

extension JSONValue {
    /// A shape with `null` for unknown dimensions.
    init(shape: [Int?]) { self = .array(shape.map { $0.map(JSONValue.int) ?? .null }) }

    /// A shape (`null` for unknown), or nil when this is not a list of integers and nulls.
    var shapeValue: [Int?]? {
        guard let list = arrayValue else { return nil }
        var shape: [Int?] = []
        for v in list {
            if v.isNull { shape.append(nil) } else if let i = v.intValue { shape.append(i) } else { return nil }
        }
        return shape
    }
}
