import Foundation
import XCTest
#if canImport(FoundationXML)
import FoundationXML
#endif

import Fovea

/// Centre of mass `(x, y)` of a one-channel image, pixel centres at `i + 0.5`.
private func centreOfMass(_ image: Image) -> (x: Double, y: Double) {
    var mass = 0.0, sx = 0.0, sy = 0.0
    for y in 0..<image.height {
        for x in 0..<image.width {
            let v = Double(image.pixels[y * image.width + x])
            mass += v; sx += v * (Double(x) + 0.5); sy += v * (Double(y) + 0.5)
        }
    }
    return (sx / mass, sy / mass)
}

/// Rows and columns holding a pixel brighter than `threshold`.
private func inkBox(_ image: Image, threshold: Float = 25) -> (rows: ClosedRange<Int>, columns: ClosedRange<Int>) {
    var rows: [Int] = [], columns: [Int] = []
    for y in 0..<image.height {
        for x in 0..<image.width where image.pixels[y * image.width + x] > threshold { rows.append(y); columns.append(x) }
    }
    return (rows.min()!...rows.max()!, columns.min()!...columns.max()!)
}

final class DigitCentringTests: XCTestCase {
    func testSquareLandsInTheMiddleOfTheField() throws {
        var pixels = [Float](repeating: 0, count: 40 * 40)
        for y in 0..<20 { for x in 0..<20 { pixels[y * 40 + x] = 255 } }
        let centred = try Image(width: 40, height: 40, channels: 1, pixels: pixels).mnistCentered()
        XCTAssertEqual([centred.width, centred.height, centred.channels], [28, 28, 1])
        for y in 0..<28 {
            for x in 0..<28 {
                XCTAssertEqual(centred.pixels[y * 28 + x], (4..<24).contains(x) && (4..<24).contains(y) ? 255 : 0, "(\(x), \(y))")
            }
        }
    }

    /// A dark, lopsided "L" on light, noisy-free gray paper, off-centre in a wide photo: after
    /// inverting, the digit fills a 20-pixel box and its centre of mass (not its box) is centred.
    func testSyntheticDigitIsCentredByCentreOfMass() throws {
        let width = 90, height = 60
        var pixels = [Float](repeating: 200, count: width * height)
        // A tall stem (x 60..<66, y 8..<50) and a short foot (x 66..<80, y 44..<50).
        for y in 8..<50 { for x in 60..<66 { pixels[y * width + x] = 20 } }
        for y in 44..<50 { for x in 66..<80 { pixels[y * width + x] = 20 } }
        let photo = try Image(width: width, height: height, channels: 1, pixels: pixels)
        XCTAssertEqual(photo.borderMean, 200)

        let centred = try photo.inverted().mnistCentered()
        XCTAssertEqual([centred.width, centred.height], [28, 28])
        let box = inkBox(centred)
        // The taller side (42 pixels of stem) becomes 20; the width keeps the aspect ratio (20·42⁻¹·20 ≈ 9.5).
        XCTAssertEqual(box.rows.count, 20)
        XCTAssertTrue((9...11).contains(box.columns.count), "\(box.columns)")
        let (cx, cy) = centreOfMass(centred)
        XCTAssertEqual(cx, 14, accuracy: 0.5)
        XCTAssertEqual(cy, 14, accuracy: 0.5)
        // Centred by mass, not by box: the heavy stem sits left of the box's middle, so the box is
        // shifted right of the field's centre.
        let boxMiddle = Double(box.columns.lowerBound + box.columns.upperBound + 1) / 2
        XCTAssertGreaterThan(boxMiddle, 14.5)
        // The brightest pixel is stretched to 255, the background is 0.
        XCTAssertEqual(centred.pixels.max(), 255)
        XCTAssertEqual(centred.pixels[0], 0)
    }

    func testBlankImageHasNoDigit() throws {
        let blank = try Image(width: 10, height: 10, channels: 1, pixels: [Float](repeating: 255, count: 100))
        XCTAssertThrowsError(try blank.mnistCentered()) { XCTAssertTrue("\($0)".contains("no digit found"), "\($0)") }
        XCTAssertThrowsError(try blank.mnistCentered(canvas: 10, box: 20))
    }

