import Foundation

/// The one raster canvas Fovea draws on: charts (``Drawing/image(scale:)``), contact sheets and
/// feature-map grids (``Image/contactSheet(_:captions:columns:scale:gap:)``), digit centring. Gray
/// (one channel) or RGB, samples 0...255, anti-aliased lines and dots blended by coverage, pasted
/// images, and text in the one font, ``BitmapFont``.
///
/// Every coordinate may be anything a computation produced: NaN or infinite coordinates draw
/// nothing, and shapes partly or wholly outside the canvas are clipped, never trapping.
struct RasterCanvas {
    /// The longest side a canvas is made with (larger requests are clamped).
    static let maxSide = 1 << 15
    let width: Int, height: Int, channels: Int
    var pixels: [Float]

    init(width: Int, height: Int, channels: Int = 3, fill: Float = 255) {
        precondition(channels == 1 || channels == 3, "RasterCanvas: 1 or 3 channels")
        self.width = Swift.max(0, width); self.height = Swift.max(0, height); self.channels = channels
        pixels = [Float](repeating: fill, count: self.width * self.height * channels)
    }

    var image: Image { Image(unchecked: width, height, channels, pixels) }

    /// A pixel coordinate from a drawing coordinate: clamped far outside the canvas (but never so far
    /// that adding a glyph's offset overflows), NaN to -1 (off the canvas).
    static func pixel(_ v: Double, _ rule: FloatingPointRoundingRule) -> Int {
        v.clampedInt(-(1 << 40)...(1 << 40), rounding: rule, nan: -1)
    }

    /// Blends `color` into pixel `(x, y)` by `coverage` (0...1); outside the canvas, nothing.
    mutating func blend(_ x: Int, _ y: Int, _ color: Drawing.Color, _ coverage: Double) {
        guard x >= 0, y >= 0, x < width, y < height, coverage > 0 else { return }
        let a = Float(Swift.min(1, coverage)), i = (y * width + x) * channels
        if channels == 1 {
            // Rec. 601 luma, as Image's gray conversion.
            let gray = 0.299 * Float(color.r) + 0.587 * Float(color.g) + 0.114 * Float(color.b)
            pixels[i] += (gray - pixels[i]) * a
            return
        }
        pixels[i] += (Float(color.r) - pixels[i]) * a
        pixels[i + 1] += (Float(color.g) - pixels[i + 1]) * a
        pixels[i + 2] += (Float(color.b) - pixels[i + 2]) * a
    }

    /// The pixel rows (or columns) `low...high` clipped to `0..<size`, nil when none are left.
    static func clip(_ low: Int, _ high: Int, _ size: Int) -> ClosedRange<Int>? {
        let a = Swift.max(0, low), b = Swift.min(size - 1, high)
        return a <= b ? a...b : nil
    }

    /// Pastes `image` (same channel count) with its top-left corner at `(x, y)`, clipped to the canvas.
    mutating func draw(_ image: Image, x: Int, y: Int) {
        precondition(image.channels == channels, "RasterCanvas.draw: \(image.channels) channels into a \(channels)-channel canvas")
        for row in 0..<image.height where (0..<height).contains(y + row) {
            for column in 0..<image.width where (0..<width).contains(x + column) {
                let source = (row * image.width + column) * channels
                let target = ((y + row) * width + x + column) * channels
                for k in 0..<channels { pixels[target + k] = image.pixels[source + k] }
            }
        }
    }

