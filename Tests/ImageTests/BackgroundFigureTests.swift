import Foundation
import XCTest
import Fovea

/// A 1-bit scan (black digit on white paper, a stroke touching the edge): the "light background"
/// note and digit centring name the same background figure, the median of the border.
final class BackgroundFigureTests: XCTestCase {
    func testOneBitPNGGetsOneBackgroundFigure() throws {
        let png = PNGWriter.png(width: 28, height: 28, bitDepth: 1, colorType: 0) { x, y in
            // White paper; a black bar from the top edge down.
            [(12..<16).contains(x) && y < 20 ? 0 : 1]
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fovea-bg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("scan.png")
        try Data(png).write(to: url)
        let image = try Image.read(from: url)
        XCTAssertEqual(image.borderMedian, 255)
        XCTAssertLessThan(image.borderMean, 255, "the stroke at the edge pulls the mean down")
        let preparation = ImagePreparation()
        XCTAssertTrue(preparation.suggestsInverting(image, shape: [nil, 28, 28, 1]))
        XCTAssertThrowsError(try preparation.input(image, shape: [nil, 28, 28, 1])) { error in
            XCTAssertTrue("\(error)".contains("gray level 255 of 255, the median of its border"), "\(error)")
        }
        // Inverted, it is a digit.
        XCTAssertEqual(try ImagePreparation(invert: true).input(image, shape: [nil, 28, 28, 1]).shape, [1, 28, 28, 1])
    }
}