    func testInvertKeepsAlpha() throws {
        let image = try Image(width: 1, height: 1, channels: 4, pixels: [0, 100, 255, 77])
        XCTAssertEqual(image.inverted().pixels, [255, 155, 0, 77])
        XCTAssertEqual(try Image(width: 1, height: 1, channels: 2, pixels: [10, 20]).inverted().pixels, [245, 20])
    }

    func testModelInputForAnMNISTModel() throws {
        var pixels = [Float](repeating: 255, count: 50 * 30)
        for y in 5..<25 { for x in 20..<26 { pixels[y * 50 + x] = 0 } }
        let photo = try Image(width: 50, height: 30, channels: 3, pixels: pixels.flatMap { [$0, $0, $0] })
        let input = try photo.modelInput(shape: [nil, 28, 28, 1], invert: true)
        XCTAssertEqual(input.shape, [1, 28, 28, 1])
        XCTAssertEqual(input.scalars.max()!, 1, accuracy: 1e-6)
        XCTAssertEqual(input.scalars.min(), 0)
        XCTAssertEqual(input.scalars, try photo.grayscale().inverted().mnistCentered().tensor(unitScaled: true).scalars)
        // Without centring it is only resized (and the bright paper stays bright without --invert).
        let plain = try photo.modelInput(shape: [nil, 28, 28, 1], centerDigit: false)
        XCTAssertEqual(plain.scalars, photo.grayscale().resized(width: 28, height: 28, method: .area).tensor(unitScaled: true).scalars)
    }

    func testModelInputForOtherModels() throws {
        let rgba = try Image(width: 4, height: 4, channels: 4, pixels: randomSamples(64))
        let rgb = try rgba.modelInput(shape: [nil, 8, 6, 3])
        XCTAssertEqual(rgb.shape, [1, 8, 6, 3])
        XCTAssertEqual(rgb.scalars, rgba.withChannels(3).resized(width: 6, height: 8, method: .bilinear).tensor(unitScaled: true).scalars)
        // A gray picture for a colour model: the gray level repeated.
        let gray = try Image(width: 2, height: 2, channels: 1, pixels: [0, 51, 102, 255])
        XCTAssertEqual(try gray.modelInput(shape: [nil, 2, 2, 3]).scalars, [0, 0, 0, 0.2, 0.2, 0.2, 0.4, 0.4, 0.4, 1, 1, 1])
        for bad: [Int?] in [[nil, 784], [nil, 28, 28, 2], [nil, nil, 28, 1]] {
            XCTAssertThrowsError(try gray.modelInput(shape: bad), "\(bad)") { XCTAssertTrue("\($0)".contains("not an image"), "\($0)") }
        }
        XCTAssertThrowsError(try rgba.modelInput(shape: [nil, 8, 8, 3], centerDigit: true)) { XCTAssertTrue("\($0)".contains("square one-channel")) }
    }
}

final class TopClassesTests: XCTestCase {
    func testMostProbableFirst() throws {
        let top = try topClasses([0.1, 0.6, 0.05, 0.25], k: 3)
        XCTAssertEqual(top.map(\.classIndex), [1, 3, 0])
        XCTAssertEqual(top.map(\.probability), [0.6, 0.25, 0.1])
    }

    func testTiesKAndLogits() throws {
        XCTAssertEqual(try topClasses([0.25, 0.25, 0.5, 0], k: 10).map(\.classIndex), [2, 0, 1, 3])
        // Not a distribution: softmax first (logits 0 and ln 3 → 0.25 and 0.75).
        let fromLogits = try topClasses([0, Float(log(3.0))], k: 1)
        XCTAssertEqual(fromLogits[0].classIndex, 1)
        XCTAssertEqual(fromLogits[0].probability, 0.75, accuracy: 1e-6)
        XCTAssertThrowsError(try topClasses([1], k: 0)) { XCTAssertTrue("\($0)".contains("at least 1")) }
        XCTAssertThrowsError(try topClasses([], k: 1))
        XCTAssertThrowsError(try topClasses([.nan, 1], k: 1))
    }
}

final class FeatureMapReportTests: XCTestCase {
    func makeModel() throws -> Model {
        try Sequential([
            Input(shape: [8, 8, 1]),
            Conv2D(filters: 4, kernelSize: 3, activation: .relu), MaxPooling2D(poolSize: 2, name: "pool<&>"),
            Flatten(), Dense(3, activation: .softmax),
        ], seed: 11)
    }

