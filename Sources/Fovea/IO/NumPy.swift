import Foundation

/// An array in NumPy's `.npy` format: its shape and typed values (C order).
///
/// Read: float32, float64, uint8, bool (as uint8), int8/int16/uint16/int32 (as int32) and int64,
/// little- or big-endian. Written: float32, float64, uint8, int32 and int64, little-endian, in the
/// oldest header version that fits (1.0, else 2.0), as `numpy.save` does.
public struct NumPyArray: Equatable, Sendable {
    /// The values, one case per element type.
    public enum Values: Equatable, Sendable {
        case float32([Float]), float64([Double]), uint8([UInt8]), int32([Int32]), int64([Int64])

        var count: Int {
            switch self {
            case .float32(let v): return v.count
            case .float64(let v): return v.count
            case .uint8(let v): return v.count
            case .int32(let v): return v.count
            case .int64(let v): return v.count
            }
        }
    }

    public let shape: [Int]
    public let values: Values

    /// An array of `shape` holding `values` in C (row-major) order.
    public init(shape: [Int], values: Values) throws {
        guard shape.allSatisfy({ $0 >= 0 }), let count = checkedProduct(shape), count == values.count else {
            throw FoveaError("NumPy array: shape \(shape) does not hold \(values.count) values")
        }
        self.shape = shape
        self.values = values
    }

    /// A float32 array with the tensor's shape and values.
    public init(_ tensor: Tensor) {
        shape = tensor.shape
        values = .float32(tensor.scalars)
    }

    /// NumPy's name of the element type (`float32`, `uint8`, …).
    public var dtypeName: String {
        switch values {
        case .float32: return "float32"
        case .float64: return "float64"
        case .uint8: return "uint8"
        case .int32: return "int32"
        case .int64: return "int64"
        }
    }

    /// The values as `Float` (integers above 2²⁴ and float64 lose precision, as `astype(np.float32)` does).
    public var floats: [Float] {
        switch values {
        case .float32(let v): return v
        case .float64(let v): return v.map { Float($0) }
        case .uint8(let v): return v.map { Float($0) }
        case .int32(let v): return v.map { Float($0) }
        case .int64(let v): return v.map { Float($0) }
        }
    }

    /// The array as a float32 tensor of the same shape.
    public var tensor: Tensor { Tensor(shape: shape, scalars: floats) }
}

/// Reading and writing NumPy's `.npy` files and `.npz` archives (a zip of `.npy` files).
public enum NumPy {
    /// Largest header accepted; NumPy's own reader refuses anything above 10,000 bytes by default.
    static let maxHeaderBytes = 1 << 20

    /// Decodes the bytes of a `.npy` file; every inconsistency is an error naming `file`.
    public static func decode(_ data: Data, file: String) throws -> NumPyArray {
        try decode([UInt8](data), file: file)
    }

