import CFoveaImageCodecs
import Foundation
import XCTest

import Fovea

/// A deterministic pseudo-random byte sequence (xorshift).
func randomSamples(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [Float] {
    var state = seed
    return (0..<count).map { _ in
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return Float(state % 256)
    }
}

/// A smooth RGB (or gray) gradient, the kind of content JPEG reproduces closely.
func gradient(width: Int, height: Int, channels: Int) -> Image {
    var pixels: [Float] = []
    for y in 0..<height {
        for x in 0..<width {
            let r = Float(x) / Float(width - 1) * 255
            let g = Float(y) / Float(height - 1) * 255
            let b = Float(x + y) / Float(width + height - 2) * 200 + 20
            pixels += channels == 1 ? [(r + g) / 2] : [r, g, b]
        }
    }
    return try! Image(width: width, height: height, channels: channels, pixels: pixels)
}

func meanAbsoluteError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    return zip(a, b).reduce(0) { $0 + abs($1.0 - $1.1) } / Float(a.count)
}

/// JPEG bytes written by the C layer directly (for progressive files, which the public API does
/// not write).
func encodeJPEG(_ image: Image, quality: Int32, progressive: Bool) -> [UInt8] {
    let samples = image.pixels.map { UInt8(max(0, min(255, $0.rounded()))) }
    var message = [CChar](repeating: 0, count: Int(FOVEA_IMG_MESSAGE_SIZE))
    var output: UnsafeMutablePointer<UInt8>? = nil
    var size = 0
    let status = fovea_jpeg_encode(samples, UInt32(image.width), UInt32(image.height), Int32(image.channels),
                                   quality, progressive ? 1 : 0, &output, &size, &message)
    precondition(status == Int32(FOVEA_IMG_OK))
    defer { fovea_img_free(output) }
    return Array(UnsafeBufferPointer(start: output!, count: size))
}

/// PNG bytes written by libpng through the C layer (optionally Adam7-interlaced).
func encodePNG(_ image: Image, interlaced: Bool) -> [UInt8] {
    let samples = image.pixels.map { UInt8(max(0, min(255, $0.rounded()))) }
    var message = [CChar](repeating: 0, count: Int(FOVEA_IMG_MESSAGE_SIZE))
    var output: UnsafeMutablePointer<UInt8>? = nil
    var size = 0
    let status = fovea_png_encode(samples, UInt32(image.width), UInt32(image.height), Int32(image.channels),
                                  interlaced ? 1 : 0, &output, &size, &message)
    precondition(status == Int32(FOVEA_IMG_OK))
    defer { fovea_img_free(output) }
    return Array(UnsafeBufferPointer(start: output!, count: size))
}

/// Asserts that decoding `data` throws an `ImageError` that names `name`, and returns it.
@discardableResult
func assertDecodeFails(_ data: [UInt8], name: String = "bad-file.img", maxPixels: Int = 100_000_000,
                       file: StaticString = #filePath, line: UInt = #line) -> ImageError? {
    do {
        let image = try Image.decode(data, name: name, maxPixels: maxPixels)
        XCTFail("decoded a \(image.width)×\(image.height) image from malformed data", file: file, line: line)
        return nil
    } catch let error as ImageError {
        XCTAssertEqual(error.file, name, file: file, line: line)
        XCTAssertTrue(error.description.contains(name), "\(error.description)", file: file, line: line)
        return error
    } catch {
        XCTFail("unexpected error type \(error)", file: file, line: line)
        return nil
    }
}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("fovea-image-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
