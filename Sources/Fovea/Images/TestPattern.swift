import Foundation

extension Image {
    /// A gray `size × size` test pattern (at least 16 pixels) whose quarters each show what a
    /// kernel or a pool does: a checkerboard (edges in both directions and corners), a bright disk
    /// on black (edges at every angle), one-pixel vertical stripes (2×2 max pooling turns them
    /// white, average gray, min black) and a horizontal ramp with a dark ring (a linear ramp
    /// vanishes under a Laplacian; a Sobel kernel sees a constant slope).
    public static func testPattern(size: Int = 128) throws -> Image {
        guard size >= 16 else { throw ImageError.invalidImage(file: "<memory>", reason: "a test pattern needs at least 16×16 pixels (got \(size))") }
        let half = size / 2
        let square = Swift.max(2, size / 16)
        var pixels = [Float](repeating: 0, count: size * size)
        for y in 0..<size {
            for x in 0..<size {
                let value: Float
                switch (y < half, x < half) {
                case (true, true):
                    value = (x / square + y / square) % 2 == 0 ? 230 : 25
                case (true, false):
                    let dx = Double(x - half) + 0.5 - Double(half) / 2, dy = Double(y) + 0.5 - Double(half) / 2
                    value = dx * dx + dy * dy <= pow(Double(half) * 0.36, 2) ? 240 : 15
                case (false, true):
                    value = x % 2 == 0 ? 220 : 35
                case (false, false):
                    let ramp = Float(x - half) / Float(Swift.max(size - half - 1, 1)) * 200 + 30
                    let dx = Double(x - half) + 0.5 - Double(half) / 2, dy = Double(y - half) + 0.5 - Double(half) / 2
                    let r = (dx * dx + dy * dy).squareRoot()
                    value = Swift.abs(r - Double(half) * 0.3) < Double(half) * 0.06 ? 0 : ramp
                }
                pixels[y * size + x] = value
            }
        }
        return Image(unchecked: size, size, 1, pixels)
    }
}