    /// Decodes the bytes of a `.npy` file; every inconsistency is an error naming `file`.
    public static func decode(_ bytes: [UInt8], file: String) throws -> NumPyArray {
        func fail(_ why: String) -> FoveaError { FoveaError("\(file): not a valid .npy file: \(why)") }
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) || bytes.starts(with: [0x50, 0x4B, 0x05, 0x06]) {
                throw fail("it is a zip archive, as an .npz file is (several arrays, each a .npy inside): "
                           + "give one .npy array (np.save), or read the .npz with NumPy.readArchive")
            }
            if bytes.starts(with: [0x1F, 0x8B]) { throw fail("it is gzip-compressed; decompress it first (gunzip)") }
            throw fail(bytes.count < 10 ? "only \(bytes.count) bytes (truncated?)"
                       : "it does not start with \\x93NUMPY (it starts with \(messageText(bytes: bytes.prefix(8))))")
        }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1: headerLength = Int(bytes[8]) | Int(bytes[9]) << 8; headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw fail("only \(bytes.count) bytes (truncated?)") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default: throw fail("format version \(major).\(bytes[7]) is not 1.0, 2.0 or 3.0")
        }
        guard headerLength <= maxHeaderBytes else { throw fail("header of \(headerLength) bytes exceeds the \(maxHeaderBytes)-byte limit") }
        guard headerStart + headerLength <= bytes.count else {
            throw fail("header claims \(headerLength) bytes but only \(bytes.count - headerStart) follow (truncated?)")
        }
        // Version 1.0 and 2.0 headers are latin-1, 3.0 is UTF-8; the keys and values we need are ASCII.
        let headerBytes = bytes[headerStart..<(headerStart + headerLength)]
        let text = major == 3 ? String(decoding: headerBytes, as: UTF8.self) : String(headerBytes.map { Character(Unicode.Scalar($0)) })
        let header: [String: PyLiteral]
        do {
            guard case .dict(let d) = try PyLiteral.parse(text) else { throw FoveaError("the header is not a dict") }
            header = d
        } catch let error as FoveaError { throw fail("cannot parse the header '\(messageText(bytes: headerBytes))': \(error.message)") }
        guard case .string(let descr)? = header["descr"] else { throw fail("the header has no 'descr' string (structured dtypes are not supported)") }
        guard case .bool(let fortran)? = header["fortran_order"] else { throw fail("the header has no fortran_order True/False") }
        guard case .tuple(let dims)? = header["shape"] else { throw fail("the header has no shape tuple") }
        var shape: [Int] = []
        for (axis, d) in dims.enumerated() {
            // Names the one bad dimension, never the whole header (which may be nested and long).
            guard case .int(let n) = d, n >= 0 else {
                throw fail("the shape's dimension \(axis) (of \(dims.count)) is \(d.summary), not a non-negative integer")
            }
            shape.append(n)
        }
        guard !fortran || shape.filter({ $0 > 1 }).count <= 1 else {
            throw fail("the array is stored in Fortran (column-major) order; save np.ascontiguousarray(a) instead")
        }
        guard let count = checkedProduct(shape) else { throw fail("shape \(shapeText(shape)) is too large") }

        let type = try NumPyElementType(descr: descr, fail: fail)
        let dataStart = headerStart + headerLength
        let available = bytes.count - dataStart
        let (needed, overflow) = count.multipliedReportingOverflow(by: type.size)
        guard !overflow, needed == available else {
            throw fail("shape \(shapeText(shape)) of \(messageText(descr, limit: 20)) needs \(overflow ? "too many" : String(needed)) data bytes, the file holds \(available)\(overflow || needed > available ? " (truncated?)" : "")")
        }
        let values = bytes.withUnsafeBytes { raw in
            type.decode(UnsafeRawBufferPointer(rebasing: raw[dataStart...]), count: count)
        }
        return try NumPyArray(shape: shape, values: values)
    }

    /// Encodes an array as a `.npy` file (little-endian, C order).
    public static func encode(_ array: NumPyArray) -> [UInt8] {
        let descr: String
        var body: [UInt8] = []
        switch array.values {
        case .float32(let v): descr = "<f4"; body = littleEndianBytes(v.map(\.bitPattern))
        case .float64(let v): descr = "<f8"; body = littleEndianBytes(v.map(\.bitPattern))
        case .uint8(let v): descr = "|u1"; body = v
        case .int32(let v): descr = "<i4"; body = littleEndianBytes(v)
        case .int64(let v): descr = "<i8"; body = littleEndianBytes(v)
        }
        let dims = array.shape.map(String.init).joined(separator: ", ") + (array.shape.count == 1 ? "," : "")
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(dims)), }"
        // Pad with spaces so the data starts 64-byte aligned; the header ends in a newline.
        let prefix = header.utf8.count + 1 + 10 < 65536 ? 10 : 12
        while (prefix + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, prefix == 10 ? 1 : 2, 0]
        if prefix == 10 { out.le16(UInt16(header.utf8.count)) } else { out.le32(UInt32(header.utf8.count)) }
        out += Array(header.utf8)
        out += body
        return out
    }

    /// Reads a `.npy` file.
    public static func read(from url: URL) throws -> NumPyArray {
        try decode(try readBytes(url), file: url.path)
    }

    /// Writes a `.npy` file atomically.
    public static func write(_ array: NumPyArray, to url: URL) throws {
        try writeAtomically(Data(encode(array)), to: url)
    }

    /// Decodes an `.npz` archive: its arrays by name (without the `.npy` suffix), in archive order.
    public static func decodeArchive(_ bytes: [UInt8], file: String) throws -> [(name: String, array: NumPyArray)] {
        let zip = try ZipArchive(bytes: bytes, file: file)
        return try zip.entries.map { entry in
            let name = entry.name.hasSuffix(".npy") ? String(entry.name.dropLast(4)) : entry.name
            return (name, try decode(try zip.read(entry), file: "\(file) [\(entry.name)]"))
        }
    }

    /// Encodes arrays as an `.npz` archive (`numpy.savez`, or `savez_compressed` with `compressed`).
    public static func encodeArchive(_ arrays: [(name: String, array: NumPyArray)], compressed: Bool = false) throws -> [UInt8] {
        var zip = ZipWriter()
        for (name, array) in arrays { try zip.add(name + ".npy", encode(array), compress: compressed) }
        return try zip.finish()
    }

    /// Reads an `.npz` archive.
    public static func readArchive(from url: URL) throws -> [(name: String, array: NumPyArray)] {
        try decodeArchive(try readBytes(url), file: url.path)
    }

    /// Writes an `.npz` archive atomically.
    public static func writeArchive(_ arrays: [(name: String, array: NumPyArray)], to url: URL, compressed: Bool = false) throws {
        try writeAtomically(Data(try encodeArchive(arrays, compressed: compressed)), to: url)
    }

    static func readBytes(_ url: URL) throws -> [UInt8] {
        do { return [UInt8](try Data(contentsOf: url)) } catch {
            throw FoveaError("cannot read \(url.path): \(error.localizedDescription)")
        }
    }
}

