import Foundation
import XCTest
import Fovea

/// Forward values and summaries checked against numbers Keras 3 computed
/// (scripts/make_keras_fixtures.py; never run in CI).
final class KerasConformanceTests: XCTestCase {
    struct Case: Decodable {
        struct Weight: Decodable { let name: String; let shape: [Int]; let values: [Float] }
        let name: String
        let layer: String
        let input_shape: [Int]
        let input: [Float]
        let weights: [Weight]
        let output_shape: [Int]
        let output: [Float]
    }

    static func fixture(_ name: String) throws -> URL {
        try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil)).appendingPathComponent(name)
    }

    func testEveryLayerMatchesKeras() throws {
        let data = try Data(contentsOf: Self.fixture("keras_layers.json"))
        let cases = try JSONDecoder().decode([String: [Case]].self, from: data.removingVersion())["cases"]!
        let configs = try XCTUnwrap(try JSONValue(parsing: data)["cases"]?.arrayValue).map { $0["config"] ?? [:] }
        XCTAssertGreaterThanOrEqual(cases.count, 40)
        for (c, config) in zip(cases, configs) {
            let layer = try LayerRegistry.layer(className: c.layer, config: config)
            let x = Tensor(shape: c.input_shape, scalars: c.input)
            _ = try layer(x)
            XCTAssertEqual(layer.variables.count, c.weights.count, c.name)
            for (v, w) in zip(layer.variables, c.weights) {
                XCTAssertEqual(v.value.shape, w.shape, "\(c.name): \(w.name)")
                v.value = Tensor(shape: w.shape, scalars: w.values)
            }
            let y = try layer(x)
            XCTAssertEqual(y.shape, c.output_shape, c.name)
            let worst = zip(y.scalars, c.output).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst, 1e-5, "\(c.name): largest difference from Keras \(worst)")
            let predicted = try layer.outputShape(for: [nil] + c.input_shape.dropFirst().map { Optional($0) })
            XCTAssertEqual(predicted.dropFirst().map { $0 }, c.output_shape.dropFirst().map { Optional($0) }, "\(c.name): static output shape")
        }
    }

    func testSummariesAreKerasTextExactly() throws {
        for architecture in Architecture.mnistNetworks {
            let expected = try String(contentsOf: Self.fixture("keras_summary_\(architecture.rawValue).txt"), encoding: .utf8)
            XCTAssertEqual(try architecture.make().summary() + "\n", expected, architecture.rawValue)
        }
    }
}

extension Data {
    /// The fixture's top level also holds `keras_version`; decode only `cases`.
    func removingVersion() throws -> Data {
        var object = try JSONSerialization.jsonObject(with: self) as! [String: Any]
        object = ["cases": object["cases"]!]
        return try JSONSerialization.data(withJSONObject: object)
    }
}
