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
    /// the built-in pixel font (BitmapFont), on a white background. Every image is first enlarged `scale`
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
        let captionWidth = (captions ?? []).map { RasterCanvas.textWidth($0, scale: textScale) }.max() ?? 0
        let captionHeight = captions == nil ? 0 : RasterCanvas.textHeight * textScale + gap / 2 + 2
        let cellWidth = Swift.max(tileWidth, captionWidth), cellHeight = tileHeight + captionHeight
        let rowCount = (tiles.count + columnCount - 1) / columnCount
        let usedColumns = Swift.min(columnCount, tiles.count)
        var sheet = RasterCanvas(width: usedColumns * cellWidth + (usedColumns + 1) * gap,
                           height: rowCount * cellHeight + (rowCount + 1) * gap, channels: channels, fill: 255)
        for (index, tile) in tiles.enumerated() {
            let left = gap + (index % columnCount) * (cellWidth + gap)
            let top = gap + (index / columnCount) * (cellHeight + gap)
            sheet.draw(tile, x: left + (cellWidth - tile.width) / 2, y: top + (tileHeight - tile.height) / 2)
            if let caption = captions?[index] {
                let textWidth = RasterCanvas.textWidth(caption, scale: textScale)
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
        var grid = RasterCanvas(width: usedColumns * w * scale + (usedColumns + 1) * gap,
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