extension Tensor {
    /// Reads a `.npy` file as a float32 tensor (other element types are converted).
    public static func readNumPy(from url: URL) throws -> Tensor { try NumPy.read(from: url).tensor }

    /// Writes the tensor as a float32 `.npy` file, atomically.
    public func writeNumPy(to url: URL) throws { try NumPy.write(NumPyArray(self), to: url) }
}

/// The product of `dims`, or nil when it overflows.
func checkedProduct(_ dims: [Int]) -> Int? {
    var product = 1
    for d in dims {
        let (p, overflow) = product.multipliedReportingOverflow(by: d)
        if overflow { return nil }
        product = p
    }
    return product
}

private func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: values.count * MemoryLayout<T>.size)
    out.withUnsafeMutableBytes { raw in
        for (i, v) in values.enumerated() { raw.storeBytes(of: v.littleEndian, toByteOffset: i * MemoryLayout<T>.size, as: T.self) }
    }
    return out
}

/// A `.npy` element type (`descr`) Fovea reads.
struct NumPyElementType {
    enum Kind { case float, signed, unsigned, bool }
    let kind: Kind
    let size: Int
    let bigEndian: Bool

    init(descr: String, fail: (String) -> FoveaError) throws {
        let chars = Array(descr)
        if chars.count >= 2 && chars[1] == "O" {
            throw fail("it holds pickled Python objects (dtype '\(messageText(descr, limit: 20))'); Fovea reads plain numeric arrays and never unpickles")
        }
        guard chars.count >= 3, "<>|=".contains(chars[0]), let size = Int(String(chars[2...])) else {
            throw fail("dtype '\(messageText(descr, limit: 20))' is not a simple numeric type")
        }
        bigEndian = chars[0] == ">"
        switch (chars[1], size) {
        case ("f", 4), ("f", 8): kind = .float
        case ("i", 1), ("i", 2), ("i", 4), ("i", 8): kind = .signed
        case ("u", 1), ("u", 2): kind = .unsigned
        case ("b", 1): kind = .bool
        default:
            throw fail("dtype '\(messageText(descr, limit: 20))' is not supported; Fovea reads float32/float64, uint8, bool, int8/16/32/64 and uint16")
        }
        self.size = size
    }

    func decode(_ raw: UnsafeRawBufferPointer, count: Int) -> NumPyArray.Values {
        func load<T: FixedWidthInteger>(_: T.Type) -> [T] {
            (0..<count).map { i in
                let v = raw.loadUnaligned(fromByteOffset: i * size, as: T.self)
                return bigEndian ? T(bigEndian: v) : T(littleEndian: v)
            }
        }
        switch (kind, size) {
        case (.float, 4): return .float32(load(UInt32.self).map { Float(bitPattern: $0) })
        case (.float, 8): return .float64(load(UInt64.self).map { Double(bitPattern: $0) })
        case (.unsigned, 1): return .uint8(Array(raw.prefix(count)))
        case (.bool, _): return .uint8(raw.prefix(count).map { $0 == 0 ? 0 : 1 })
        case (.signed, 1): return .int32(load(Int8.self).map { Int32($0) })
        case (.signed, 2): return .int32(load(Int16.self).map { Int32($0) })
        case (.unsigned, 2): return .int32(load(UInt16.self).map { Int32($0) })
        case (.signed, 4): return .int32(load(Int32.self))
        default: return .int64(load(Int64.self))
        }
    }
}

