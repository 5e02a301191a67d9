import Foundation
import XCTest

import Fovea

final class PNGTests: XCTestCase {
    func testRoundTripIsExactForEveryChannelCount() throws {
        for channels in 1...4 {
            let pixels = randomSamples(7 * 5 * channels, seed: UInt64(channels) * 7919 + 1)
            let image = try Image(width: 7, height: 5, channels: channels, pixels: pixels)
            let bytes = try image.pngData()
            XCTAssertEqual(Array(bytes.prefix(8)), PNGWriter.signature)
            let decoded = try Image.decode(bytes)
            XCTAssertEqual(decoded, image, "channels \(channels)")
        }
    }

    func testWriteAndReadFileAtomically() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let image = try Image(width: 3, height: 2, channels: 3, pixels: randomSamples(18))
        let url = directory.appendingPathComponent("picture.png")
        try image.writePNG(to: url)
        XCTAssertEqual(try Image.read(from: url), image)
        // Overwriting replaces the file; no temporary files are left behind.
        let other = try Image(width: 1, height: 1, channels: 1, pixels: [42])
        try other.writePNG(to: url)
        XCTAssertEqual(try Image.read(from: url), other)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["picture.png"])
    }

    func testWriteToMissingDirectoryThrows() throws {
        let image = try Image(width: 1, height: 1, channels: 1, pixels: [0])
        let url = URL(fileURLWithPath: "/nonexistent-fovea-dir/out.png")
        XCTAssertThrowsError(try image.writePNG(to: url)) { error in
            guard case .unwritable(let file, _)? = error as? ImageError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, url.path)
        }
        XCTAssertThrowsError(try image.writeJPEG(to: url.deletingPathExtension().appendingPathExtension("jpg")))
    }

    func testLibpngInterlacedOutputDecodes() throws {
        let image = try Image(width: 9, height: 10, channels: 4, pixels: randomSamples(9 * 10 * 4, seed: 99))
        let bytes = encodePNG(image, interlaced: true)
        XCTAssertEqual(bytes[8 + 8 + 12], 1)  // IHDR interlace method: Adam7
        XCTAssertEqual(try Image.decode(bytes), image)
    }

    func testSamplesAreRoundedAndClampedWhenWritten() throws {
        let image = try Image(width: 6, height: 1, channels: 1, pixels: [-5, 0.4, 0.6, 127.5, 254.7, 300])
        let decoded = try Image.decode(try image.pngData())
        XCTAssertEqual(decoded.pixels, [0, 0, 1, 128, 255, 255])
    }

    func testGrayAlphaDecodes() throws {
        let bytes = PNGWriter.png(width: 3, height: 2, colorType: 4) { x, y in [UInt(x * 40 + y), UInt(255 - x)] }
        let image = try Image.decode(bytes)
        XCTAssertEqual(image.channels, 2)
        XCTAssertEqual(image.pixels, [0, 255, 40, 254, 80, 253, 1, 255, 41, 254, 81, 253])
    }

    func testPaletteExpandsToRGB() throws {
        let palette: [(UInt8, UInt8, UInt8)] = [(255, 0, 0), (0, 128, 255), (10, 20, 30)]
        let bytes = PNGWriter.png(width: 3, height: 2, colorType: 3, palette: palette) { x, y in [UInt((x + y) % 3)] }
        let image = try Image.decode(bytes)
        XCTAssertEqual(image.width, 3)
        XCTAssertEqual(image.height, 2)
        XCTAssertEqual(image.channels, 3)
        XCTAssertEqual(image.pixels, [255, 0, 0, 0, 128, 255, 10, 20, 30,
                                      0, 128, 255, 10, 20, 30, 255, 0, 0])
    }

    func testLowBitPaletteWithTransparencyExpandsToRGBA() throws {
        let palette: [(UInt8, UInt8, UInt8)] = [(1, 2, 3), (4, 5, 6), (7, 8, 9), (250, 251, 252)]
        // 2-bit indices, 5 pixels per row (a partial last byte), alpha for the first two entries.
        let bytes = PNGWriter.png(width: 5, height: 1, bitDepth: 2, colorType: 3, palette: palette,
                                  transparency: [0, 100]) { x, _ in [UInt(x % 4)] }
        let image = try Image.decode(bytes)
        XCTAssertEqual(image.channels, 4)
        XCTAssertEqual(image.pixels, [1, 2, 3, 0, 4, 5, 6, 100, 7, 8, 9, 255, 250, 251, 252, 255, 1, 2, 3, 0])
    }

    func testOneBitGrayExpandsToFullRange() throws {
        let bytes = PNGWriter.png(width: 10, height: 1, bitDepth: 1, colorType: 0) { x, _ in [UInt(x % 2)] }
        let image = try Image.decode(bytes)
        XCTAssertEqual(image.pixels, (0..<10).map { Float($0 % 2 * 255) })
    }

    func testSixteenBitSamplesAreDividedBy257() throws {
        let values: [UInt] = [0, 257, 65535, 1000, 32768, 12345]
        let rgb = PNGWriter.png(width: 2, height: 1, bitDepth: 16, colorType: 2) { x, _ in Array(values[(x * 3)..<(x * 3 + 3)]) }
        let image = try Image.decode(rgb)
        XCTAssertEqual(image.channels, 3)
        XCTAssertEqual(image.pixels, values.map { Float($0) / 257 })
        XCTAssertEqual(image.pixels[0...2], [0, 1, 255])

        let gray = PNGWriter.png(width: 3, height: 1, bitDepth: 16, colorType: 0) { x, _ in [values[x + 3]] }
        XCTAssertEqual(try Image.decode(gray).pixels, [1000, 32768, 12345].map { Float($0) / 257 })
    }

    func testSixteenBitRGBAIsDividedBy257() throws {
        let bytes = PNGWriter.png(width: 1, height: 1, bitDepth: 16, colorType: 6) { _, _ in [65535, 0, 514, 25700] }
        XCTAssertEqual(try Image.decode(bytes).pixels, [255, 0, 2, 100])
    }

    func testInterlacedMatchesNonInterlaced() throws {
        // 13×11: every Adam7 pass is non-empty and partial.
        let pixel: (Int, Int) -> [UInt] = { x, y in [UInt((x * 17 + y * 31) % 256), UInt((x * y) % 256), UInt((x + 3 * y) % 256)] }
        let interlaced = PNGWriter.png(width: 13, height: 11, colorType: 2, interlaced: true, pixel: pixel)
        let plain = PNGWriter.png(width: 13, height: 11, colorType: 2, pixel: pixel)
        XCTAssertNotEqual(interlaced, plain)
        let expected = (0..<11).flatMap { y in (0..<13).flatMap { x in pixel(x, y).map { Float($0) } } }
        XCTAssertEqual(try Image.decode(interlaced).pixels, expected)
        XCTAssertEqual(try Image.decode(plain).pixels, expected)
    }

    func testTinyInterlacedImageWithEmptyPasses() throws {
        let bytes = PNGWriter.png(width: 1, height: 1, colorType: 0, interlaced: true) { _, _ in [77] }
        XCTAssertEqual(try Image.decode(bytes).pixels, [77])
    }
}

