import Foundation
import XCTest

import Fovea

final class ImageTensorTests: XCTestCase {
    func testTensorIsHeightWidthChannels() throws {
        let image = try Image(width: 3, height: 2, channels: 3, pixels: (0..<18).map(Float.init))
        let t = image.tensor()
        XCTAssertEqual(t.shape, [2, 3, 3])
        XCTAssertEqual(t.scalars, image.pixels)
        XCTAssertEqual(t[1, 2, 0], 15)  // row 1, column 2, red
        let batch = image.batchTensor()
        XCTAssertEqual(batch.shape, [1, 2, 3, 3])
        XCTAssertEqual(batch.scalars, image.pixels)
    }

    func testUnitScaling() throws {
        let image = try Image(width: 2, height: 1, channels: 1, pixels: [0, 255])
        XCTAssertEqual(image.tensor(unitScaled: true).scalars, [0, 1])
        XCTAssertEqual(image.batchTensor(unitScaled: true).scalars, [0, 1])
        XCTAssertEqual(try Image(Tensor(shape: [1, 2], scalars: [0.5, 1]), unitScaled: true).pixels, [127.5, 255])
    }

    func testRoundTripEveryChannelCount() throws {
        for channels in 1...4 {
            let image = try Image(width: 5, height: 3, channels: channels, pixels: randomSamples(15 * channels, seed: UInt64(channels)))
            XCTAssertEqual(try Image(image.tensor()), image)
            XCTAssertEqual(try Image(image.batchTensor()), image)
            // Through [0, 1] and back: equal within Float rounding, and exactly equal once written as 8-bit PNG.
            let back = try Image(image.tensor(unitScaled: true), unitScaled: true)
            XCTAssertLessThan(zip(back.pixels, image.pixels).map { abs($0 - $1) }.max()!, 1e-4)
            XCTAssertEqual(try Image.decode(try back.pngData()), image)
        }
    }

