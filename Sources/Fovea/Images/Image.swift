import Foundation

/// An 8-bit-range raster image: `height × width × channels` samples, row-major (interleaved),
/// each a `Float` in 0...255 (decoded 16-bit PNG samples are divided by 257, so they stay in
/// range but may be fractional).
///
/// Channels: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA.
public struct Image: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var channels: Int
    /// `height × width × channels` samples, row-major, 0...255.
    public var pixels: [Float]

    /// Throws `ImageError.invalidImage` unless `width` and `height` are at least 1, `channels` is
    /// 1...4 and `pixels.count == width * height * channels`.
    public init(width: Int, height: Int, channels: Int, pixels: [Float]) throws {
        try Image.validate(width: width, height: height, channels: channels, count: pixels.count, file: "<memory>")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// Builds without validation (callers guarantee consistency).
    init(unchecked width: Int, _ height: Int, _ channels: Int, _ pixels: [Float]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    static func validate(width: Int, height: Int, channels: Int, count: Int, file: String) throws {
        guard width >= 1, height >= 1 else {
            throw ImageError.invalidImage(file: file, reason: "width and height must be at least 1 (got \(width)×\(height))")
        }
        guard (1...4).contains(channels) else {
            throw ImageError.invalidImage(file: file, reason: "channels must be 1, 2, 3 or 4 (got \(channels))")
        }
        let (area, overflow1) = width.multipliedReportingOverflow(by: height)
        let (expected, overflow2) = area.multipliedReportingOverflow(by: channels)
        guard !overflow1, !overflow2, expected == count else {
            throw ImageError.invalidImage(
                file: file,
                reason: "\(width)×\(height)×\(channels) needs \(overflow1 || overflow2 ? "too many" : String(expected)) samples, got \(count)")
        }
    }

    /// Checks that the (publicly mutable) fields still agree with each other.
    func validated(file: String) throws {
        try Image.validate(width: width, height: height, channels: channels, count: pixels.count, file: file)
    }

    /// The sample at row `y`, column `x`, channel `c`.
    @inline(__always)
    func sample(_ y: Int, _ x: Int, _ c: Int) -> Float {
        pixels[(y * width + x) * channels + c]
    }
}
