import Foundation

extension Sequential {
    /// Keras's summary table: each layer's name and type, output shape and parameter count, then
    /// the totals with their size in memory.
    public func summary() -> String {
        var rows: [(String, String, String)] = []
        var shape = inputShape
        for layer in layers where !(layer is Input) {
            if let s = shape { shape = try? layer.outputShape(for: s) }
            rows.append(("\(layer.name) (\(layer.typeName))", shape.map(formatShape) ?? "?",
                         layer.isBuilt ? groupedThousands(layer.parameterCount) : "0 (unbuilt)"))
        }
        // Keras's column widths for Sequential models (line length 88, rich padding).
        let widths = [
            Swift.max(31, rows.map(\.0.count).max() ?? 0),
            Swift.max(22, rows.map(\.1.count).max() ?? 0),
            Swift.max(13, rows.map(\.2.count).max() ?? 0),
        ]
        func line(_ left: String, _ mid: String, _ right: String, _ fill: String) -> String {
            left + widths.map { String(repeating: fill, count: $0 + 2) }.joined(separator: mid) + right
        }
        func pad(_ s: String, _ w: Int, right: Bool = false) -> String {
            let space = String(repeating: " ", count: Swift.max(0, w - s.count))
            return right ? space + s : s + space
        }
        var out = ["Model: \"\(name)\"", line("┏", "┳", "┓", "━"),
                   "┃ " + pad("Layer (type)", widths[0]) + " ┃ " + pad("Output Shape", widths[1]) + " ┃ " + pad("Param #", widths[2], right: true) + " ┃",
                   line("┡", "╇", "┩", "━")]
        for (i, row) in rows.enumerated() {
            out.append("│ " + pad(row.0, widths[0]) + " │ " + pad(row.1, widths[1]) + " │ " + pad(row.2, widths[2], right: true) + " │")
            out.append(i == rows.count - 1 ? line("└", "┴", "┘", "─") : line("├", "┼", "┤", "─"))
        }
        if rows.isEmpty { out.append(line("└", "┴", "┘", "─")) }
        let total = parameterCount, trainable = trainableParameterCount
        out.append(" Total params: \(groupedThousands(total)) (\(memorySize(total * 4)))")
        out.append(" Trainable params: \(groupedThousands(trainable)) (\(memorySize(trainable * 4)))")
        out.append(" Non-trainable params: \(groupedThousands(total - trainable)) (\(memorySize((total - trainable) * 4)))")
        return out.joined(separator: "\n")
    }
}

/// `93322` → `93,322`.
public func groupedThousands(_ n: Int) -> String {
    let digits = String(Swift.abs(n))
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return (n < 0 ? "-" : "") + out
}

/// Keras's readable memory size: `364.54 KB` (1024-based units).
func memorySize(_ bytes: Int) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"]
    var size = Double(bytes), i = 0
    while size >= 1024 && i < units.count - 1 { size /= 1024; i += 1 }
    return String(format: "%.2f %@", size, units[i])
}
