import Foundation

/// How ``Image/featureMapGrid(_:columns:scale:gap:colormap:)`` colours a normalised map.
public enum Colormap: String, Sendable, CaseIterable {
    /// Black (lowest) to white (highest): one gray channel.
    case gray
    /// Matplotlib's perceptually uniform dark-purple → teal → yellow, as RGB: small differences
    /// stay visible and the separating gaps (white) cannot be mistaken for a value.
    case viridis

    /// Viridis at nine evenly spaced points; colours in between are interpolated linearly.
    private static let viridisAnchors: [(Float, Float, Float)] = [
        (68, 1, 84), (71, 45, 123), (59, 82, 139), (44, 114, 142), (33, 145, 140),
        (40, 174, 128), (94, 201, 98), (173, 220, 48), (253, 231, 37),
    ]

    var channels: Int { self == .gray ? 1 : 3 }

    /// The colour of `t` in 0...1, as `channels` samples in 0...255.
    func color(_ t: Float) -> [Float] {
        let t = Swift.min(Swift.max(t.isFinite ? t : 0, 0), 1)
        switch self {
        case .gray:
            return [t * 255]
        case .viridis:
            let position = t * Float(Colormap.viridisAnchors.count - 1)
            let lower = Swift.min(Int(position), Colormap.viridisAnchors.count - 2)
            let f = position - Float(lower)
            let a = Colormap.viridisAnchors[lower], b = Colormap.viridisAnchors[lower + 1]
            return [a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f, a.2 + (b.2 - a.2) * f]
        }
    }
}

extension Image {
    /// The image enlarged `factor` times in each direction, every pixel becoming a
    /// `factor × factor` block, so small images (28×28 digits, 5×5 feature maps) stay crisp.
    public func upscaled(by factor: Int) -> Image {
        precondition(factor >= 1, "Image.upscaled: factor must be at least 1 (got \(factor))")
        if factor == 1 { return self }
        return resized(width: width * factor, height: height * factor, method: .nearest)
    }

    /// The images side by side in a grid (`columns` per row, default all in one row), each in a
    /// cell as large as the largest, centred, with an optional caption under each drawn in a
    /// small built-in pixel font, on a white background. Every image is first enlarged `scale`
    /// times (``upscaled(by:)``).
    ///
    /// Gray and colour images mix: the sheet is RGB if any image is, else gray; alpha is dropped.
    /// Throws ``ImageError/invalidImage(file:reason:)`` for no images, a caption count that does
    /// not match, or a non-positive `columns`, `scale` or negative `gap`.
    public static func contactSheet(_ images: [Image], captions: [String]? = nil, columns: Int? = nil,
                                    scale: Int = 1, gap: Int = 8) throws -> Image {
        guard !images.isEmpty else { throw ImageError.invalidImage(file: "<memory>", reason: "a contact sheet needs at least one image") }
        if let captions, captions.count != images.count {
            throw ImageError.invalidImage(file: "<memory>", reason: "\(images.count) images but \(captions.count) captions")
        }
        let columnCount = columns ?? images.count
        guard columnCount >= 1, scale >= 1, gap >= 0 else {
            throw ImageError.invalidImage(file: "<memory>", reason: "columns and scale must be at least 1 and gap at least 0 (got \(columnCount), \(scale), \(gap))")
        }
        for image in images { try image.validated(file: "<memory>") }
        let channels = images.contains { $0.channels >= 3 } ? 3 : 1
        let tiles = images.map { $0.withChannels(channels).upscaled(by: scale) }
        let tileWidth = tiles.map(\.width).max()!, tileHeight = tiles.map(\.height).max()!
        let textScale = tileWidth >= 150 ? 2 : 1
        let captionWidth = (captions ?? []).map { PixelFont.width(of: $0, scale: textScale) }.max() ?? 0
        let captionHeight = captions == nil ? 0 : PixelFont.height * textScale + gap / 2 + 2
        let cellWidth = Swift.max(tileWidth, captionWidth), cellHeight = tileHeight + captionHeight
        let rowCount = (tiles.count + columnCount - 1) / columnCount
        let usedColumns = Swift.min(columnCount, tiles.count)
        var sheet = Canvas(width: usedColumns * cellWidth + (usedColumns + 1) * gap,
                           height: rowCount * cellHeight + (rowCount + 1) * gap, channels: channels, fill: 255)
        for (index, tile) in tiles.enumerated() {
            let left = gap + (index % columnCount) * (cellWidth + gap)
            let top = gap + (index / columnCount) * (cellHeight + gap)
            sheet.draw(tile, x: left + (cellWidth - tile.width) / 2, y: top + (tileHeight - tile.height) / 2)
            if let caption = captions?[index] {
                let textWidth = PixelFont.width(of: caption, scale: textScale)
                sheet.write(caption, x: left + (cellWidth - textWidth) / 2, y: top + tileHeight + gap / 2 + 1, scale: textScale)
            }
        }
        return sheet.image
    }

