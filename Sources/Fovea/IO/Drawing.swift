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
        var canvas = RasterCanvas(width: Swift.max(1, Int((width * scale).rounded())), height: Swift.max(1, Int((height * scale).rounded())))
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
                canvas.text(s, x: x * scale, baseline: y * scale, pixelsPerDot: Swift.max(1, Int((size * scale / 10).rounded())),
                            anchor: anchor, color: color)
            }
        }
        // Whole 8-bit values: the image is what a PNG of it holds.
        return Image(unchecked: canvas.width, canvas.height, 3, canvas.pixels.map { Swift.min(255, Swift.max(0, $0.rounded())) })
    }
}

/// An RGB raster that blends coverage into its pixels.
struct RasterCanvas {
    let width: Int, height: Int
    var pixels: [Float]

    init(width: Int, height: Int) {
        self.width = width; self.height = height
        pixels = [Float](repeating: 255, count: width * height * 3)
    }

    mutating func blend(_ x: Int, _ y: Int, _ color: Drawing.Color, _ coverage: Double) {
        guard x >= 0, y >= 0, x < width, y < height, coverage > 0 else { return }
        let a = Float(Swift.min(1, coverage)), i = (y * width + x) * 3
        pixels[i] += (Float(color.r) - pixels[i]) * a
        pixels[i + 1] += (Float(color.g) - pixels[i + 1]) * a
        pixels[i + 2] += (Float(color.b) - pixels[i + 2]) * a
    }

    /// Strokes a polyline: each pixel takes the coverage of its nearest point on the line (one
    /// blend per pixel, so joints are not drawn twice); with `dash`, dashes of that length and
    /// gaps of 0.6 of it, measured along the line.
    mutating func polyline(_ points: [(Double, Double)], color: Drawing.Color, width w: Double, dash: Double?) {
        guard points.count >= 2 else { return }
        let half = w / 2
        var coverage: [Int: Double] = [:]
        var travelled = 0.0
        for (p, q) in zip(points, points.dropFirst()) {
            let (dx, dy) = (q.0 - p.0, q.1 - p.1)
            let length = (dx * dx + dy * dy).squareRoot()
            let x0 = Int((Swift.min(p.0, q.0) - half - 1).rounded(.down)), x1 = Int((Swift.max(p.0, q.0) + half + 1).rounded(.up))
            let y0 = Int((Swift.min(p.1, q.1) - half - 1).rounded(.down)), y1 = Int((Swift.max(p.1, q.1) + half + 1).rounded(.up))
            for y in Swift.max(0, y0)...Swift.max(0, Swift.min(height - 1, y1)) {
                for x in Swift.max(0, x0)...Swift.max(0, Swift.min(width - 1, x1)) {
                    let (cx, cy) = (Double(x) + 0.5, Double(y) + 0.5)
                    let t = length > 0 ? Swift.max(0, Swift.min(1, ((cx - p.0) * dx + (cy - p.1) * dy) / (length * length))) : 0
                    if let dash, (travelled + t * length).truncatingRemainder(dividingBy: dash * 1.6) > dash { continue }
                    let (ex, ey) = (cx - p.0 - t * dx, cy - p.1 - t * dy)
                    let c = Swift.min(1, half + 0.5 - (ex * ex + ey * ey).squareRoot())
                    if c > 0 { coverage[y * width + x] = Swift.max(coverage[y * width + x] ?? 0, c) }
                }
            }
            travelled += length
        }
        for (index, c) in coverage { blend(index % width, index / width, color, c) }
    }

    mutating func dot(_ x: Double, _ y: Double, radius r: Double, color: Drawing.Color) {
        for py in Int((y - r - 1).rounded(.down))...Int((y + r + 1).rounded(.up)) {
            for px in Int((x - r - 1).rounded(.down))...Int((x + r + 1).rounded(.up)) {
                let (dx, dy) = (Double(px) + 0.5 - x, Double(py) + 0.5 - y)
                blend(px, py, color, r + 0.5 - (dx * dx + dy * dy).squareRoot())
            }
        }
    }

    mutating func fill(_ x: Double, _ y: Double, _ w: Double, _ h: Double, color: Drawing.Color) {
        for py in Int(y.rounded())..<Int((y + h).rounded()) {
            for px in Int(x.rounded())..<Int((x + w).rounded()) { blend(px, py, color, 1) }
        }
    }