    func testTensorShapesAccepted() throws {
        XCTAssertEqual(try Image(Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])).channels, 1)
        XCTAssertEqual(try Image(Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])).width, 3)
        XCTAssertEqual(try Image(Tensor(shape: [1, 2, 3, 4], scalars: randomSamples(24))).channels, 4)
        for bad in [[6], [2, 3, 5], [2, 1, 3, 1], [1, 0, 3, 1], [1, 1, 1, 1, 1]] {
            XCTAssertThrowsError(try Image(Tensor.zeros(bad)), "\(bad)") { error in
                guard case .invalidImage(_, let reason)? = error as? ImageError else { return XCTFail("\(error)") }
                XCTAssertTrue(reason.contains(formatShape(bad)), reason)
            }
        }
    }

    func testOutOfRangeIsClampedAndNonFiniteThrows() throws {
        XCTAssertEqual(try Image(Tensor(shape: [1, 3], scalars: [-4, 100, 300])).pixels, [0, 100, 255])
        XCTAssertThrowsError(try Image(Tensor(shape: [1, 2], scalars: [1, .nan]))) { XCTAssertTrue("\($0)".contains("not finite")) }
    }

    func testDisplayScaling() throws {
        let t = Tensor(shape: [1, 4], scalars: [-2, 0, 2, 6])
        XCTAssertEqual(try Image(displaying: t, scaling: .minMax).pixels, [0, 63.75, 127.5, 255])
        XCTAssertEqual(try Image(displaying: t, scaling: .absolute).pixels, [85, 0, 85, 255])
        XCTAssertEqual(try Image(displaying: t, scaling: .clip).pixels, [0, 0, 2, 6])
        // A constant response (a flat image under an edge kernel) is black, not a division by zero.
        XCTAssertEqual(try Image(displaying: Tensor(repeating: 3, shape: [2, 2]), scaling: .minMax).pixels, [0, 0, 0, 0])
        XCTAssertEqual(try Image(displaying: Tensor.zeros([2, 2]), scaling: .absolute).pixels, [0, 0, 0, 0])
        // Colour channels share one range, keeping their balance.
        let rgb = try Image(displaying: Tensor(shape: [1, 1, 3], scalars: [10, 20, 30]))
        XCTAssertEqual(rgb.pixels, [0, 127.5, 255])
        XCTAssertEqual(DisplayScaling.allCases.map(\.rawValue), ["minmax", "abs", "clip"])
    }

    func testUpscaleAndContactSheet() throws {
        let small = try Image(width: 2, height: 1, channels: 1, pixels: [0, 200])
        XCTAssertEqual(small.upscaled(by: 2).pixels, [0, 0, 200, 200, 0, 0, 200, 200])
        let colour = try Image(width: 3, height: 3, channels: 3, pixels: [Float](repeating: 100, count: 27))
        let sheet = try Image.contactSheet([small, colour], captions: ["a", "b"], scale: 2, gap: 4)
        // Cells are as large as the largest tile (6×6 after scaling), plus a caption row.
        XCTAssertEqual(sheet.channels, 3)
        XCTAssertEqual(sheet.width, 24)    // 2 cells of 6, 3 gaps of 4
        XCTAssertEqual(sheet.height, 25)   // gap, 6 tile + 7 caption + 4 caption margin, gap
        // The gray tile became RGB and sits centred in its cell: its first row is at y = 4 + (6 − 2) / 2,
        // its first column at x = 4 + (6 − 4) / 2; its third pixel (200) is at x = 7.
        let offset: Int = (6 * sheet.width + 7) * 3
        XCTAssertEqual(Array(sheet.pixels[offset..<(offset + 3)]), [200, 200, 200])
        XCTAssertEqual(Array(sheet.pixels[(offset - 6)..<(offset - 3)]), [0, 0, 0])
        // The caption is drawn in black somewhere under the tiles.
        let belowTiles: Int = 10 * sheet.width * 3
        XCTAssertTrue(sheet.pixels[belowTiles...].contains(0))
        XCTAssertThrowsError(try Image.contactSheet([]))
        XCTAssertThrowsError(try Image.contactSheet([small], captions: ["a", "b"]))
        XCTAssertThrowsError(try Image.contactSheet([small], scale: 0))
    }

    func testFeatureMapGridNormalisesEachMapOnItsOwn() throws {
        // Two 1×2 maps: channel 0 is (1, 3), channel 1 is (−10, −20).
        let maps = Tensor(shape: [1, 2, 2], scalars: [1, -10, 3, -20])
        let gray = try Image.featureMapGrid(maps, columns: 2, scale: 1, gap: 1, colormap: .gray)
        XCTAssertEqual(gray.width, 2 * 2 + 3)
        XCTAssertEqual(gray.height, 1 + 2)
        XCTAssertEqual(Array(gray.pixels[(gray.width + 1)...(gray.width + 2)]), [0, 255])   // map 0: low, high
        XCTAssertEqual(Array(gray.pixels[(gray.width + 4)...(gray.width + 5)]), [255, 0])   // map 1: −10 is its high
        XCTAssertEqual(gray.pixels[gray.width + 3], 255)  // the white gap between them
        let viridis = try Image.featureMapGrid(Tensor(shape: [1, 2, 2, 5], scalars: randomSamples(20)), scale: 3)
        XCTAssertEqual(viridis.channels, 3)
        XCTAssertEqual(viridis.width, 3 * 2 * 3 + 4)  // ⌈√5⌉ = 3 columns
        XCTAssertEqual(viridis.height, 2 * 2 * 3 + 3)
        XCTAssertThrowsError(try Image.featureMapGrid(Tensor.zeros([2, 2, 2, 2])))
    }

    func testTestPattern() throws {
        let pattern = try Image.testPattern(size: 64)
        XCTAssertEqual([pattern.width, pattern.height, pattern.channels], [64, 64, 1])
        // One-pixel stripes in the lower left: 2×2 max pooling makes that quarter uniformly bright, min dark.
        let maxPooled = try pattern.pooled(size: 2, mode: .max), minPooled = try pattern.pooled(size: 2, mode: .min)
        XCTAssertEqual(maxPooled.pixels[20 * 32 + 5], 220)
        XCTAssertEqual(minPooled.pixels[20 * 32 + 5], 35)
        XCTAssertEqual(try Image.testPattern(size: 64), pattern)
        XCTAssertThrowsError(try Image.testPattern(size: 8))
    }
}