    func testLayerOutputsFollowTheModel() throws {
        let model = try makeModel()
        let x = Tensor(shape: [1, 8, 8, 1], scalars: randomSamples(64).map { $0 / 255 })
        let outputs = try model.layerOutputs(x)
        XCTAssertEqual(outputs.map(\.layer.name), model.layers.map(\.name))
        XCTAssertEqual(outputs.map(\.output.shape).suffix(4), [[1, 6, 6, 4], [1, 3, 3, 4], [1, 36], [1, 3]])
        XCTAssertEqual(outputs.last!.output.scalars, try model.predict(x).scalars)
    }

    func testReportWritesGridsAndPageInLayerOrder() throws {
        let model = try makeModel()
        let x = Tensor(shape: [1, 8, 8, 1], scalars: randomSamples(64, seed: 4).map { $0 / 255 })
        let report = try FeatureMapReport(model: model, input: x, topK: 2, tileSize: 12)
        XCTAssertEqual(report.layers.map(\.name), ["conv2d", "pool<&>"])
        XCTAssertEqual(report.layers.map(\.outputShape), [[1, 6, 6, 4], [1, 3, 3, 4]])
        XCTAssertEqual(report.layers.map(\.scale), [2, 4])
        XCTAssertEqual(report.layers[0].grid.width, 2 * 6 * 2 + 3 * 2)  // 2×2 grid of 12-pixel tiles, 2-pixel gaps
        XCTAssertEqual(report.predictions.count, 2)
        XCTAssertEqual(report.predictions[0].classIndex, try model.predict(x).argmax(alongAxis: 1)[0])
        XCTAssertEqual([report.input.width, report.input.height], [16, 16])

        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let folder = directory.appendingPathComponent("maps/nested")
        let written = try report.write(to: folder)
        XCTAssertEqual(written.map(\.lastPathComponent), ["input.png", "01-conv2d.png", "02-pool___.png", "index.html"])
        XCTAssertEqual(try Image.read(from: written[1]), try Image.decode(try report.layers[0].grid.pngData()))
        let html = try String(contentsOf: written[3], encoding: .utf8)
        let conv = try XCTUnwrap(html.range(of: "conv2d (Conv2D)")), pool = try XCTUnwrap(html.range(of: "pool&lt;&amp;&gt; (MaxPooling2D)"))
        XCTAssertLessThan(conv.lowerBound, pool.lowerBound)
        XCTAssertTrue(html.contains("(1, 6, 6, 4)") && html.contains("(1, 3, 3, 4)"))
        XCTAssertTrue(html.contains("src=\"02-pool___.png\""))
        XCTAssertFalse(html.contains("pool<&>"))
    }

    func testReportNeedsOneImage() throws {
        XCTAssertThrowsError(try FeatureMapReport(model: try makeModel(), input: Tensor.zeros([2, 8, 8, 1])))
    }
}

final class ConnectivityDiagramTests: XCTestCase {
    func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    func testSeedsComparison() throws {
        let diagram = try ConnectivityDiagram()
        XCTAssertEqual(diagram.outputSize, 4)
        let svg = diagram.svg
        XCTAssertEqual(count("class=\"conv-link\"", in: svg), 16 * 9)
        XCTAssertEqual(count("class=\"dense-link\"", in: svg), 36 * 16)
        XCTAssertEqual(count("<rect x=", in: svg), 2 * (36 + 16))
        XCTAssertTrue(svg.contains("144 connections, 9 shared weights + 1 bias"))
        XCTAssertTrue(svg.contains("576 connections, 576 weights + 16 biases"))
        XCTAssertTrue(svg.contains("input 6×6 = 36 pixels"))
        let parser = XMLParser(data: Data(svg.utf8))
        XCTAssertTrue(parser.parse(), "the SVG is not well-formed XML: \(String(describing: parser.parserError))")
    }

    func testOtherSizes() throws {
        let svg = try ConnectivityDiagram(inputSize: 5, kernelSize: 3).svg
        XCTAssertEqual(count("class=\"conv-link\"", in: svg), 9 * 9)
        XCTAssertEqual(count("class=\"dense-link\"", in: svg), 25 * 9)
        XCTAssertNoThrow(try ConnectivityDiagram(inputSize: 3, kernelSize: 3))
        XCTAssertThrowsError(try ConnectivityDiagram(inputSize: 2, kernelSize: 3))
        XCTAssertThrowsError(try ConnectivityDiagram(inputSize: 6, kernelSize: 0))
    }
}