    /// Strokes a polyline: each pixel takes the coverage of its nearest point on the line (one
    /// blend per pixel, so joints are not drawn twice); with `dash`, dashes of that length and
    /// gaps of 0.6 of it, measured along the line. A segment with a non-finite end is skipped.
    mutating func polyline(_ points: [(Double, Double)], color: Drawing.Color, width w: Double, dash: Double?) {
        guard points.count >= 2, w.isFinite, w > 0 else { return }
        let half = w / 2
        var coverage: [Int: Double] = [:]
        var travelled = 0.0
        for (p, q) in zip(points, points.dropFirst()) {
            guard p.0.isFinite, p.1.isFinite, q.0.isFinite, q.1.isFinite else { continue }
            let (dx, dy) = (q.0 - p.0, q.1 - p.1)
            let length = (dx * dx + dy * dy).squareRoot()
            defer { if length.isFinite { travelled += length } }
            guard let rows = Self.clip(Self.pixel(Swift.min(p.1, q.1) - half - 1, .down), Self.pixel(Swift.max(p.1, q.1) + half + 1, .up), height),
                  let columns = Self.clip(Self.pixel(Swift.min(p.0, q.0) - half - 1, .down), Self.pixel(Swift.max(p.0, q.0) + half + 1, .up), width)
            else { continue }
            for y in rows {
                for x in columns {
                    let (cx, cy) = (Double(x) + 0.5, Double(y) + 0.5)
                    let t = length > 0 ? Swift.max(0, Swift.min(1, ((cx - p.0) * dx + (cy - p.1) * dy) / (length * length))) : 0
                    if let dash, dash > 0, (travelled + t * length).truncatingRemainder(dividingBy: dash * 1.6) > dash { continue }
                    let (ex, ey) = (cx - p.0 - t * dx, cy - p.1 - t * dy)
                    let c = Swift.min(1, half + 0.5 - (ex * ex + ey * ey).squareRoot())
                    if c > 0 { coverage[y * width + x] = Swift.max(coverage[y * width + x] ?? 0, c) }
                }
            }
        }
        for (index, c) in coverage { blend(index % width, index / width, color, c) }
    }

    mutating func dot(_ x: Double, _ y: Double, radius r: Double, color: Drawing.Color) {
        guard x.isFinite, y.isFinite, r.isFinite, r > 0,
              let rows = Self.clip(Self.pixel(y - r - 1, .down), Self.pixel(y + r + 1, .up), height),
              let columns = Self.clip(Self.pixel(x - r - 1, .down), Self.pixel(x + r + 1, .up), width) else { return }
        for py in rows {
            for px in columns {
                let (dx, dy) = (Double(px) + 0.5 - x, Double(py) + 0.5 - y)
                blend(px, py, color, r + 0.5 - (dx * dx + dy * dy).squareRoot())
            }
        }
    }

    mutating func fill(_ x: Double, _ y: Double, _ w: Double, _ h: Double, color: Drawing.Color) {
        guard x.isFinite, y.isFinite, w.isFinite, h.isFinite,
              let rows = Self.clip(Self.pixel(y, .toNearestOrAwayFromZero), Self.pixel(y + h, .toNearestOrAwayFromZero) - 1, height),
              let columns = Self.clip(Self.pixel(x, .toNearestOrAwayFromZero), Self.pixel(x + w, .toNearestOrAwayFromZero) - 1, width) else { return }
        for py in rows { for px in columns { blend(px, py, color, 1) } }
    }

    /// Draws text in ``BitmapFont``, each font dot `pixelsPerDot` pixels square, six dots per
    /// character, its baseline at `baseline`.
    mutating func text(_ s: String, x: Double, baseline: Double, pixelsPerDot k: Int, anchor: Drawing.Anchor, color: Drawing.Color) {
        guard x.isFinite, baseline.isFinite, k >= 1, k <= 1024 else { return }
        let advance = 6 * k
        let total = s.count * advance - k
        var left = Self.pixel(x, .toNearestOrAwayFromZero)
        switch anchor {
        case .start: break
        case .middle: left -= total / 2
        case .end: left -= total
        }
        let top = Self.pixel(baseline, .toNearestOrAwayFromZero) - 7 * k
        for (i, ch) in s.enumerated() {
            let x0 = left + i * advance
            if x0 >= width { break }
            if x0 + advance <= 0 { continue }
            for (row, bits) in BitmapFont.glyph(ch).enumerated() {
                for column in 0..<5 where bits & (0x10 >> column) != 0 {
                    for dy in 0..<k { for dx in 0..<k { blend(x0 + column * k + dx, top + row * k + dy, color, 1) } }
                }
            }
        }
    }

    /// Draws `text` in black with its top-left corner at `(x, y)` (captions).
    mutating func write(_ text: String, x: Int, y: Int, scale: Int) {
        self.text(text, x: Double(x), baseline: Double(y + 7 * scale), pixelsPerDot: scale, anchor: .start, color: .black)
    }

    /// The width of `text` in pixels at `scale` pixels per font dot.
    static func textWidth(_ text: String, scale: Int) -> Int { text.isEmpty ? 0 : (text.count * 6 - 1) * scale }
    /// The height of a line of text (without descenders) at one pixel per font dot.
    static let textHeight = 7
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
        "&": [0x0C, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0D], "×": [0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x00],
    ]
}
