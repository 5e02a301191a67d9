import Foundation

/// A file path with Python `str.format` placeholders, as Keras's `ModelCheckpoint` takes them:
/// `weights.{epoch:02d}-{val_loss:.2f}.safetensors`. A placeholder is a name and an optional spec
/// `[0][width][.precision][type]` with type `d`, `f`, `e`, `E`, `g`, `%` or `s`; `{{` and `}}` are
/// literal braces. Integers (epoch, batch) and floats (log values) format as Python formats them.
public struct PathTemplate: Sendable, Equatable {
    /// A template value: a count (`epoch`, `batch`) or a metric.
    public enum Value: Sendable, Equatable {
        case int(Int)
        case float(Float)
    }

    enum Piece: Sendable, Equatable {
        case literal(String)
        case field(name: String, zeroPad: Bool, width: Int?, precision: Int?, type: Character?)
    }

    public let template: String
    let pieces: [Piece]

    /// Parses `template`; an unbalanced brace or a spec Fovea does not format is an error.
    public init(_ template: String) throws {
        self.template = template
        func fail(_ why: String) -> FoveaError { FoveaError("path template \"\(template)\": \(why)") }
        var pieces: [Piece] = []
        var literal = ""
        var i = template.startIndex
        while i < template.endIndex {
            let c = template[i]
            let next = template.index(after: i)
            if c == "}" {
                guard next < template.endIndex, template[next] == "}" else { throw fail("single '}' (write '}}' for a brace)") }
                literal.append("}"); i = template.index(after: next); continue
            }
            guard c == "{" else { literal.append(c); i = next; continue }
            if next < template.endIndex, template[next] == "{" { literal.append("{"); i = template.index(after: next); continue }
            guard let close = template[next...].firstIndex(of: "}") else { throw fail("'{' without a closing '}'") }
            let body = template[next..<close]
            let parts = body.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            guard !name.isEmpty, !name.contains("{") else { throw fail("empty or nested placeholder '{\(body)}'") }
            var spec = parts.count > 1 ? Substring(parts[1]) : ""
            var type: Character?
            if let last = spec.last, "dfeEgs%".contains(last) { type = last; spec = spec.dropLast() }
            var precision: Int?
            if let dot = spec.firstIndex(of: ".") {
                guard let p = Int(spec[spec.index(after: dot)...]), p >= 0 else { throw fail("bad precision in '{\(body)}'") }
                precision = p; spec = spec[..<dot]
            }
            let zeroPad = spec.first == "0" && spec.count > 1 || spec == "0"
            if zeroPad { spec = spec.dropFirst() }
            var width: Int?
            if !spec.isEmpty {
                guard let w = Int(spec), w >= 0 else { throw fail("unsupported format spec in '{\(body)}'; Fovea formats [0][width][.precision][d|f|e|E|g|%|s]") }
                width = w
            }
            if type == "d" && precision != nil { throw fail("precision not allowed with 'd' in '{\(body)}'") }
            if !literal.isEmpty { pieces.append(.literal(literal)); literal = "" }
            pieces.append(.field(name: name, zeroPad: zeroPad, width: width, precision: precision, type: type))
            i = template.index(after: close)
        }
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        self.pieces = pieces
    }

    /// The placeholder names, in order.
    public var names: [String] {
        pieces.compactMap { if case .field(let name, _, _, _, _) = $0 { return name } else { return nil } }
    }

    /// Fills the placeholders. A name without a value is Keras's error: `Failed to format this
    /// callback filepath: "…". Reason: 'val_loss'`.
    public func format(_ values: [String: Value]) throws -> String {
        var out = ""
        for piece in pieces {
            switch piece {
            case .literal(let text): out += text
            case .field(let name, let zeroPad, let width, let precision, let type):
                guard let value = values[name] else {
                    throw FoveaError("Failed to format this callback filepath: \"\(template)\". Reason: '\(name)'")
                }
                out += try Self.formatValue(value, zeroPad: zeroPad, width: width, precision: precision, type: type, name: name)
            }
        }
        return out
    }

    static func formatValue(_ value: Value, zeroPad: Bool, width: Int?, precision: Int?, type: Character?, name: String) throws -> String {
        var text: String
        let isNumber: Bool
        switch (value, type) {
        case (.int(let n), nil), (.int(let n), "d"), (.int(let n), "s"):
            text = String(n); isNumber = type != "s"
        case (.float, "d"):
            throw FoveaError("placeholder '{\(name)}': format 'd' needs an integer, and \(name) is a float")
        case (.int(let n), let t?):
            return try formatValue(.float(Float(n)), zeroPad: zeroPad, width: width, precision: precision, type: t, name: name)
        case (.float(let f), let t):
            let x = Double(f)
            isNumber = t != "s"
            switch t {
            case "f"?: text = String(format: "%.\(precision ?? 6)f", x)
            case "e"?: text = String(format: "%.\(precision ?? 6)e", x)
            case "E"?: text = String(format: "%.\(precision ?? 6)E", x)
            case "g"?: text = String(format: "%.\(Swift.max(precision ?? 6, 1))g", x)
            case "%"?: text = String(format: "%.\(precision ?? 6)f%%", x * 100)
            default:
                // Python's str(float): the shortest repr of the double (Keras's logs are doubles).
                text = "\(x)"
                if let precision, t == "s" { text = String(text.prefix(precision)) }
            }
        }
        guard let width, text.count < width else { return text }
        let pad = width - text.count
        if zeroPad && isNumber {
            let negative = text.hasPrefix("-")
            return (negative ? "-" : "") + String(repeating: "0", count: pad) + (negative ? String(text.dropFirst()) : text)
        }
        // Python right-aligns numbers and left-aligns strings by default.
        return isNumber ? String(repeating: " ", count: pad) + text : text + String(repeating: " ", count: pad)
    }
}
