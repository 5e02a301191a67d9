import Foundation
import XCTest

import Fovea

final class ImageTransformTests: XCTestCase {
    private func row(_ values: [Float], channels: Int = 1) -> Image {
        try! Image(width: values.count / channels, height: 1, channels: channels, pixels: values)
    }

    private func assertClose(_ a: [Float], _ b: [Float], accuracy: Float = 1e-4, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for (x, y) in zip(a, b) where abs(x - y) > accuracy {
            XCTFail("\(a) != \(b)", file: file, line: line); return
        }
    }

    func testInitValidates() {
        XCTAssertThrowsError(try Image(width: 2, height: 2, channels: 1, pixels: [1, 2, 3]))
        XCTAssertThrowsError(try Image(width: 0, height: 2, channels: 1, pixels: []))
        XCTAssertThrowsError(try Image(width: 1, height: 1, channels: 5, pixels: [1, 2, 3, 4, 5]))
        XCTAssertThrowsError(try Image(width: Int.max, height: 2, channels: 1, pixels: [1]))
        XCTAssertNoThrow(try Image(width: 2, height: 1, channels: 2, pixels: [1, 2, 3, 4]))
    }

    func testEncodersRejectInconsistentFields() throws {
        var image = try Image(width: 2, height: 2, channels: 1, pixels: [1, 2, 3, 4])
        image.width = 3
        XCTAssertThrowsError(try image.pngData())
        XCTAssertThrowsError(try image.jpegData())
    }

    func testNearest() {
        XCTAssertEqual(row([10, 20, 30, 40]).resized(width: 2, height: 1, method: .nearest).pixels, [20, 40])
        XCTAssertEqual(row([10, 20]).resized(width: 4, height: 1, method: .nearest).pixels, [10, 10, 20, 20])
        XCTAssertEqual(row([10, 20, 30]).resized(width: 2, height: 1, method: .nearest).pixels, [10, 30])
        // 2-D, 2 channels: 2×2 -> 1×1 picks source (1, 1).
        let image = try! Image(width: 2, height: 2, channels: 2, pixels: [1, 2, 3, 4, 5, 6, 7, 8])
        XCTAssertEqual(image.resized(width: 1, height: 1, method: .nearest).pixels, [7, 8])
    }

    func testBilinearHalfPixelCentres() {
        // Upsampling [0, 100] by 2: centres at −0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
        XCTAssertEqual(row([0, 100]).resized(width: 4, height: 1).pixels, [0, 25, 75, 100])
        // Downsampling by 2 averages neighbouring pairs: centres at 0.5 and 2.5.
        XCTAssertEqual(row([0, 10, 20, 30]).resized(width: 2, height: 1, method: .bilinear).pixels, [5, 25])
        // 2-D: 2×2 -> 4×4; output (1, 1) sits at source (0.25, 0.25).
        let square = try! Image(width: 2, height: 2, channels: 1, pixels: [0, 10, 20, 30])
        let up = square.resized(width: 4, height: 4)
        XCTAssertEqual(up.width, 4)
        XCTAssertEqual(up.height, 4)
        assertClose(Array(up.pixels[0..<4]), [0, 2.5, 7.5, 10])
        XCTAssertEqual(up.pixels[1 * 4 + 1], 7.5, accuracy: 1e-4)  // 10·0.1875 + 20·0.1875 + 30·0.0625
        assertClose(Array(up.pixels[12..<16]), [20, 22.5, 27.5, 30])
        // Channels stay independent.
        let rgb = row([0, 100, 200, 100, 0, 50], channels: 3).resized(width: 4, height: 1)
        assertClose(rgb.pixels, [0, 100, 200, 25, 75, 162.5, 75, 25, 87.5, 100, 0, 50])
    }

