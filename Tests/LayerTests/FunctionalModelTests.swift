import Foundation
import XCTest
import Fovea

/// The functional API: graphs of layer calls, shared layers, nested models, sub-models, and the
/// errors a wrong graph gets.
final class FunctionalModelTests: XCTestCase {
    func testTwoHeadsAndASharedLayer() throws {
        let inputs = Input(shape: [6])
        let first = Dense(4, activation: .relu, name: "first")
        let shared = Dense(4, activation: .relu, name: "shared")
        let h = try shared(try first(inputs))
        let again = try shared(h)  // the same weights, called twice
        let a = try Dense(2, name: "a")(again)
        let b = try Dense(3, activation: .softmax, name: "b")(h)
        let model = try Model(inputs: [inputs], outputs: [a, b], name: "two_heads", seed: 1)
        XCTAssertEqual(model.layers.map(\.name), ["input_layer", "first", "shared", "a", "b"])
        XCTAssertEqual(model.parameterCount, 28 + 20 + 10 + 15, "the shared layer's weights count once")
        let x = Tensor.uniform([5, 6], seed: 2)
        let ys = try model.call([x])
        XCTAssertEqual(ys.map(\.shape), [[5, 2], [5, 3]])
        let h1 = try shared(try first(x))
        XCTAssertEqual(ys[0].scalars, try model.layer(named: "a")(try shared(h1)).scalars)
        XCTAssertEqual(ys[1].scalars, try model.layer(named: "b")(h1).scalars)
        XCTAssertEqual(try model.predict([x], batchSize: 2).map(\.scalars), ys.map(\.scalars))
        assertFoveaError(containing: ["two_heads", "2 outputs"]) { try model.predict(x) }
    }

    func testNestedModelAndSubModelShareWeights() throws {
        let baseInputs = Input(shape: [8, 8, 1])
        var x = try Conv2D(filters: 4, kernelSize: 3, activation: .relu, name: "conv")(baseInputs)
        x = try MaxPooling2D(poolSize: 2, name: "pool")(x)
        let base = try Model(inputs: baseInputs, outputs: try Flatten(name: "flat")(x), name: "base", seed: 3)
        // Transfer learning: the base frozen, in inference mode, under a new head.
        base.trainable = false
        let inputs = Input(shape: [8, 8, 1])
        let features = try base(inputs, training: false)
        let outputs = try Dense(2, activation: .softmax, name: "head")(features)
        let model = try Model(inputs: inputs, outputs: outputs, name: "classifier")
        XCTAssertEqual(model.layers.map(\.typeName), ["InputLayer", "Functional", "Dense"])
        XCTAssertEqual(model.trainableParameterCount, 2 * 36 + 2)
        XCTAssertEqual(model.parameterCount, 40 + 74)
        // Feature extraction from an inner tensor of the base: the same weights.
        let extractor = try Model(inputs: base.inputs, outputs: [try base.layer(named: "pool").output], name: "extractor")
        let image = Tensor.uniform([2, 8, 8, 1], seed: 4)
        let pooled = try extractor(image)
        XCTAssertEqual(pooled.shape, [2, 3, 3, 4])
        XCTAssertEqual(try model(image).shape, [2, 2])
        XCTAssertEqual(try base(image).scalars, pooled.reshaped([2, 36]).scalars)
        // Only the head trains.
        model.compile(optimizer: SGD(learningRate: 0.5), loss: .sparseCategoricalCrossentropy())
        let before = base.weightValues().map(\.scalars)
        try model.fit(x: image, y: Tensor([0, 1]), batchSize: 2, epochs: 2, verbose: 0)
        XCTAssertEqual(base.weightValues().map(\.scalars), before)
    }

    func testTrainableChangesTakeEffectAtTheNextCompile() throws {
        let model = try Sequential([Input(shape: [3]), Dense(4, name: "first"), Dense(2, activation: .softmax)], seed: 5)
        let x = Tensor.uniform([8, 3], seed: 6), y = Tensor((0..<8).map { Float($0 % 2) })
        model.compile(optimizer: SGD(learningRate: 0.5), loss: .sparseCategoricalCrossentropy())
        let first = try model.layer(named: "first")
        first.trainable = false
        let snapshot = first.variables.map(\.value.scalars)
        try model.fit(x: x, y: y, batchSize: 8, epochs: 1, verbose: 0)
        XCTAssertNotEqual(first.variables.map(\.value.scalars), snapshot, "compiled while trainable: still updated, as in Keras")
        model.compile(optimizer: SGD(learningRate: 0.5), loss: .sparseCategoricalCrossentropy())
        let frozen = first.variables.map(\.value.scalars)
        try model.fit(x: x, y: y, batchSize: 8, epochs: 1, verbose: 0)
        XCTAssertEqual(first.variables.map(\.value.scalars), frozen, "frozen from the next compile on")
        XCTAssertTrue(model.summary().contains("Non-trainable params: 16 (64.00 B)"), model.summary())
    }

