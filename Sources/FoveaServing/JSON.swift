import Foundation

// A JSON reader and writer for request and response bodies.
//
// Why not Foundation's JSONSerialization or JSONDecoder: a tensor of 784 numbers becomes 784 boxed
// NSNumbers (or a Codable walk per element) there, which is most of a request's cost at serving
// rates; here an array of numbers is read straight into one `[Double]`. The reader also bounds what
// a hostile body can make it do: nesting depth, and nothing allocated beyond what the (already
// size-limited) body holds. It follows RFC 8259 strictly: no trailing commas, no NaN/Infinity, no
// leading zeros, no unescaped control characters, one value per document.

/// A parsed JSON value. Arrays whose elements are all numbers are kept as `[Double]` (`numbers`).
public enum RequestJSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case numbers([Double])
    case array([RequestJSON])
    case object([(String, RequestJSON)])

    public static func == (a: RequestJSON, b: RequestJSON) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.numbers(x), .numbers(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.numbers(x), .array(y)), let (.array(y), .numbers(x)):
            return x.count == y.count && zip(x, y).allSatisfy { RequestJSON.number($0) == $1 }
        case let (.object(x), .object(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// The member `key` of an object (the first, if repeated); nil for other values.
    public subscript(key: String) -> RequestJSON? {
        guard case let .object(members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    /// A short name of the value's kind, for error messages.
    public var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .numbers, .array: return "an array"
        case .object: return "an object"
        }
    }

    /// Element count of an array value (nil for others).
    public var arrayCount: Int? {
        switch self {
        case let .numbers(values): return values.count
        case let .array(values): return values.count
        default: return nil
        }
    }
}

/// Why a body is not JSON, with the byte offset.
public struct JSONParseError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let offset: Int
    public var description: String { "malformed JSON at byte \(offset): \(message)" }
}

/// Reads one JSON document.
public struct JSONReader {
    /// Deepest nesting of arrays and objects accepted.
    public static let defaultMaximumDepth = 64