    /// Every channel of a feature-map tensor as one tile of a grid: `maps` is
    /// `[height, width, channels]` or `[1, height, width, channels]` (a layer's output for one
    /// image). Each map is normalised on its own (its minimum → the colormap's start, its maximum
    /// → its end; a constant map, e.g. a ReLU channel that never fired, shows as the start), enlarged
    /// `scale` times, and tiles are separated by `gap` white pixels. `columns` defaults to
    /// `⌈√channels⌉`, a near-square grid.
    public static func featureMapGrid(_ maps: Tensor, columns: Int? = nil, scale: Int = 1, gap: Int = 1,
                                      colormap: Colormap = .viridis) throws -> Image {
        let shape = maps.shape
        guard (shape.count == 3 || (shape.count == 4 && shape[0] == 1)), shape.allSatisfy({ $0 >= 1 }) else {
            throw ImageError.invalidImage(file: "<memory>", reason: "feature maps must be (height, width, channels) or (1, height, width, channels); got \(formatShape(shape))")
        }
        let h = shape[shape.count - 3], w = shape[shape.count - 2], c = shape[shape.count - 1]
        let columnCount = columns ?? Int(Double(c).squareRoot().rounded(.up))
        guard columnCount >= 1, scale >= 1, gap >= 0 else {
            throw ImageError.invalidImage(file: "<memory>", reason: "columns and scale must be at least 1 and gap at least 0 (got \(columnCount), \(scale), \(gap))")
        }
        let rowCount = (c + columnCount - 1) / columnCount
        let usedColumns = Swift.min(columnCount, c)
        let values = maps.scalars
        var grid = Canvas(width: usedColumns * w * scale + (usedColumns + 1) * gap,
                          height: rowCount * h * scale + (rowCount + 1) * gap, channels: colormap.channels, fill: 255)
        for channel in 0..<c {
            let map = (0..<(h * w)).map { values[$0 * c + channel] }
            let normalised = Image.displayValues(map, scaling: .minMax)
            let tile = Image(unchecked: w, h, colormap.channels, normalised.flatMap { colormap.color($0 / 255) })
            grid.draw(tile.upscaled(by: scale), x: gap + (channel % columnCount) * (w * scale + gap),
                      y: gap + (channel / columnCount) * (h * scale + gap))
        }
        return grid.image
    }
}

/// A mutable pixel buffer images are pasted and text is drawn into.
struct Canvas {
    let width: Int, height: Int, channels: Int
    var pixels: [Float]

    init(width: Int, height: Int, channels: Int, fill: Float) {
        self.width = width; self.height = height; self.channels = channels
        pixels = [Float](repeating: fill, count: width * height * channels)
    }

    var image: Image { Image(unchecked: width, height, channels, pixels) }

    /// Pastes `image` (same channel count) with its top-left corner at `(x, y)`, clipped to the canvas.
    mutating func draw(_ image: Image, x: Int, y: Int) {
        precondition(image.channels == channels, "Canvas.draw: \(image.channels) channels into a \(channels)-channel canvas")
        for row in 0..<image.height where (0..<height).contains(y + row) {
            for column in 0..<image.width where (0..<width).contains(x + column) {
                let source = (row * image.width + column) * channels
                let target = ((y + row) * width + x + column) * channels
                for k in 0..<channels { pixels[target + k] = image.pixels[source + k] }
            }
        }
    }

    /// Draws `text` in black with its top-left corner at `(x, y)`.
    mutating func write(_ text: String, x: Int, y: Int, scale: Int) {
        var left = x
        for character in text {
            let rows = PixelFont.glyph(character)
            for (r, bits) in rows.enumerated() {
                for (c, bit) in bits.enumerated() where bit == "#" {
                    for dy in 0..<scale {
                        for dx in 0..<scale {
                            let px = left + c * scale + dx, py = y + r * scale + dy
                            guard (0..<width).contains(px), (0..<height).contains(py) else { continue }
                            for k in 0..<channels { pixels[(py * width + px) * channels + k] = 0 }
                        }
                    }
                }
            }
            left += PixelFont.advance * scale
        }
    }
}

