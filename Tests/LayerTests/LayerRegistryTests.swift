import Foundation
import XCTest
import Fovea
import FoveaTestSupport

/// Every registered layer against Keras 3 (Tests/LayerTests/Fixtures/keras_layer_cases.json, made by
/// scripts/make_keras_layer_cases.py): built from Keras's own serialized config, its outputs and its
/// gradients (of `Σ output ⊙ probe` for the inputs and every trainable weight) within 1e-5 of Keras's,
/// batch-norm statistics after a training call too; its configuration round-trips; its gradients match
/// central differences. A layer without a case, or a case whose class is not registered, fails.
final class LayerRegistryTests: XCTestCase {
    struct Array: Decodable {
        let shape: [Int]
        let values: [Float]
        var tensor: Tensor { Tensor(shape: shape, scalars: values) }
    }
    struct Weight: Decodable {
        let name: String
        let shape: [Int]
        let values: [Float]
        let trainable: Bool?
    }
    struct Case: Decodable {
        let name: String
        let class_name: String
        let training: Bool
        let inputs: [Array]
        let weights: [Weight]
        let output: Array
        let probe: Array
        let input_gradients: [Array]
        let weight_gradients: [Array?]
        let weights_after: [Weight]?
        let note: String
    }

    static let cases: [(Case, JSONValue)] = {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("keras_layer_cases.json")
        let data = try! Data(contentsOf: url)
        let decoded = try! JSONDecoder().decode([String: JSONValue].self, from: data)
        let raw = decoded["cases"]!.arrayValue!
        let cases = try! JSONDecoder().decode([String: [Case]].self, from: try! JSONValue.object(["cases": .array(raw)]).data())["cases"]!
        return Swift.Array(zip(cases, raw.map { $0["serialized"]! }))
    }()

    /// The layer of a case, built from Keras's serialized entry, with the case's weights.
    func layer(_ c: Case, _ serialized: JSONValue) throws -> Layer {
        let layer = try LayerRegistry.layer(className: c.class_name, config: serialized["config"] ?? [:])
        _ = try layer.call(c.inputs.map(\.tensor), training: false)
        layer.discardStateUpdates()
        let variables = layer.namedVariables
        XCTAssertEqual(variables.map(\.shortName), c.weights.map(\.name), "\(c.name): variables")
        for ((_, v), w) in zip(variables, c.weights) {
            XCTAssertEqual(v.value.shape, w.shape, "\(c.name): \(w.name)")
            v.value = Tensor(shape: w.shape, scalars: w.values)
        }
        return layer
    }

    func assertClose(_ got: Tensor, _ expected: Array, _ what: String, tolerance: Float = 1e-5) {
        XCTAssertEqual(got.shape, expected.shape, what)
        guard got.shape == expected.shape else { return }
        for (i, (a, b)) in zip(got.scalars, expected.values).enumerated() where Swift.abs(a - b) > tolerance * Swift.max(1, Swift.abs(b)) {
            XCTFail("\(what): element \(i) is \(a), Keras \(b)")
            return
        }
    }

    func testEveryRegisteredLayerHasAKerasCaseAndEveryCaseIsRegistered() {
        let covered = Set(Self.cases.map(\.0.class_name))
        for name in LayerRegistry.classNames where !covered.contains(name) {
            XCTFail("layer \(name) has no Keras case; add one to scripts/make_keras_layer_cases.py and regenerate keras_layer_cases.json")
        }
        for name in covered.sorted() where LayerRegistry.layerType(named: name) == nil {
            XCTFail("Keras case class \(name) is not a registered layer")
        }
    }

    /// Runs `body` on every case of a registered class; a case that throws fails on its own.
    func forEachRegisteredCase(_ body: (Case, JSONValue) throws -> Void) {
        var checked = 0
        for (c, serialized) in Self.cases where LayerRegistry.layerType(named: c.class_name) != nil {
            do { try body(c, serialized) } catch { XCTFail("\(c.name): \(error)") }
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 150, "the cases file holds 154 cases")
    }

    func testOutputsGradientsAndStatisticsMatchKeras() {
        forEachRegisteredCase { c, serialized in
            let layer = try self.layer(c, serialized)
            let leaves = c.inputs.map { $0.tensor.requiringGradient() }
            let outputs = try layer.call(leaves, training: c.training)
            XCTAssertEqual(outputs.count, 1, c.name)
            assertClose(outputs[0], c.output, "\(c.name): output")
            let loss = (outputs[0] * c.probe.tensor).sum()
            let trainable = zip(layer.namedVariables, c.weight_gradients).filter { $0.1 != nil }
            let grads = gradients(of: loss, wrt: leaves.map { $0 })
            for (i, (g, expected)) in zip(grads, c.input_gradients).enumerated() { assertClose(g, expected, "\(c.name): input \(i) gradient") }
            let weightGrads = gradients(of: loss, wrt: trainable.map(\.0.variable))
            for ((named, expected), g) in zip(trainable, weightGrads) { assertClose(g, expected!, "\(c.name): \(named.shortName) gradient") }
            if let after = c.weights_after {
                layer.commitStateUpdates()
                for ((short, v), w) in zip(layer.namedVariables, after) {
                    assertClose(v.value, Array(shape: w.shape, values: w.values), "\(c.name): \(short) after the training call")
                }
            }
            layer.discardStateUpdates()
        }
    }

    func testConfigurationsRoundTrip() {
        forEachRegisteredCase { c, serialized in
            let layer = try self.layer(c, serialized)
            let json = try LayerRegistry.configuration(of: layer)
            let again = try LayerRegistry.layer(className: c.class_name, config: try JSONValue(parsing: try json.text()))
            XCTAssertEqual(try LayerRegistry.configuration(of: again), json, "\(c.name): configuration after a JSON round trip")
            _ = try again.call(c.inputs.map(\.tensor), training: false)
            for ((_, v), (_, w)) in zip(again.namedVariables, layer.namedVariables) { v.value = w.value }
            let x = c.inputs.map(\.tensor)
            XCTAssertEqual(try again.call(x, training: false)[0].scalars, try layer.call(x, training: false)[0].scalars, "\(c.name): outputs after the round trip")
        }
    }

    func testGradientsMatchCentralDifferences() {
        forEachRegisteredCase { c, serialized in
            let layer = try self.layer(c, serialized)
            let trainable = layer.trainableVariables
            defer { layer.discardStateUpdates() }
            try assertGradients(of: { try layer.call($0, training: c.training)[0] }, at: c.inputs.map(\.tensor), variables: trainable)
        }
    }
}
