import Foundation
import XCTest
import Fovea

/// Plots and drawings of any values: NaN and infinite coordinates, the last representable epoch,
/// and logs far longer than a plot is wide.
final class HardenedOutputTests: XCTestCase {
    func testPlotsTheLastRepresentableEpoch() throws {
        let log = try TrainingLog(csv: "epoch,loss\n0,1.0\n9223372036854775807,0.5\n")
        XCTAssertEqual(log.epochs, [0, Int.max])
        let curves = try TrainingCurves(log: log)
        XCTAssertTrue(curves.svg.contains(">9000000000000000000<"), "round ticks up to the last epoch")
        let image = curves.image(scale: 1)
        XCTAssertEqual(image.width, 420)
        // A single huge epoch spans a range too.
        let one = try TrainingCurves(log: TrainingLog(csv: "epoch,loss\n9223372036854775807,0.5\n"))
        XCTAssertTrue(one.svg.contains("9223372036854775808"), "its tick, in Double")
        _ = one.image(scale: 1)
    }

    /// 20,000 epochs: no dot per point, and each curve keeps at most four points per pixel column.
    func testLongLogsAreDrawnPerPixelColumn() throws {
        var csv = "epoch,loss,val_loss\n"
        for e in 0..<20_000 { csv += "\(e),\(1 / Double(e + 1)),\(e % 97 == 0 ? "nan" : String(2 / Double(e + 1)))\n" }
        let curves = try TrainingCurves(log: TrainingLog(csv: csv))
        let drawing = curves.drawing
        var dots = 0, points = 0
        for item in drawing.items {
            if case .dot = item { dots += 1 }
            if case .polyline(let p, _, _, _) = item { points += p.count }
        }
        XCTAssertEqual(dots, 0)
        XCTAssertLessThan(points, 4 * 420 * 2 + 2 * 206 * 4, "per pixel column, not per epoch")
        let image = curves.image(scale: 1)
        XCTAssertEqual(image.width, 420)
        XCTAssertTrue(image.pixels.contains(31), "the training curve is drawn")
    }

    /// A drawing whose coordinates are NaN, infinite or far off the canvas renders, drawing nothing there.
    func testDrawingNonFiniteCoordinatesDrawsNothingThere() {
        var d = Drawing(width: 20, height: 10)
        d.add(.polyline([(.nan, 1), (5, 5), (.infinity, 2), (1e300, -1e300), (3, 3)], color: .black, width: 1, dash: nil))
        d.add(.dot(x: .nan, y: 2, radius: 3, color: .black))
        d.add(.dot(x: 1e18, y: -1e18, radius: 1e300, color: .black))
        d.add(.rect(x: -.infinity, y: 0, width: .nan, height: 4, fill: .black, stroke: .black))
        d.add(.text("nan", x: .nan, y: 5, size: 10, anchor: .middle, color: .black))
        d.add(.text("far", x: -1e30, y: 1e30, size: 1e9, anchor: .end, color: .black))
        d.add(.polyline([(0, 0), (20, 10)], color: .black, width: .nan, dash: .nan))
        let image = d.image(scale: 1)
        XCTAssertEqual(image.width, 20)
        XCTAssertTrue(image.pixels.allSatisfy { $0 >= 0 && $0 <= 255 })
        XCTAssertTrue(image.pixels.contains { $0 < 255 }, "the dot of radius 1e300 covers the canvas, clipped to it")
        var huge = Drawing(width: .infinity, height: .nan)
        huge.add(.dot(x: 1, y: 1, radius: 1, color: .black))
        let clamped = huge.image(scale: 1)
        XCTAssertEqual(clamped.height, 1)
    }

    /// Contact sheets caption in the one font: capitals and × included.
    func testContactSheetCaptionsUseTheOneFont() throws {
        let tile = try Image(width: 4, height: 4, channels: 1, pixels: [Float](repeating: 128, count: 16))
        let sheet = try Image.contactSheet([tile, tile], captions: ["A×B", "x"], scale: 2, gap: 4)
        XCTAssertTrue(sheet.pixels.contains(0), "captions drawn in black")
        XCTAssertEqual(sheet.channels, 1)
    }

    // MARK: Messages

    /// gzip followed by bytes that are no gzip member: its own message, not zlib's "incorrect header check".
    func testGzipWithTrailingGarbage() throws {
        let gz = Gzip.compress(Array("hello".utf8))
        XCTAssertThrowsError(try Gzip.decompress(gz + Array("garbage!".utf8))) { error in
            XCTAssertEqual(error as? GzipError, .trailingData(offset: gz.count, count: 8))
            XCTAssertTrue("\(error)".contains("trailing garbage"), "\(error)")
        }
        // Zero padding and a second member stay accepted.
        XCTAssertEqual(try Gzip.decompress(gz + [0, 0, 0]), Array("hello".utf8))
        XCTAssertEqual(try Gzip.decompress(gz + gz), Array("hellohello".utf8))
    }

    func testMNISTFileWithTrailingGarbageNamesIt() throws {
        let dir = try makeTemporaryDirectory(self)
        for name in try FileManager.default.contentsOfDirectory(atPath: MNIST.bundledDirectory.path) where name.hasSuffix(".gz") {
            try FileManager.default.copyItem(at: MNIST.bundledDirectory.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        let labels = try FileManager.default.contentsOfDirectory(atPath: dir.path).first { $0.hasPrefix("t10k-labels") }!
        let url = dir.appendingPathComponent(labels)
        let original = try Data(contentsOf: url)
        try (original + Data("appended".utf8)).write(to: url)
        XCTAssertThrowsError(try MNIST.load(directory: dir, verifyChecksums: false)) { error in
            XCTAssertEqual(error as? DatasetError, .trailingCompressedData(file: url.path, offset: original.count, count: 8))
            for part in [labels, "trailing garbage", "8 more bytes", "re-download"] {
                XCTAssertTrue("\(error)".contains(part), "'\(error)' lacks '\(part)'")
            }
        }
    }
}