/// A 5×7 pixel font for captions: lowercase letters (capitals are drawn as lowercase), digits and
/// the punctuation that layer names, shapes and kernel names use.
enum PixelFont {
    static let height = 7
    /// Glyph width plus one column of spacing.
    static let advance = 6

    static func width(of text: String, scale: Int) -> Int {
        text.isEmpty ? 0 : (text.count * advance - 1) * scale
    }

    static func glyph(_ character: Character) -> [String] {
        let key = Character(character.lowercased())
        return glyphs[key] ?? glyphs["?"]!
    }

    private static let glyphs: [Character: [String]] = [
        " ": [".....", ".....", ".....", ".....", ".....", ".....", "....."],
        "0": [".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."],
        "1": ["..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."],
        "2": [".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"],
        "3": ["#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."],
        "4": ["...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."],
        "5": ["#####", "#....", "####.", "....#", "....#", "#...#", ".###."],
        "6": ["..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."],
        "7": ["#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."],
        "8": [".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."],
        "9": [".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."],
        "a": [".....", ".....", ".###.", "....#", ".####", "#...#", ".####"],
        "b": ["#....", "#....", "#.##.", "##..#", "#...#", "#...#", "####."],
        "c": [".....", ".....", ".###.", "#....", "#....", "#...#", ".###."],
        "d": ["....#", "....#", ".##.#", "#..##", "#...#", "#...#", ".####"],
        "e": [".....", ".....", ".###.", "#...#", "#####", "#....", ".###."],
        "f": ["..##.", ".#..#", ".#...", "###..", ".#...", ".#...", ".#..."],
        "g": [".....", ".####", "#...#", "#...#", ".####", "....#", ".###."],
        "h": ["#....", "#....", "#.##.", "##..#", "#...#", "#...#", "#...#"],
        "i": ["..#..", ".....", ".##..", "..#..", "..#..", "..#..", ".###."],
        "j": ["...#.", ".....", "..##.", "...#.", "...#.", "#..#.", ".##.."],
        "k": ["#....", "#....", "#..#.", "#.#..", "##...", "#.#..", "#..#."],
        "l": [".##..", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."],
        "m": [".....", ".....", "##.#.", "#.#.#", "#.#.#", "#...#", "#...#"],
        "n": [".....", ".....", "#.##.", "##..#", "#...#", "#...#", "#...#"],
        "o": [".....", ".....", ".###.", "#...#", "#...#", "#...#", ".###."],
        "p": [".....", ".....", "####.", "#...#", "####.", "#....", "#...."],
        "q": [".....", ".....", ".##.#", "#..##", ".####", "....#", "....#"],
        "r": [".....", ".....", "#.##.", "##..#", "#....", "#....", "#...."],
        "s": [".....", ".....", ".###.", "#....", ".###.", "....#", "####."],
        "t": [".#...", ".#...", "###..", ".#...", ".#...", ".#..#", "..##."],
        "u": [".....", ".....", "#...#", "#...#", "#...#", "#..##", ".##.#"],
        "v": [".....", ".....", "#...#", "#...#", "#...#", ".#.#.", "..#.."],
        "w": [".....", ".....", "#...#", "#...#", "#.#.#", "#.#.#", ".#.#."],
        "x": [".....", ".....", "#...#", ".#.#.", "..#..", ".#.#.", "#...#"],
        "y": [".....", ".....", "#...#", "#...#", ".####", "....#", ".###."],
        "z": [".....", ".....", "#####", "...#.", "..#..", ".#...", "#####"],
        "-": [".....", ".....", ".....", "#####", ".....", ".....", "....."],
        "_": [".....", ".....", ".....", ".....", ".....", ".....", "#####"],
        ".": [".....", ".....", ".....", ".....", ".....", ".##..", ".##.."],
        ",": [".....", ".....", ".....", ".....", ".##..", "..#..", ".#..."],
        ":": [".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."],
        "(": ["...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#."],
        ")": [".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..."],
        "×": [".....", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "....."],
        "/": [".....", "....#", "...#.", "..#..", ".#...", "#....", "....."],
        "%": ["##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##"],
        "=": [".....", ".....", "#####", ".....", "#####", ".....", "....."],
        "+": [".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."],
        "?": [".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.."],
    ]
}