    /// Parses `bytes` as one JSON document.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maximumDepth: Int = defaultMaximumDepth) throws(JSONParseError) -> RequestJSON {
        var reader = Cursor(bytes: bytes, maximumDepth: maximumDepth)
        reader.skipSpace()
        let value = try reader.value(depth: 0)
        reader.skipSpace()
        guard reader.at == bytes.count else { throw reader.error("unexpected data after the JSON value") }
        return value
    }

    public static func parse(_ bytes: [UInt8], maximumDepth: Int = defaultMaximumDepth) throws(JSONParseError) -> RequestJSON {
        do {
            return try bytes.withUnsafeBytes { buffer in try parse(buffer, maximumDepth: maximumDepth) }
        } catch let error as JSONParseError {
            throw error
        } catch {
            throw JSONParseError(message: "\(error)", offset: 0)
        }
    }

    struct Cursor {
        let bytes: UnsafeRawBufferPointer
        let maximumDepth: Int
        var at = 0

        init(bytes: UnsafeRawBufferPointer, maximumDepth: Int) { self.bytes = bytes; self.maximumDepth = maximumDepth }

        func error(_ message: String) -> JSONParseError { JSONParseError(message: message, offset: at) }

        @inline(__always) var peek: UInt8? { at < bytes.count ? bytes[at] : nil }

        @inline(__always) mutating func skipSpace() {
            while at < bytes.count {
                let c = bytes[at]
                guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
                at += 1
            }
        }

        mutating func value(depth: Int) throws(JSONParseError) -> RequestJSON {
            guard let c = peek else { throw error("the body ends where a value should start (truncated?)") }
            switch c {
            case UInt8(ascii: "{"): return try object(depth: depth + 1)
            case UInt8(ascii: "["): return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            default: throw error("unexpected character '\(printable(c))'")
            }
        }

        func printable(_ c: UInt8) -> String {
            c >= 0x20 && c < 0x7F ? String(UnicodeScalar(c)) : String(format: "\\x%02X", c)
        }

        mutating func literal(_ word: StaticString) throws(JSONParseError) {
            let n = word.utf8CodeUnitCount
            guard at + n <= bytes.count else { throw error("truncated literal") }
            for i in 0..<n where bytes[at + i] != word.utf8Start[i] { throw error("unknown literal (NaN and Infinity are not JSON)") }
            at += n
        }

        mutating func array(depth: Int) throws(JSONParseError) -> RequestJSON {
            guard depth <= maximumDepth else { throw error("nested deeper than \(maximumDepth) levels") }
            at += 1
            skipSpace()
            if peek == UInt8(ascii: "]") { at += 1; return .numbers([]) }
            // Arrays of numbers (tensor data) are read into one [Double]; the first non-number
            // element switches to a general array.
            var numbers: [Double] = []
            while true {
                guard let c = peek else { throw error("the body ends inside an array (truncated?)") }
                if c == UInt8(ascii: "-") || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) {
                    numbers.append(try number())
                } else {
                    var values = numbers.map { RequestJSON.number($0) }
                    values.append(try value(depth: depth))
                    return try generalArray(values, depth: depth)
                }
                skipSpace()
                guard let next = peek else { throw error("the body ends inside an array (truncated?)") }
                at += 1
                if next == UInt8(ascii: "]") { return .numbers(numbers) }
                guard next == UInt8(ascii: ",") else { at -= 1; throw error("expected ',' or ']' in an array") }
                skipSpace()
            }
        }

        mutating func generalArray(_ start: [RequestJSON], depth: Int) throws(JSONParseError) -> RequestJSON {
            var values = start
            while true {
                skipSpace()
                guard let next = peek else { throw error("the body ends inside an array (truncated?)") }
                at += 1
                if next == UInt8(ascii: "]") { return .array(values) }
                guard next == UInt8(ascii: ",") else { at -= 1; throw error("expected ',' or ']' in an array") }
                skipSpace()
                values.append(try value(depth: depth))
            }
        }

        mutating func object(depth: Int) throws(JSONParseError) -> RequestJSON {
            guard depth <= maximumDepth else { throw error("nested deeper than \(maximumDepth) levels") }
            at += 1
            var members: [(String, RequestJSON)] = []
            skipSpace()
            if peek == UInt8(ascii: "}") { at += 1; return .object(members) }
            while true {
                skipSpace()
                guard peek == UInt8(ascii: "\"") else { throw error(peek == nil ? "the body ends inside an object (truncated?)" : "expected a member name in quotes") }
                let key = try string()
                skipSpace()
                guard peek == UInt8(ascii: ":") else { throw error("expected ':' after a member name") }
                at += 1
                skipSpace()
                members.append((key, try value(depth: depth)))
                skipSpace()
                guard let next = peek else { throw error("the body ends inside an object (truncated?)") }
                at += 1
                if next == UInt8(ascii: "}") { return .object(members) }
                guard next == UInt8(ascii: ",") else { at -= 1; throw error("expected ',' or '}' in an object") }
            }
        }

        mutating func hex4() throws(JSONParseError) -> UInt32 {
            guard at + 4 <= bytes.count else { throw error("truncated \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[at]
                let d: UInt32
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
                default: throw error("bad hex digit in a \\u escape")
                }
                v = v * 16 + d
                at += 1
            }
            return v
        }

        mutating func string() throws(JSONParseError) -> String {
            at += 1
            let start = at
            // Fast path: no escapes.
            while at < bytes.count {
                let c = bytes[at]
                if c == UInt8(ascii: "\"") {
                    let s = try utf8(start, at)
                    at += 1
                    return s
                }
                if c == UInt8(ascii: "\\") { break }
                if c < 0x20 { throw error("unescaped control character in a string") }
                at += 1
            }
            var out: [UInt8] = Array(bytes[start..<at])
            while true {
                guard at < bytes.count else { throw error("the body ends inside a string (truncated?)") }
                let c = bytes[at]
                at += 1
                switch c {
                case UInt8(ascii: "\""):
                    guard let s = String(validating: out, as: UTF8.self) else { throw error("a string is not valid UTF-8") }
                    return s
                case UInt8(ascii: "\\"):
                    guard at < bytes.count else { throw error("truncated escape") }
                    let e = bytes[at]
                    at += 1
                    switch e {
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5C)
                    case UInt8(ascii: "/"): out.append(0x2F)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if scalar >= 0xD800 && scalar < 0xDC00 {
                            guard at + 2 <= bytes.count, bytes[at] == UInt8(ascii: "\\"), bytes[at + 1] == UInt8(ascii: "u") else {
                                throw error("unpaired surrogate in a \\u escape")
                            }
                            at += 2
                            let low = try hex4()
                            guard low >= 0xDC00 && low < 0xE000 else { throw error("unpaired surrogate in a \\u escape") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if scalar >= 0xDC00 && scalar < 0xE000 {
                            throw error("unpaired surrogate in a \\u escape")
                        }
                        guard let u = Unicode.Scalar(scalar) else { throw error("bad \\u escape") }
                        out.append(contentsOf: Array(String(Character(u)).utf8))
                    default: throw error("unknown escape '\\\(printable(e))'")
                    }
                default:
                    if c < 0x20 { throw error("unescaped control character in a string") }
                    out.append(c)
                }
            }
        }

        func utf8(_ from: Int, _ to: Int) throws(JSONParseError) -> String {
            let slice = UnsafeRawBufferPointer(rebasing: bytes[from..<to])
            guard let s = String(validating: slice.bindMemory(to: UInt8.self), as: UTF8.self) else {
                throw JSONParseError(message: "a string is not valid UTF-8", offset: from)
            }
            return s
        }

        static let powersOfTen: [Double] = (0...22).map { pow(10, Double($0)) }

        /// A JSON number, exactly rounded: small mantissas and exponents by one multiplication or
        /// division (exact operands, one rounding), the rest by strtod.
        mutating func number() throws(JSONParseError) -> Double {
            let start = at
            var negative = false
            if bytes[at] == UInt8(ascii: "-") { negative = true; at += 1 }
            guard let first = peek, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else { throw error("a number needs digits") }
            var mantissa: UInt64 = 0, digits = 0, exponent = 0
            if first == UInt8(ascii: "0") {
                at += 1
                if let c = peek, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") { throw error("leading zeros are not JSON") }
            } else {
                while let c = peek, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
                    if digits < 19 { mantissa = mantissa * 10 + UInt64(c - UInt8(ascii: "0")); digits += 1 } else { exponent += 1; digits += 1 }
                    at += 1
                }
            }
            var exact = digits <= 19
            if peek == UInt8(ascii: ".") {
                at += 1
                guard let c = peek, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { throw error("a decimal point needs digits after it") }
                while let c = peek, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
                    if mantissa == 0 && c == UInt8(ascii: "0") {
                        exponent -= 1
                    } else if digits < 19 {
                        mantissa = mantissa * 10 + UInt64(c - UInt8(ascii: "0")); digits += 1; exponent -= 1
                    } else {
                        exact = false
                    }
                    at += 1
                }
            }
            if let c = peek, c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                at += 1
                var expNegative = false
                if let s = peek, s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { expNegative = s == UInt8(ascii: "-"); at += 1 }
                guard let d = peek, d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9") else { throw error("an exponent needs digits") }
                var e = 0
                while let d = peek, d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9") {
                    if e < 100_000 { e = e * 10 + Int(d - UInt8(ascii: "0")) }
                    at += 1
                }
                exponent += expNegative ? -e : e
            }
            if exact && mantissa < (1 << 53) && exponent >= -22 && exponent <= 22 {
                var v = Double(mantissa)
                v = exponent >= 0 ? v * Self.powersOfTen[exponent] : v / Self.powersOfTen[-exponent]
                return negative ? -v : v
            }
            if mantissa == 0 { return negative ? -0.0 : 0 }
            // Anything else: the C library's correctly rounded conversion of the same text.
            var text = [CChar](repeating: 0, count: at - start + 1)
            for i in start..<at { text[i - start] = CChar(bitPattern: bytes[i]) }
            return strtod(text, nil)
        }
    }
}

