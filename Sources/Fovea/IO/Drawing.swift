import Foundation

/// A small vector drawing (lines, polylines, dots, rectangles, monospace text) that renders to SVG
/// text or to a raster ``Image``. Just enough for charts: coordinates in points, y downwards.
public struct Drawing: Sendable {
    /// An sRGB colour.
    public struct Color: Sendable, Equatable {
        public var r: UInt8, g: UInt8, b: UInt8
        public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }
        public static let black = Color(0, 0, 0), white = Color(255, 255, 255)
        var hex: String { String(format: "#%02x%02x%02x", r, g, b) }
    }

    /// Where a text's x coordinate lies: its start, middle or end.
    public enum Anchor: String, Sendable { case start, middle, end }

    public enum Item: Sendable {
        case polyline([(x: Double, y: Double)], color: Color, width: Double, dash: Double?)
        case dot(x: Double, y: Double, radius: Double, color: Color)
        case rect(x: Double, y: Double, width: Double, height: Double, fill: Color?, stroke: Color?)
        /// Text with its baseline at `y`; `size` is the font size in points.
        case text(String, x: Double, y: Double, size: Double, anchor: Anchor, color: Color)
    }

    public let width: Double
    public let height: Double
    public private(set) var items: [Item] = []

    public init(width: Double, height: Double) { self.width = width; self.height = height }

    public mutating func add(_ item: Item) { items.append(item) }
    public mutating func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, color: Color, width: Double = 1, dash: Double? = nil) {
        items.append(.polyline([(x0, y0), (x1, y1)], color: color, width: width, dash: dash))
    }

    /// The advance of one character: the drawing's text is monospace, 0.6 em wide (the bitmap
    /// font's 6-of-10 cells, and SVG's `monospace` family).
    public static func textWidth(_ text: String, size: Double) -> Double { Double(text.count) * 0.6 * size }

    /// The drawing as an SVG document.
    public var svg: String {
        func n(_ v: Double) -> String { String(format: "%.2f", v).replacingOccurrences(of: ".00", with: "") }
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(n(width))\" height=\"\(n(height))\" viewBox=\"0 0 \(n(width)) \(n(height))\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
        for item in items {
            switch item {
            case .polyline(let points, let color, let w, let dash):
                let pts = points.map { "\(n($0.x)),\(n($0.y))" }.joined(separator: " ")
                let dashText = dash.map { " stroke-dasharray=\"\(n($0)) \(n($0 * 0.6))\"" } ?? ""
                out += "<polyline points=\"\(pts)\" fill=\"none\" stroke=\"\(color.hex)\" stroke-width=\"\(n(w))\" stroke-linejoin=\"round\"\(dashText)/>\n"
            case .dot(let x, let y, let r, let color):
                out += "<circle cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"\(n(r))\" fill=\"\(color.hex)\"/>\n"
            case .rect(let x, let y, let w, let h, let fill, let stroke):
                out += "<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(w))\" height=\"\(n(h))\" fill=\"\(fill?.hex ?? "none")\" stroke=\"\(stroke?.hex ?? "none")\"/>\n"
            case .text(let s, let x, let y, let size, let anchor, let color):
                out += "<text x=\"\(n(x))\" y=\"\(n(y))\" font-family=\"monospace\" font-size=\"\(n(size))\" text-anchor=\"\(anchor.rawValue)\" fill=\"\(color.hex)\">\(escape(s))</text>\n"
            }
        }
        return out + "</svg>\n"
    }

    /// The drawing rasterised at `scale` pixels per point: anti-aliased lines and dots, text in a
    /// 5×7 bitmap font scaled to the nearest whole number of pixels; RGB, whole values 0...255.
    public func image(scale: Double = 2) -> Image {
        var canvas = RasterCanvas(width: (width * scale).clampedInt(1...RasterCanvas.maxSide, rounding: .toNearestOrAwayFromZero),
                                  height: (height * scale).clampedInt(1...RasterCanvas.maxSide, rounding: .toNearestOrAwayFromZero))
        for item in items {
            switch item {
            case .polyline(let points, let color, let w, let dash):
                canvas.polyline(points.map { ($0.x * scale, $0.y * scale) }, color: color, width: w * scale, dash: dash.map { $0 * scale })
            case .dot(let x, let y, let r, let color):
                canvas.dot(x * scale, y * scale, radius: r * scale, color: color)
            case .rect(let x, let y, let w, let h, let fill, let stroke):
                if let fill { canvas.fill(x * scale, y * scale, w * scale, h * scale, color: fill) }
                if let stroke {
                    let (x0, y0, x1, y1) = (x * scale, y * scale, (x + w) * scale, (y + h) * scale)
                    canvas.polyline([(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)], color: stroke, width: scale, dash: nil)
                }
            case .text(let s, let x, let y, let size, let anchor, let color):
                canvas.text(s, x: x * scale, baseline: y * scale, pixelsPerDot: (size * scale / 10).clampedInt(1...64, rounding: .toNearestOrAwayFromZero),
                            anchor: anchor, color: color)
            }
        }
        // Whole 8-bit values: the image is what a PNG of it holds.
        return Image(unchecked: canvas.width, canvas.height, 3, canvas.pixels.map { Swift.min(255, Swift.max(0, $0.rounded())) })
    }
}
