/// How `Image.resized` computes each output sample.
public enum ResizeMethod: Sendable, Equatable {
    /// The source pixel whose area contains the output pixel's centre
    /// (source index `floor((i + 0.5) · scale)`).
    case nearest
    /// Linear interpolation between the two nearest source pixel centres in each direction, with
    /// half-pixel centres (source coordinate `(i + 0.5) · scale − 0.5`, clamped to the edges) —
    /// the convention of OpenCV's `INTER_LINEAR` and TensorFlow's `half_pixel_centers`.
    case bilinear
    /// Box average: each output pixel is the area-weighted mean of the source pixels its footprint
    /// `[i · scale, (i + 1) · scale)` covers (fractional overlaps weighted by their fraction).
    case area
}

extension Image {
    /// The image resampled to `width × height` (both at least 1), each channel independently.
    public func resized(width newWidth: Int, height newHeight: Int, method: ResizeMethod = .bilinear) -> Image {
        precondition(newWidth >= 1 && newHeight >= 1, "Image.resized: width and height must be at least 1 (got \(newWidth)×\(newHeight))")
        precondition(pixels.count == width * height * channels, "Image.resized: pixels.count does not match width × height × channels")
        if newWidth == width && newHeight == height { return self }
        let columns = Image.taps(source: width, target: newWidth, method: method)
        let rows = Image.taps(source: height, target: newHeight, method: method)
        let c = channels

        // Horizontal pass: height × newWidth × c.
        var horizontal = [Float](repeating: 0, count: height * newWidth * c)
        pixels.withUnsafeBufferPointer { src in
            horizontal.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    let srcRow = y * width * c, dstRow = y * newWidth * c
                    for x in 0..<newWidth {
                        for (index, weight) in columns[x] {
                            let s = srcRow + index * c, d = dstRow + x * c
                            for k in 0..<c { dst[d + k] += weight * src[s + k] }
                        }
                    }
                }
            }
        }
        // Vertical pass: newHeight × newWidth × c.
        let rowLength = newWidth * c
        var output = [Float](repeating: 0, count: newHeight * rowLength)
        horizontal.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                for y in 0..<newHeight {
                    let d = y * rowLength
                    for (index, weight) in rows[y] {
                        let s = index * rowLength
                        for i in 0..<rowLength { dst[d + i] += weight * src[s + i] }
                    }
                }
            }
        }
        return Image(unchecked: newWidth, newHeight, c, output)
    }

    /// For each output index along one axis, the source indices and weights (summing to 1).
    static func taps(source: Int, target: Int, method: ResizeMethod) -> [[(Int, Float)]] {
        let scale = Double(source) / Double(target)
        return (0..<target).map { i -> [(Int, Float)] in
            switch method {
            case .nearest:
                return [(min(Int(((Double(i) + 0.5) * scale).rounded(.down)), source - 1), 1)]
            case .bilinear:
                let position = min(max((Double(i) + 0.5) * scale - 0.5, 0), Double(source - 1))
                let lower = Int(position.rounded(.down))
                let upper = min(lower + 1, source - 1)
                let fraction = position - Double(lower)
                if upper == lower || fraction == 0 { return [(lower, 1)] }
                return [(lower, Float(1 - fraction)), (upper, Float(fraction))]
            case .area:
                let start = Double(i) * scale, end = Double(i + 1) * scale
                var taps: [(Int, Float)] = []
                var j = Int(start.rounded(.down))
                while j < source && Double(j) < end {
                    let overlap = min(end, Double(j + 1)) - max(start, Double(j))
                    if overlap > 1e-12 { taps.append((j, Float(overlap / scale))) }
                    j += 1
                }
                if taps.isEmpty { taps = [(min(Int(start), source - 1), 1)] }
                return taps
            }
        }
    }

    /// The central `width × height` region (offset `(self.width − width) / 2` columns and
    /// `(self.height − height) / 2` rows, rounded down). Throws `ImageError.invalidImage` if the
    /// region is empty or larger than the image.
    public func centerCropped(width newWidth: Int, height newHeight: Int) throws -> Image {
        try validated(file: "<memory>")
        guard newWidth >= 1, newHeight >= 1, newWidth <= width, newHeight <= height else {
            throw ImageError.invalidImage(
                file: "<memory>",
                reason: "cannot center-crop a \(width)×\(height) image to \(newWidth)×\(newHeight) "
                    + "(the crop must be at least 1×1 and no larger than the image)")
        }
        let left = (width - newWidth) / 2, top = (height - newHeight) / 2
        var output: [Float] = []
        output.reserveCapacity(newWidth * newHeight * channels)
        for y in top..<(top + newHeight) {
            let start = (y * width + left) * channels
            output.append(contentsOf: pixels[start..<(start + newWidth * channels)])
        }
        return Image(unchecked: newWidth, newHeight, channels, output)
    }

    /// One gray channel: `0.299 R + 0.587 G + 0.114 B` for colour images; alpha is dropped.
    public func grayscale() -> Image {
        precondition(pixels.count == width * height * channels, "Image.grayscale: pixels.count does not match width × height × channels")
        switch channels {
        case 1:
            return self
        case 2:
            return Image(unchecked: width, height, 1, stride(from: 0, to: pixels.count, by: 2).map { pixels[$0] })
        default:
            let c = channels
            return Image(unchecked: width, height, 1, (0..<(width * height)).map { i in
                let r = pixels[i * c], g = pixels[i * c + 1], b = pixels[i * c + 2]
                return 0.299 * r + 0.587 * g + 0.114 * b
            })
        }
    }

    /// The image with `n` channels (1...4): gray is replicated into RGB, colour becomes gray by
    /// `grayscale()`'s weights, a missing alpha channel is added as 255 (opaque) and an unwanted one
    /// dropped.
    public func withChannels(_ n: Int) -> Image {
        precondition((1...4).contains(n), "Image.withChannels: channels must be 1, 2, 3 or 4 (got \(n))")
        precondition(pixels.count == width * height * channels, "Image.withChannels: pixels.count does not match width × height × channels")
        if n == channels { return self }
        let hasAlpha = channels == 2 || channels == 4
        let colour = channels >= 3
        let gray: Image? = (n <= 2 && colour) ? grayscale() : nil
        let c = channels
        var output = [Float](repeating: 0, count: width * height * n)
        for i in 0..<(width * height) {
            let alpha: Float = hasAlpha ? pixels[i * c + c - 1] : 255
            let o = i * n
            switch n {
            case 1, 2:
                output[o] = gray?.pixels[i] ?? pixels[i * c]
                if n == 2 { output[o + 1] = alpha }
            default:
                if colour {
                    output[o] = pixels[i * c]; output[o + 1] = pixels[i * c + 1]; output[o + 2] = pixels[i * c + 2]
                } else {
                    let v = pixels[i * c]
                    output[o] = v; output[o + 1] = v; output[o + 2] = v
                }
                if n == 4 { output[o + 3] = alpha }
            }
        }
        return Image(unchecked: width, height, n, output)
    }
}