/// Builds a JSON document into bytes.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    public mutating func string(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                raw("\\u00")
                bytes.append(hex[Int(c >> 4)]); bytes.append(hex[Int(c & 15)])
            default: bytes.append(c)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// `"key":`
    public mutating func key(_ s: String) {
        string(s)
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func int(_ v: Int) { bytes.append(contentsOf: Array(String(v).utf8)) }

    /// A float in its shortest round-trip form; a non-finite value is written as null.
    public mutating func float(_ v: Float) {
        guard v.isFinite else { raw("null"); return }
        var text = v.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        bytes.append(contentsOf: Array(text.utf8))
    }

    public mutating func double(_ v: Double) {
        guard v.isFinite else { raw("null"); return }
        var text = v.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        bytes.append(contentsOf: Array(text.utf8))
    }

    public mutating func comma() { bytes.append(UInt8(ascii: ",")) }
    public mutating func open(_ c: Character) { bytes.append(c.asciiValue!) }

    /// Floats `values` as a nested array of `shape` (row-major), or flat when `shape` is nil.
    public mutating func floats(_ values: ArraySlice<Float>, shape: ArraySlice<Int>?) {
        guard let shape, shape.count > 1 else {
            bytes.append(UInt8(ascii: "["))
            var first = true
            for v in values {
                if !first { bytes.append(UInt8(ascii: ",")) }
                first = false
                float(v)
            }
            bytes.append(UInt8(ascii: "]"))
            return
        }
        let step = shape.dropFirst().reduce(1, *)
        bytes.append(UInt8(ascii: "["))
        for i in 0..<shape[shape.startIndex] {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            let from = values.startIndex + i * step
            floats(values[from..<(from + step)], shape: shape.dropFirst())
        }
        bytes.append(UInt8(ascii: "]"))
    }
}
