import Foundation

/// Text taken from a file, made fit for an error message: control characters (terminal escape
/// codes included) and the replacement character are escaped, bytes that are not UTF-8 are shown as
/// `\xNN`, and anything longer than `limit` characters is cut, saying how much was left out. A
/// message never echoes a whole header, nor raw bytes a terminal would interpret.
public func messageText<S: StringProtocol>(_ text: S, limit: Int = 80) -> String {
    var out = ""
    var shown = 0, total = 0
    for scalar in text.unicodeScalars {
        total += 1
        guard shown < limit else { continue }
        shown += 1
        out += escaped(scalar)
    }
    return total > limit ? out + "… (\(total - limit) more characters)" : out
}

/// Bytes from a file as text for an error message: UTF-8 where they are valid UTF-8, `\xNN` for
/// each byte that is not; escaped and cut as ``messageText(_:limit:)`` does.
public func messageText<C: Collection>(bytes: C, limit: Int = 80) -> String where C.Element == UInt8 {
    let bytes = Array(bytes)
    var out = ""
    var shown = 0, i = 0
    while i < bytes.count {
        guard shown < limit else {
            return out + "… (\(bytes.count - i) more bytes)"
        }
        let lead = bytes[i]
        let length = lead < 0x80 ? 1 : lead >> 5 == 0b110 ? 2 : lead >> 4 == 0b1110 ? 3 : lead >> 3 == 0b11110 ? 4 : 0
        if length > 0, i + length <= bytes.count, let s = String(validating: bytes[i..<(i + length)], as: UTF8.self) {
            for scalar in s.unicodeScalars { out += escaped(scalar) }
            i += length
        } else {
            out += String(format: "\\x%02X", lead)
            i += 1
        }
        shown += 1
    }
    return out
}

private func escaped(_ scalar: Unicode.Scalar) -> String {
    switch scalar.value {
    case 0x0A: return "\\n"
    case 0x0D: return "\\r"
    case 0x09: return "\\t"
    case 0x00..<0x20, 0x7F..<0xA0, 0xFFFD, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069:
        return "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
    default: return String(scalar)
    }
}

/// A shape for an error message, its axes cut after `limit`.
func shapeText(_ shape: [Int], limit: Int = 8) -> String {
    shape.count <= limit ? formatShape(shape) : "(" + shape.prefix(limit).map(String.init).joined(separator: ", ") + ", … \(shape.count) axes)"
}
