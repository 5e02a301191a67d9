import Foundation

/// The comparison the course draws between a convolution and a dense layer, as an SVG picture:
/// an `inputSize × inputSize` grid of inputs wired through a sliding `kernelSize × kernelSize`
/// window (stride 1, `valid`) to its grid of activations, beside a dense layer with as many
/// outputs that wires every input to every output.
///
/// Every connection is one `<line>`: class `conv-link` on the left (outputs × kernel² of them),
/// `dense-link` on the right (inputs × outputs). Two windows and their activations are coloured
/// to show the window sliding while its weights stay the same.
public struct ConnectivityDiagram: Sendable {
    public let inputSize: Int
    public let kernelSize: Int
    /// `inputSize − kernelSize + 1`: the activations per row and column.
    public var outputSize: Int { inputSize - kernelSize + 1 }

    /// Throws ``FoveaError`` unless `1 ≤ kernelSize ≤ inputSize ≤ 32` (larger grids are unreadable).
    public init(inputSize: Int = 6, kernelSize: Int = 3) throws {
        guard kernelSize >= 1, inputSize >= kernelSize, inputSize <= 32 else {
            throw FoveaError("a connectivity diagram needs 1 ≤ kernel size ≤ input size ≤ 32 (got input \(inputSize), kernel \(kernelSize))")
        }
        self.inputSize = inputSize
        self.kernelSize = kernelSize
    }

    /// The picture as a standalone SVG document.
    public var svg: String {
        let n = inputSize, k = kernelSize, m = outputSize
        let cell = 26.0, spread = 170.0, margin = 40.0, top = 96.0
        let gridIn = Double(n) * cell, gridOut = Double(m) * cell
        let panelWidth = margin * 2 + gridIn + spread + gridOut
        let width = panelWidth * 2 + 20, height = top + gridIn + 116
        let orange = "#e6550d", blue = "#3182bd"
        // The highlighted windows: the first, and one further along (when there is room to slide).
        let highlights: [(row: Int, column: Int, color: String)] =
            m > 1 ? [(0, 0, orange), (m / 2, m - 1, blue)] : [(0, 0, orange)]
        func highlight(_ r: Int, _ c: Int) -> String? { highlights.first { $0.row == r && $0.column == c }?.color }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }

        var lines: [String] = []
        var overlay: [String] = []
        var cells: [String] = []
        var labels: [String] = []
        for panel in 0..<2 {
            let left = Double(panel) * (panelWidth + 20) + margin
            let outLeft = left + gridIn + spread, outTop = top + (gridIn - gridOut) / 2
            func inCentre(_ r: Int, _ c: Int) -> (Double, Double) { (left + (Double(c) + 0.5) * cell, top + (Double(r) + 0.5) * cell) }
            func outCentre(_ r: Int, _ c: Int) -> (Double, Double) { (outLeft + (Double(c) + 0.5) * cell, outTop + (Double(r) + 0.5) * cell) }
            func link(_ from: (Double, Double), _ to: (Double, Double), _ kind: String, _ color: String?) {
                if let color {
                    overlay.append("<line class=\"\(kind)\" x1=\"\(f(from.0))\" y1=\"\(f(from.1))\" x2=\"\(f(to.0))\" y2=\"\(f(to.1))\" stroke=\"\(color)\" stroke-width=\"1.4\"/>")
                } else {
                    lines.append("<line class=\"\(kind)\" x1=\"\(f(from.0))\" y1=\"\(f(from.1))\" x2=\"\(f(to.0))\" y2=\"\(f(to.1))\"/>")
                }
            }
            var inputColor: [Int: String] = [:]
            for r in 0..<m {
                for c in 0..<m {
                    let color = highlight(r, c)
                    if panel == 0 {
                        for u in 0..<k { for v in 0..<k {
                            link(inCentre(r + u, c + v), outCentre(r, c), "conv-link", color)
                            if let color { inputColor[(r + u) * n + c + v] = color }
                        } }
                    } else {
                        // Only the first output is coloured on the dense side: one is enough to
                        // show that it sees every input.
                        let shown = r == 0 && c == 0 ? color : nil
                        for i in 0..<n { for j in 0..<n { link(inCentre(i, j), outCentre(r, c), "dense-link", shown) } }
                    }
                }
            }
            for r in 0..<n {
                for c in 0..<n {
                    let color = panel == 0 ? inputColor[r * n + c] : nil
                    cells.append("<rect x=\"\(f(left + Double(c) * cell))\" y=\"\(f(top + Double(r) * cell))\" width=\"\(f(cell))\" height=\"\(f(cell))\""
                                 + (color.map { " fill=\"\($0)\" fill-opacity=\"0.45\"" } ?? "") + "/>")
                }
            }
            for r in 0..<m {
                for c in 0..<m {
                    let color = panel == 0 ? highlight(r, c) : (r == 0 && c == 0 ? orange : nil)
                    cells.append("<rect x=\"\(f(outLeft + Double(c) * cell))\" y=\"\(f(outTop + Double(r) * cell))\" width=\"\(f(cell))\" height=\"\(f(cell))\""
                                 + (color.map { " fill=\"\($0)\" fill-opacity=\"0.75\"" } ?? "") + "/>")
                }
            }
            let centre = left + (gridIn + spread + gridOut) / 2
            let connections = panel == 0 ? m * m * k * k : n * n * m * m
            if panel == 0 {
                labels.append(text(centre, 34, "Convolution: a sliding \(k)×\(k) window", size: 19, bold: true))
                labels.append(text(centre, 58, "each activation sees \(k * k) neighbouring inputs", size: 14))
            } else {
                labels.append(text(centre, 34, "Dense: every input to every output", size: 19, bold: true))
                labels.append(text(centre, 58, "each output sees all \(n * n) inputs", size: 14))
            }
            labels.append(text(left + gridIn / 2, top + gridIn + 24, "input \(n)×\(n) = \(n * n) pixels", size: 14))
            labels.append(text(outLeft + gridOut / 2, outTop + gridOut + 24,
                               panel == 0 ? "\(m)×\(m) = \(m * m) activations" : "\(m * m) units", size: 14))
            let weights = panel == 0 ? "\(k * k) shared weights + 1 bias" : "\(n * n * m * m) weights + \(m * m) biases"
            labels.append(text(centre, top + gridIn + 66, "\(connections) connections, \(weights)", size: 15, bold: true))
            labels.append(text(centre, top + gridIn + 90,
                               panel == 0 ? (m > 1 ? "orange, blue: the same \(k * k) weights at two positions of the window" : "orange: the window and its activation")
                                          : "orange: one output and its \(n * n) weights", size: 13))
        }
        return """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(height))" viewBox="0 0 \(f(width)) \(f(height))">
        <rect width="100%" height="100%" fill="white"/>
        <line x1="\(f(panelWidth + 10))" y1="20" x2="\(f(panelWidth + 10))" y2="\(f(height - 20))" stroke="#bbb" stroke-dasharray="4 4"/>
        <g stroke="#777" stroke-width="0.6" stroke-opacity="0.45">
        \(lines.joined(separator: "\n"))
        </g>
        <g stroke="#333" stroke-width="1" fill="white" fill-opacity="0.8">
        \(cells.joined(separator: "\n"))
        </g>
        <g stroke-opacity="0.9">
        \(overlay.joined(separator: "\n"))
        </g>
        <g font-family="DejaVu Sans, Helvetica, Arial, sans-serif" fill="#222" text-anchor="middle">
        \(labels.joined(separator: "\n"))
        </g>
        </svg>

        """
    }

    private func text(_ x: Double, _ y: Double, _ content: String, size: Int, bold: Bool = false) -> String {
        "<text x=\"\(String(format: "%.1f", x))\" y=\"\(String(format: "%.1f", y))\" font-size=\"\(size)\""
            + (bold ? " font-weight=\"bold\"" : "") + ">\(content)</text>"
    }
}
