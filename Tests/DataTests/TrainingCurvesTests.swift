import Foundation
import XCTest
import Fovea

final class TrainingCurvesTests: XCTestCase {
    /// Keras 3.15's CSVLogger output, byte for byte (a run of the probe in the commit message).
    let kerasCSV = "epoch,accuracy,loss,val_accuracy,val_loss\r\n"
        + "0,0.375,0.8015267252922058,0.375,0.7479414939880371\r\n"
        + "1,0.375,0.7924274802207947,0.3125,0.7387573719024658\r\n"
        + "2,0.375,0.7838048338890076,0.375,0.7301427125930786\r\n"

    func testReadsKerasCSVLogs() throws {
        let log = try TrainingLog(csv: kerasCSV)
        XCTAssertEqual(log.epochs, [0, 1, 2])
        XCTAssertEqual(log.columns["loss"]!, [0.8015267252922058, 0.7924274802207947, 0.7838048338890076])
        XCTAssertEqual(log.columns["val_accuracy"]!, [0.375, 0.3125, 0.375])

        // NA values, LF lines, quoted fields, and a resumed run that logged epoch 1 again (the last row wins).
        let other = try TrainingLog(csv: "epoch,loss,\"val,loss\"\n0,1.5,NA\n1,1.0,NA\n1,0.9,\"0.5\"\n")
        XCTAssertEqual(other.epochs, [0, 1])
        XCTAssertEqual(other.columns["loss"]!, [1.5, 0.9])
        XCTAssertEqual(other.columns["val,loss"]!, [nil, 0.5])

        for (bad, reason) in [("", "empty"), ("loss\n1\n", "starting with 'epoch'"), ("epoch,loss\n0,1,2\n", "line 2 has 3 fields"),
                              ("epoch,loss\nx,1\n", "epoch 'x'"), ("epoch,loss\n0,fast\n", "loss 'fast' is not a number"),
                              ("epoch,loss\n0,\"1\n", "unclosed quote")] {
            XCTAssertThrowsError(try TrainingLog(csv: bad, file: "h.csv"), bad) { error in
                XCTAssertTrue("\(error)".contains("h.csv") && "\(error)".contains(reason), "\(error)")
            }
        }
    }

    func testCSVLoggerWritesWhatKerasWrites() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("h.csv")
        let logger = CSVLogger(url)
        logger.onTrainBegin(logs: [:])
        let rows: [[String: Double]] = [
            ["accuracy": 0.375, "loss": 0.8015267252922058, "val_accuracy": 0.375, "val_loss": 0.7479414939880371],
            ["accuracy": 0.375, "loss": 0.7924274802207947, "val_accuracy": 0.3125, "val_loss": 0.7387573719024658],
            ["accuracy": 0.375, "loss": 0.7838048338890076, "val_accuracy": 0.375, "val_loss": 0.7301427125930786],
        ]
        for (epoch, row) in rows.enumerated() { logger.onEpochEnd(epoch, logs: row.mapValues { Float($0) }) }
        logger.onTrainEnd(logs: [:])
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), kerasCSV)
    }

    func testCurvesHaveAxesTicksAndLegend() throws {
        let curves = try TrainingCurves(log: TrainingLog(csv: kerasCSV))
        XCTAssertEqual(curves.quantities, ["loss", "accuracy"])
        let svg = curves.svg
        XCTAssertTrue(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"840\" height=\"320\""), String(svg.prefix(120)))
        for label in [">Loss<", ">Accuracy<", ">training<", ">validation<", ">epoch<", ">1<", ">2<", ">3<"] {
            XCTAssertTrue(svg.contains(label), label)
        }
        // Two curves per panel, training solid and validation dashed, in their colours; a dot per epoch.
        XCTAssertEqual(svg.components(separatedBy: "stroke=\"#1f77b4\" stroke-width=\"2\" stroke-linejoin=\"round\"/>").count - 1, 4, "2 curves + 2 legend samples")
        XCTAssertEqual(svg.components(separatedBy: "stroke=\"#ff7f0e\" stroke-width=\"2\" stroke-linejoin=\"round\" stroke-dasharray").count - 1, 4)
        XCTAssertEqual(svg.components(separatedBy: "<circle").count - 1, 12)
        // Loss ticks span the values (0.730...0.802) in round steps; accuracy's (0.3125...0.375) in steps of 0.02.
        for tick in ["0.72", "0.74", "0.76", "0.78", "0.80", "0.82", "0.30", "0.32", "0.34", "0.36", "0.38"] {
            XCTAssertTrue(svg.contains(">\(tick)</text>"), tick)
        }

        let image = curves.image(scale: 2)
        XCTAssertEqual(image.width, 1680); XCTAssertEqual(image.height, 640); XCTAssertEqual(image.channels, 3)
        func count(_ r: Float, _ g: Float, _ b: Float) -> Int {
            stride(from: 0, to: image.pixels.count, by: 3).filter { image.pixels[$0] == r && image.pixels[$0 + 1] == g && image.pixels[$0 + 2] == b }.count
        }
        XCTAssertGreaterThan(count(31, 119, 180), 500, "training curves drawn")
        XCTAssertGreaterThan(count(255, 127, 14), 500, "validation curves drawn")
        XCTAssertGreaterThan(count(0, 0, 0), 100, "titles drawn")
        XCTAssertGreaterThan(count(255, 255, 255), image.width * image.height / 2, "mostly background")
    }

    func testWritesSVGAndPNGFiles() throws {
        let dir = try makeTemporaryDirectory(self)
        let curves = try TrainingCurves(log: TrainingLog(csv: kerasCSV))
        try curves.write(to: dir.appendingPathComponent("c.svg"))
        try curves.write(to: dir.appendingPathComponent("c.png"))
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("c.svg"), encoding: .utf8), curves.svg)
        let png = try Image.read(from: dir.appendingPathComponent("c.png"))
        XCTAssertEqual(png, curves.image())
        XCTAssertThrowsError(try curves.write(to: dir.appendingPathComponent("c.jpg"))) { XCTAssertTrue("\($0)".contains(".svg or .png"), "\($0)") }
        XCTAssertThrowsError(try TrainingCurves(log: TrainingLog(epochs: [], columns: [:]))) { XCTAssertTrue("\($0)".contains("no epochs"), "\($0)") }
        XCTAssertThrowsError(try TrainingCurves(log: TrainingLog(epochs: [0], columns: ["loss": [nil]]))) { XCTAssertTrue("\($0)".contains("no values"), "\($0)") }
    }
}
