import Foundation
import XCTest
import Fovea

/// Floating-point values become integers (counts, indices, pixels, bars) only through checked
/// conversions: NaN, ±infinity and out-of-range values give nil or a clamped value, never a trap.
final class CheckedConversionTests: XCTestCase {
    func testCheckedInt() {
        XCTAssertNil(Float.nan.checkedInt())
        XCTAssertNil(Double.infinity.checkedInt())
        XCTAssertNil((-Double.infinity).checkedInt())
        XCTAssertNil(Double(Int.max).checkedInt(), "2⁶³ is past Int.max")
        XCTAssertNil(Float.greatestFiniteMagnitude.checkedInt())
        XCTAssertEqual((-9.223372036854775808e18).checkedInt(), Int.min)
        XCTAssertEqual(Double(1 << 62).checkedInt(), 1 << 62)
        XCTAssertEqual(Float(2.7).checkedInt(), 2)
        XCTAssertEqual(Float(-2.7).checkedInt(), -2)
        XCTAssertEqual(Float(2.5).checkedInt(rounding: .toNearestOrAwayFromZero), 3)
        XCTAssertEqual(Double(2.1).checkedInt(rounding: .up), 3)
    }

    func testClampedInt() {
        XCTAssertEqual(Float.nan.clampedInt(0...40), 0)
        XCTAssertEqual(Float.nan.clampedInt(0...40, nan: 7), 7)
        XCTAssertEqual(Float.infinity.clampedInt(0...40), 40)
        XCTAssertEqual((-Float.infinity).clampedInt(0...40), 0)
        XCTAssertEqual(Double(1e300).clampedInt(Int.min...Int.max), Int.max)
        XCTAssertEqual(Double(-1e300).clampedInt(Int.min...Int.max), Int.min)
        XCTAssertEqual(Float(-3.2).clampedInt(-10...10, rounding: .down), -4)
        XCTAssertEqual(Float(12.5).clampedInt(0...255, rounding: .toNearestOrAwayFromZero), 13)
    }

    /// The CLI's probability bars: a negative logit, NaN or a value past 1 draws a clamped bar.
    func testTextBar() {
        XCTAssertEqual(textBar(0.5, width: 10), String(repeating: "█", count: 5))
        XCTAssertEqual(textBar(-3.5, width: 40), "")
        XCTAssertEqual(textBar(.nan, width: 40), "")
        XCTAssertEqual(textBar(.infinity, width: 4), "████")
        XCTAssertEqual(textBar(7, width: 4, cell: "#"), "####")
    }

    /// A model's output holding NaN: topClasses says so (and how much of it), never a trap.
    func testTopClassesOfNaNSaysSo() throws {
        XCTAssertThrowsError(try topClasses([0.1, .nan, .infinity, 0.2], k: 2)) { error in
            let text = "\(error)"
            for part in ["non-finite", "nan for class 1", "2 of 4 values", "predicts NaN"] {
                XCTAssertTrue(text.contains(part), "'\(text)' lacks '\(part)'")
            }
        }
        // Logits (negative scores) become probabilities.
        let scores = try topClasses([-3, -1, -2], k: 3)
        XCTAssertEqual(scores.map(\.classIndex), [1, 2, 0])
        XCTAssertEqual(scores.map(\.probability).reduce(0, +), 1, accuracy: 1e-5)
    }

    /// NaN weights flow through summary, prediction, layer outputs and the feature-map report.
    func testANaNWeightedModelGoesThroughEveryPath() throws {
        let model = try Sequential([Input(shape: [8, 8, 1]), Conv2D(filters: 2, kernelSize: 3, activation: .relu), MaxPooling2D(poolSize: 2),
                                    Flatten(), Dense(units: 3, activation: .softmax)], seed: 2)
        for v in model.variables { v.value = Tensor(repeating: .nan, shape: v.value.shape) }
        XCTAssertTrue(model.summary().contains("Total params"))
        let x = Tensor.uniform([1, 8, 8, 1], seed: 1)
        XCTAssertTrue(try model.predict(x).scalars.allSatisfy(\.isNaN))
        let report = try FeatureMapReport(model: model, input: x, topK: 2, tileSize: 8)
        XCTAssertEqual(report.predictions, [])
        XCTAssertTrue(report.predictionProblem?.contains("predicts NaN") ?? false, "\(String(describing: report.predictionProblem))")
        XCTAssertEqual(report.layers.count, 2, "the conv and pool maps are still drawn")
        model.compile(optimizer: RMSprop(), loss: .sparseCategoricalCrossentropy(), metrics: [.accuracy])
        let logs = try model.evaluate(x: x, y: Tensor(shape: [1], scalars: [1]))
        XCTAssertTrue(logs["loss"]!.isNaN)
        XCTAssertEqual(logs["accuracy"], 0)
    }
}