/// The Python literals a `.npy` header holds: a dict of strings, booleans and tuples of integers.
///
/// Why Fovea parses the header itself: the header is a Python dict literal (`{'descr': '<f4',
/// 'fortran_order': False, 'shape': (2, 3), }`), which no JSON or other parser among the packages the
/// project can depend on reads (its quotes, `True`/`False` and tuples are not JSON), and no Swift package
/// for `.npy` is among them; NumPy itself reads it with Python's `ast.literal_eval`. The grammar needed
/// is four kinds of literal, so this parser is small, bounded (header length, nesting depth, integer
/// range: every failure a thrown error), and fuzzed in the repository (Fuzz/, harnesses `npy` and `npz`).
enum PyLiteral: Equatable {
    case string(String), int(Int), bool(Bool), none
    case tuple([PyLiteral])
    case dict([String: PyLiteral])

    /// The literal for an error message: its kind, and its value when short.
    var summary: String {
        switch self {
        case .int(let n): return "\(n)"
        case .bool(let b): return b ? "True" : "False"
        case .none: return "None"
        case .string(let s): return "the string '\(messageText(s, limit: 20))'"
        case .tuple(let items): return "a sequence of \(items.count)"
        case .dict(let d): return "a dict of \(d.count)"
        }
    }

    static func parse(_ text: String) throws -> PyLiteral {
        var p = Parser(chars: Array(text.unicodeScalars))
        let value = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == p.chars.count else { throw FoveaError("unexpected text after the literal") }
        return value
    }

    private struct Parser {
        let chars: [Unicode.Scalar]
        var i = 0

        mutating func skipSpace() { while i < chars.count, chars[i].properties.isWhitespace { i += 1 } }
        func peek() -> Unicode.Scalar? { i < chars.count ? chars[i] : nil }

        mutating func value(depth: Int) throws -> PyLiteral {
            guard depth < 8 else { throw FoveaError("literal nested too deeply") }
            skipSpace()
            guard let c = peek() else { throw FoveaError("unexpected end of header") }
            switch c {
            case "{":
                i += 1
                var d: [String: PyLiteral] = [:]
                while true {
                    skipSpace()
                    if peek() == "}" { i += 1; return .dict(d) }
                    guard case .string(let key) = try value(depth: depth + 1) else { throw FoveaError("dict key is not a string") }
                    skipSpace()
                    guard peek() == ":" else { throw FoveaError("expected ':' after key '\(messageText(key, limit: 20))'") }
                    i += 1
                    d[key] = try value(depth: depth + 1)
                    skipSpace()
                    if peek() == "," { i += 1 } else if peek() != "}" { throw FoveaError("expected ',' or '}' in dict") }
                }
            case "(", "[":
                let close: Unicode.Scalar = c == "(" ? ")" : "]"
                i += 1
                var items: [PyLiteral] = []
                while true {
                    skipSpace()
                    if peek() == close { i += 1; return .tuple(items) }
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    if peek() == "," { i += 1 } else if peek() != close { throw FoveaError("expected ',' or '\(close)' in sequence") }
                }
            case "'", "\"":
                i += 1
                var s = ""
                while let ch = peek(), ch != c {
                    if ch == "\\" { throw FoveaError("escapes in strings are not supported") }
                    s.unicodeScalars.append(ch)
                    i += 1
                }
                guard peek() == c else { throw FoveaError("unterminated string") }
                i += 1
                return .string(s)
            default:
                var word = ""
                while let ch = peek(), ch.properties.isAlphabetic || ("0"..."9").contains(ch) || ch == "-" || ch == "_" {
                    word.unicodeScalars.append(ch)
                    i += 1
                }
                switch word {
                case "True": return .bool(true)
                case "False": return .bool(false)
                case "None": return .none
                default:
                    // Python 2 wrote long integers with an L suffix: (3L, 4L).
                    let digits = word.hasSuffix("L") ? String(word.dropLast()) : word
                    guard let n = Int(digits) else { throw FoveaError("unexpected '\(messageText(word.isEmpty ? String(c) : word, limit: 20))'") }
                    return .int(n)
                }
            }
        }
    }
}