final class JPEGTests: XCTestCase {
    func testRGBRoundTripAtQuality95IsClose() throws {
        let image = gradient(width: 64, height: 48, channels: 3)
        let bytes = try image.jpegData(quality: 95)
        XCTAssertEqual(Array(bytes.prefix(3)), [0xFF, 0xD8, 0xFF])
        let decoded = try Image.decode(bytes)
        XCTAssertEqual(decoded.width, 64)
        XCTAssertEqual(decoded.height, 48)
        XCTAssertEqual(decoded.channels, 3)
        XCTAssertLessThan(meanAbsoluteError(decoded.pixels, image.pixels), 3)
    }

    func testGrayRoundTripStaysGray() throws {
        let image = gradient(width: 40, height: 30, channels: 1)
        let decoded = try Image.decode(try image.jpegData(quality: 95))
        XCTAssertEqual(decoded.channels, 1)
        XCTAssertLessThan(meanAbsoluteError(decoded.pixels, image.pixels), 3)
    }

    func testAlphaIsDroppedWhenWritingJPEG() throws {
        let rgba = gradient(width: 16, height: 16, channels: 3).withChannels(4)
        let decoded = try Image.decode(try rgba.jpegData(quality: 95))
        XCTAssertEqual(decoded.channels, 3)
        let grayAlpha = gradient(width: 16, height: 16, channels: 1).withChannels(2)
        XCTAssertEqual(try Image.decode(try grayAlpha.jpegData()).channels, 1)
    }

    func testLowerQualityIsSmaller() throws {
        let image = try Image(width: 32, height: 32, channels: 3, pixels: randomSamples(32 * 32 * 3))
        XCTAssertLessThan(try image.jpegData(quality: 20).count, try image.jpegData(quality: 95).count)
    }

    func testProgressiveDecodes() throws {
        let image = gradient(width: 50, height: 37, channels: 3)
        let bytes = encodeJPEG(image, quality: 95, progressive: true)
        // A progressive file has an SOF2 marker.
        XCTAssertTrue(zip(bytes, bytes.dropFirst()).contains { $0 == 0xFF && $1 == 0xC2 })
        let decoded = try Image.decode(bytes)
        XCTAssertEqual(decoded.width, 50)
        XCTAssertEqual(decoded.height, 37)
        XCTAssertLessThan(meanAbsoluteError(decoded.pixels, image.pixels), 3)

        let gray = gradient(width: 20, height: 20, channels: 1)
        let grayDecoded = try Image.decode(encodeJPEG(gray, quality: 95, progressive: true))
        XCTAssertEqual(grayDecoded.channels, 1)
        XCTAssertLessThan(meanAbsoluteError(grayDecoded.pixels, gray.pixels), 3)
    }

    func testWriteAndReadFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("photo.jpg")
        let image = gradient(width: 24, height: 16, channels: 3)
        try image.writeJPEG(to: url, quality: 95)
        let read = try Image.read(from: url)
        XCTAssertLessThan(meanAbsoluteError(read.pixels, image.pixels), 3)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["photo.jpg"])
    }
}