    /// Draws text in the 5×7 font, each font dot `pixelsPerDot` pixels square, six dots per character.
    mutating func text(_ s: String, x: Double, baseline: Double, pixelsPerDot k: Int, anchor: Drawing.Anchor, color: Drawing.Color) {
        let advance = 6 * k
        let total = s.count * advance - k
        var left = Int(x.rounded())
        switch anchor {
        case .start: break
        case .middle: left -= total / 2
        case .end: left -= total
        }
        let top = Int(baseline.rounded()) - 7 * k
        for (i, ch) in s.enumerated() {
            let rows = BitmapFont.glyph(ch)
            for (row, bits) in rows.enumerated() {
                for column in 0..<5 where bits & (0x10 >> column) != 0 {
                    for dy in 0..<k { for dx in 0..<k { blend(left + i * advance + column * k + dx, top + row * k + dy, color, 1) } }
                }
            }
        }
    }
}

/// A 5×7 pixel font drawn for Fovea: each glyph is seven rows above the baseline, the top first,
/// bit 4 the leftmost dot, and g, j, p, q, y an eighth row below it. Characters it lacks draw as
/// a hollow box.
enum BitmapFont {
    static func glyph(_ c: Character) -> [UInt8] { glyphs[c] ?? [0x1F, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1F] }

    static let glyphs: [Character: [UInt8]] = [
        " ": [0, 0, 0, 0, 0, 0, 0],
        "0": [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E], "1": [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        "2": [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F], "3": [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        "4": [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02], "5": [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        "6": [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E], "7": [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        "8": [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E], "9": [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        "A": [0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11], "B": [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        "C": [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E], "D": [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        "E": [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F], "F": [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        "G": [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F], "H": [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        "I": [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E], "J": [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        "K": [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11], "L": [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        "M": [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11], "N": [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        "O": [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E], "P": [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        "Q": [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D], "R": [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        "S": [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E], "T": [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        "U": [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E], "V": [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        "W": [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A], "X": [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        "Y": [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04], "Z": [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        "a": [0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F], "b": [0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E],
        "c": [0x00, 0x00, 0x0E, 0x10, 0x10, 0x11, 0x0E], "d": [0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F],
        "e": [0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E], "f": [0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08],
        "g": [0x00, 0x00, 0x0F, 0x11, 0x11, 0x0F, 0x01, 0x0E], "h": [0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11],
        "i": [0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E], "j": [0x02, 0x00, 0x06, 0x02, 0x02, 0x02, 0x12, 0x0C],
        "k": [0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12], "l": [0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        "m": [0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11], "n": [0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11],
        "o": [0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E], "p": [0x00, 0x00, 0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10],
        "q": [0x00, 0x00, 0x0F, 0x11, 0x11, 0x0F, 0x01, 0x01], "r": [0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10],
        "s": [0x00, 0x00, 0x0E, 0x10, 0x0E, 0x01, 0x1E], "t": [0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06],
        "u": [0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D], "v": [0x00, 0x00, 0x11, 0x11, 0x11, 0x0A, 0x04],
        "w": [0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0A], "x": [0x00, 0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11],
        "y": [0x00, 0x00, 0x11, 0x11, 0x11, 0x0F, 0x01, 0x0E], "z": [0x00, 0x00, 0x1F, 0x02, 0x04, 0x08, 0x1F],
        ".": [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C], ",": [0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08],
        "-": [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00], "_": [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F],
        "+": [0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00], ":": [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        ";": [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x04, 0x08], "=": [0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00],
        "(": [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02], ")": [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        "[": [0x0E, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0E], "]": [0x0E, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0E],
        "%": [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03], "/": [0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00],
        "'": [0x04, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00], "\"": [0x0A, 0x0A, 0x00, 0x00, 0x00, 0x00, 0x00],
        "!": [0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04], "?": [0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04],
        "*": [0x00, 0x04, 0x15, 0x0E, 0x15, 0x04, 0x00], "#": [0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A],
        "<": [0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02], ">": [0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08],
        "&": [0x0C, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0D],
    ]
}
