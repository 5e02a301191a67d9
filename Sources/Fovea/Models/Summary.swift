import Foundation

extension Model {
    /// Keras's summary table as `model.summary()` prints it without a terminal (80 columns): each
    /// layer's name and type, output shape and parameter count — and, for a model that is not a plain
    /// chain, the "Connected to" column — then the totals with their size in memory. A nested model is
    /// one row. `lineLength` is Keras's `line_length` (default: Keras's 88 or 108, capped at 76 as for
    /// an 80-column terminal).
    public func summary(lineLength: Int? = nil) -> String {
        let chainLike = isChainLike
        let header = chainLike ? ["Layer (type)", "Output Shape", "Param #"] : ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        let positions = chainLike ? [0.45, 0.80, 1.0] : [0.3, 0.56, 0.74, 1.0]
        let length = lineLength ?? Swift.min(chainLike ? 88 : 108, 76)
        let rightAligned = [false, false, true, false]

        var rows: [[String]] = []
        for layer in layers {
            var row = ["\(layer.name) (\(layer.typeName))", outputShapeText(of: layer),
                       layer.isBuilt ? groupedThousands(layer.parameterCount) : "0 (unbuilt)"]
            if !chainLike { row.append(connections(of: layer)) }
            rows.append(row)
        }
        let widths = SummaryTable.columnWidths(positions: positions, lineLength: length)
        var out = ["Model: \"\(name)\""]
        out += SummaryTable.render(header: header, rows: rows, widths: widths, rightAligned: Array(rightAligned.prefix(header.count)))
        // Keras counts each variable once; a frozen layer's weights are non-trainable.
        let all = variables
        let trainable = all.filter(\.trainable).reduce(0) { $0 + $1.value.count }
        let total = all.reduce(0) { $0 + $1.value.count }
        out.append(" Total params: \(groupedThousands(total)) (\(memorySize(total * 4)))")
        out.append(" Trainable params: \(groupedThousands(trainable)) (\(memorySize(trainable * 4)))")
        out.append(" Non-trainable params: \(groupedThousands(total - trainable)) (\(memorySize((total - trainable) * 4)))")
        return out.joined(separator: "\n")
    }

    /// Keras prints a functional model like a Sequential when its graph is one path: every depth
    /// holds one node of one input, and no layer is called twice.
    var isChainLike: Bool {
        guard !(self is Sequential), let graph else { return true }
        for (i, node) in graph.nodes.enumerated() where i > 0 {
            guard node.inputs.count == 1, node.inputs[0].node === graph.nodes[i - 1] else { return false }
        }
        return true
    }

    func outputShapeText(of layer: Layer) -> String {
        guard let node = graph?.nodes(of: layer).last else { return "?" }
        let shapes = node.outputShapes.map(formatShape)
        return shapes.count == 1 ? shapes[0] : "[" + shapes.joined(separator: ", ") + "]"
    }

    func connections(of layer: Layer) -> String {
        guard let graph else { return "-" }
        let parts = graph.nodes(of: layer).flatMap { node in
            node.inputs.map { "\($0.layer.name)[\($0.node.indexInLayer)][\($0.index)]" }
        }
        return parts.isEmpty ? "-" : parts.joined(separator: ", ")
    }
}

/// The table `rich` draws for Keras's summary: column widths from Keras's positions, shrunk to fit
/// the borders as rich shrinks them; cells wrapped at spaces, a word too long for its column cut
/// with "…"; a rule between rows.
enum SummaryTable {
    /// Each column's width including its one-space padding on both sides.
    static func columnWidths(positions: [Double], lineLength: Int) -> [Int] {
        var widths: [Int] = []
        var current = 0
        for p in positions {
            let w = (p * Double(lineLength)).clampedInt(0...Swift.max(0, lineLength)) - current
            widths.append(w)
            current += w
        }
        // rich's ratio_reduce: the excess over the room inside the borders, taken evenly (rounded
        // half to even, as Python rounds) from left to right.
        let room = lineLength - (widths.count + 1)
        var excess = widths.reduce(0, +) - room
        var remainingColumns = widths.count
        if excess > 0 {
            for i in widths.indices {
                let share = (Double(excess) / Double(remainingColumns)).rounded(.toNearestOrEven)
                let take = Swift.min(widths[i], share.clampedInt(0...excess))
                widths[i] -= take
                excess -= take
                remainingColumns -= 1
            }
        }
        return widths
    }

    static func render(header: [String], rows: [[String]], widths: [Int], rightAligned: [Bool]) -> [String] {
        let content = widths.map { $0 - 2 }
        func rule(_ left: String, _ mid: String, _ right: String, _ fill: String) -> String {
            left + widths.map { String(repeating: fill, count: $0) }.joined(separator: mid) + right
        }
        func lines(_ cells: [String], _ edge: String) -> [String] {
            let wrapped = cells.enumerated().map { wrap($0.element, width: content[$0.offset]) }
            let height = wrapped.map(\.count).max() ?? 1
            return (0..<height).map { line in
                let parts = wrapped.enumerated().map { i, cellLines -> String in
                    let text = line < cellLines.count ? cellLines[line] : ""
                    let space = String(repeating: " ", count: Swift.max(0, content[i] - text.count))
                    return rightAligned[i] ? space + text : text + space
                }
                return edge + " " + parts.joined(separator: " \(edge) ") + " " + edge
            }
        }
        var out = [rule("┏", "┳", "┓", "━")]
        out += lines(header, "┃")
        out.append(rule("┡", "╇", "┩", "━"))
        for (i, row) in rows.enumerated() {
            out += lines(row, "│")
            out.append(i == rows.count - 1 ? rule("└", "┴", "┘", "─") : rule("├", "┼", "┤", "─"))
        }
        if rows.isEmpty { out.append(rule("└", "┴", "┘", "─")) }
        return out
    }

    /// rich's word wrap with "ellipsis" overflow: words (split at spaces) fill each line greedily; a word
    /// longer than the line gets a line of its own, cut to `width − 1` characters and "…".
    static func wrap(_ text: String, width: Int) -> [String] {
        guard width > 0 else { return [""] }
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: true).map(String.init) {
            if current.isEmpty {
                current = word
            } else if current.count + 1 + word.count <= width {
                current += " " + word
            } else {
                lines.append(current)
                current = word
            }
        }
        lines.append(current)
        return lines.map { $0.count > width ? String($0.prefix(width - 1)) + "…" : $0 }
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