    func testAreaAverages() {
        XCTAssertEqual(row([0, 10, 20, 30]).resized(width: 2, height: 1, method: .area).pixels, [5, 25])
        // Non-integer factor 1.5: [0, 1.5) = 0 + half of 30; [1.5, 3) = half of 30 + 60.
        assertClose(row([0, 30, 60]).resized(width: 2, height: 1, method: .area).pixels, [10, 50])
        // 4×4 -> 2×2 is the mean of each 2×2 block.
        let image = try! Image(width: 4, height: 4, channels: 1, pixels: (0..<16).map(Float.init))
        XCTAssertEqual(image.resized(width: 2, height: 2, method: .area).pixels, [2.5, 4.5, 10.5, 12.5])
        // Whole image to 1×1 is the mean.
        XCTAssertEqual(image.resized(width: 1, height: 1, method: .area).pixels, [7.5])
        // Upsampling by an integer factor replicates.
        XCTAssertEqual(row([10, 20]).resized(width: 4, height: 1, method: .area).pixels, [10, 10, 20, 20])
    }

    func testResizeToSameSizeIsIdentity() {
        let image = try! Image(width: 3, height: 2, channels: 3, pixels: randomSamples(18))
        for method in [ResizeMethod.nearest, .bilinear, .area] {
            XCTAssertEqual(image.resized(width: 3, height: 2, method: method), image)
        }
    }

    func testCenterCrop() throws {
        let image = try Image(width: 5, height: 4, channels: 1, pixels: (0..<20).map(Float.init))
        let crop = try image.centerCropped(width: 3, height: 2)  // offset (1, 1)
        XCTAssertEqual(crop.width, 3)
        XCTAssertEqual(crop.height, 2)
        XCTAssertEqual(crop.pixels, [6, 7, 8, 11, 12, 13])
        XCTAssertEqual(try image.centerCropped(width: 5, height: 4), image)
        let rgb = try Image(width: 3, height: 3, channels: 2, pixels: (0..<18).map(Float.init))
        XCTAssertEqual(try rgb.centerCropped(width: 1, height: 1).pixels, [8, 9])
        XCTAssertThrowsError(try image.centerCropped(width: 6, height: 2))
        XCTAssertThrowsError(try image.centerCropped(width: 0, height: 2))
    }

    func testGrayscale() throws {
        let rgb = try Image(width: 2, height: 1, channels: 3, pixels: [100, 200, 50, 255, 255, 255])
        let gray = rgb.grayscale()
        XCTAssertEqual(gray.channels, 1)
        assertClose(gray.pixels, [153, 255])
        let rgba = try Image(width: 1, height: 1, channels: 4, pixels: [10, 20, 30, 99])
        assertClose(rgba.grayscale().pixels, [0.299 * 10 + 0.587 * 20 + 0.114 * 30])
        let grayAlpha = try Image(width: 2, height: 1, channels: 2, pixels: [7, 1, 9, 2])
        XCTAssertEqual(grayAlpha.grayscale().pixels, [7, 9])
        XCTAssertEqual(gray.grayscale(), gray)
    }

    func testWithChannels() throws {
        let gray = try Image(width: 2, height: 1, channels: 1, pixels: [10, 20])
        XCTAssertEqual(gray.withChannels(2).pixels, [10, 255, 20, 255])
        XCTAssertEqual(gray.withChannels(3).pixels, [10, 10, 10, 20, 20, 20])
        XCTAssertEqual(gray.withChannels(4).pixels, [10, 10, 10, 255, 20, 20, 20, 255])
        let rgba = try Image(width: 1, height: 1, channels: 4, pixels: [100, 200, 50, 7])
        XCTAssertEqual(rgba.withChannels(3).pixels, [100, 200, 50])
        let ga = rgba.withChannels(2)
        XCTAssertEqual(ga.pixels[0], 153, accuracy: 1e-3)
        XCTAssertEqual(ga.pixels[1], 7)
        XCTAssertEqual(rgba.withChannels(1).pixels.count, 1)
        let grayAlpha = try Image(width: 1, height: 1, channels: 2, pixels: [30, 40])
        XCTAssertEqual(grayAlpha.withChannels(4).pixels, [30, 30, 30, 40])
        XCTAssertEqual(grayAlpha.withChannels(1).pixels, [30])
        let rgb = try Image(width: 1, height: 1, channels: 3, pixels: [1, 2, 3])
        XCTAssertEqual(rgb.withChannels(4).pixels, [1, 2, 3, 255])
        XCTAssertEqual(rgb.withChannels(3), rgb)
    }
}