    func testFunctionalModelsRoundTripThroughEveryFormat() throws {
        let inputs = Input(shape: [6, 6, 2], name: "image")
        let shared = Conv2D(filters: 2, kernelSize: 3, padding: .same, activation: .relu, name: "shared")
        let first = try shared(inputs)
        let second = try shared(first)
        let flat = try Flatten()(second)
        let model = try Model(inputs: inputs, outputs: [try Dense(3, activation: .softmax)(flat), try Dense(1)(flat)], name: "graph", seed: 7)
        let x = Tensor.uniform([2, 6, 6, 2], seed: 8)
        let expected = try model.call([x]).map(\.scalars)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fovea-graph-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let native = dir.appendingPathComponent("graph.safetensors"), keras = dir.appendingPathComponent("graph.keras")
        try model.save(to: native)
        try model.saveKeras(to: keras)
        for url in [native, keras] {
            let loaded = try Model.load(fromAnyFormat: url)
            XCTAssertEqual(loaded.layers.map(\.name), model.layers.map(\.name), url.lastPathComponent)
            XCTAssertEqual(try loaded.call([x]).map(\.scalars), expected, url.lastPathComponent)
            XCTAssertEqual(try loaded.kerasConfig(), try model.kerasConfig(), url.lastPathComponent)
        }
        // The shared layer's second call is node 1 in Keras's config.
        let text = try model.kerasConfig().text()
        XCTAssertTrue(text.contains(#""keras_history":["shared",1,0]"#), text)
    }

    func testFusionPassGroupsByTypeAndConfiguration() throws {
        let inputs = Input(shape: [9, 9, 3])
        var x = try Conv2D(filters: 8, kernelSize: 3, padding: .same, name: "conv")(inputs)
        x = try BatchNormalization(name: "bn")(x)
        x = try ReLU(name: "relu")(x)
        let shortcut = try Conv2D(filters: 8, kernelSize: 1, name: "projection")(inputs)
        x = try Add(name: "add")([x, shortcut])
        var y = try DepthwiseConv2D(kernelSize: 3, strides: 2, padding: .same, name: "depthwise")(x)
        y = try BatchNormalization(name: "bn_dw")(y)
        y = try ReLU(maxValue: 6, name: "relu6")(y)
        y = try Conv2D(filters: 4, kernelSize: 2, name: "last")(y)
        y = try MaxPooling2D(poolSize: 2, name: "pool")(y)
        let model = try Model(inputs: inputs, outputs: try Flatten(name: "flat")(y), seed: 9)
        for layer in model.layers { for v in layer.variables { v.value = Tensor.uniform(v.value.shape, low: 0.5, high: 1.5, seed: 3) } }
        let groups = try model.executionSteps()
        XCTAssertTrue(groups.contains(["conv", "bn", "relu"]), "\(groups)")
        XCTAssertTrue(groups.contains(["depthwise", "bn_dw"]), "\(groups)")
        XCTAssertTrue(groups.contains(["last", "pool"]), "\(groups)")
        XCTAssertFalse(try model.executionSteps(inference: false).contains(["conv", "bn", "relu"]), "no folding while training")
        // Folded or not, the same numbers (within float rounding).
        let image = Tensor.uniform([2, 9, 9, 3], seed: 10)
        let fused = try model.predict(image)
        let oneByOne = try model.layerOutputs(image).last!.output
        XCTAssertLessThanOrEqual(zip(fused.scalars, oneByOne.scalars).map { abs($0 - $1) / max(1, abs($1)) }.max()!, 1e-5)
        // A second call reuses the folded weights; changed weights fold again.
        XCTAssertEqual(try model.predict(image).scalars, fused.scalars)
        let bn = try XCTUnwrap(try model.layer(named: "bn_dw") as? BatchNormalization)
        bn.movingMean.value = bn.movingMean.value + 100
        XCTAssertNotEqual(try model.predict(image).scalars, fused.scalars)
    }

    func testWrongGraphsAreErrorsThatNameTheLayer() throws {
        let a = Input(shape: [4], name: "a"), b = Input(shape: [4], name: "b")
        let fromB = try Dense(2, name: "from_b")(b)
        assertFoveaError(containing: ["graph disconnected", "'from_b'", "'b'"]) { try Model(inputs: a, outputs: fromB) }
        let x = try Dense(2, name: "twin")(a)
        let y = try Dense(2, name: "twin")(x)
        assertFoveaError(containing: ["'twin'", "more than one layer"]) { try Model(inputs: a, outputs: y) }
        assertFoveaError(containing: ["flat (Conv2D)", "expected", "(None, 4)"]) { try Conv2D(filters: 1, kernelSize: 1, name: "flat")(a) }
        assertFoveaError(containing: ["InputLayer", "cannot be called"]) { try Input(shape: [2])(a) }
        let model = try Model(inputs: a, outputs: try Dense(1)(a))
        assertFoveaError(containing: ["takes 1 input, got 2"]) { try model.call([Tensor.ones([1, 4]), Tensor.ones([1, 4])]) }
        assertFoveaError(containing: ["(1, 5)", "does not match (None, 4)"]) { try model(Tensor.ones([1, 5])) }
    }

    func testMergesCheckShapesAndAxes() throws {
        let a = Input(shape: [4, 3]), b = Input(shape: [5, 3]), c = Input(shape: [4, 2])
        assertFoveaError(containing: ["sum (Add)", "(None, 4, 3)", "(None, 5, 3)"]) { try Add(name: "sum")([a, b]) }
        assertFoveaError(containing: ["join (Concatenate)", "every axis but -1", "(None, 4, 3), (None, 5, 3)"]) {
            try Concatenate(name: "join")([a, b])
        }
        assertFoveaError(containing: ["wide (Concatenate)", "axis 3", "rank-3"]) { try Concatenate(axis: 3, name: "wide")([a, c]) }
        assertFoveaError(containing: ["minus (Subtract)", "takes 2 inputs, got 3"]) { try Subtract(name: "minus")([a, a, a]) }
        XCTAssertEqual(try Concatenate(axis: -1)([a, c]).shape, [nil, 4, 5])
        XCTAssertEqual(try Concatenate(axis: 1)([a, b]).shape, [nil, 9, 3])
        XCTAssertEqual(try Add()([a, Input(shape: [1, 3])]).shape, [nil, 4, 3], "Keras's merges broadcast a size-1 axis")
    }

    func testConfigsWithCyclesOrMissingCallsAreErrors() throws {
        func dense(_ name: String, from source: String) -> JSONValue {
            ["class_name": "Dense", "name": .string(name), "config": ["name": .string(name), "units": 2],
             "inbound_nodes": [["args": [["class_name": "__keras_tensor__", "config": ["shape": [nil, 2], "keras_history": [.string(source), 0, 0]]]], "kwargs": [:]]]]
        }
        let input: JSONValue = ["class_name": "InputLayer", "name": "in", "config": ["name": "in", "batch_shape": [nil, 2]], "inbound_nodes": []]
        let cycle: JSONValue = ["class_name": "Functional", "config": [
            "name": "loop", "layers": [input, dense("p", from: "q"), dense("q", from: "p")],
            "input_layers": ["in", 0, 0], "output_layers": ["q", 0, 0]]]
        assertFoveaError(containing: ["cycle", "p, q"]) { try Model.fromConfig(cycle) }
        let missing: JSONValue = ["class_name": "Functional", "config": [
            "name": "gap", "layers": [input, dense("p", from: "nowhere")], "input_layers": ["in", 0, 0], "output_layers": ["p", 0, 0]]]
        assertFoveaError(containing: ["'p'", "missing layer 'nowhere'"]) { try Model.fromConfig(missing) }
    }
}

/// Fails unless `body` throws a FoveaError whose message contains every one of `parts`.
func assertFoveaError<T>(containing parts: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T) {
    do {
        _ = try body()
        XCTFail("expected an error containing \(parts)", file: file, line: line)
    } catch let error as FoveaError {
        for part in parts where !error.message.contains(part) {
            XCTFail("'\(error.message)' does not contain '\(part)'", file: file, line: line)
        }
    } catch {
        XCTFail("expected a FoveaError, got \(error)", file: file, line: line)
    }
}
