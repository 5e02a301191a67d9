import Foundation
import XCTest
import Fovea

/// Functional models made in Keras 3 with random weights and random batch-norm statistics
/// (Tests/IOTests/Fixtures/graphs, made by scripts/make_keras_graph_fixtures.py): a residual block, an
/// Inception block, a MobileNetV2 block, nested Sequential and functional models with a frozen layer,
/// and a model of two inputs and two outputs sharing a layer. Each loads from `.keras` and legacy
/// `.h5`, predicts Keras's numbers, prints Keras's summary, counts Keras's parameters, and comes back
/// the same from every format Fovea writes.
final class GraphFixtureTests: XCTestCase {
    static let names = ["residual_block", "inception_block", "mobilenet_v2_block", "nested_frozen", "multi_io"]

    struct Meta: Decodable {
        let total_params: Int
        let trainable_params: Int
        let non_trainable_params: Int
        let layers: [String]
    }

    func graphFixture(_ name: String) throws -> URL { try fixture("graphs/\(name)") }

    /// The fixture's inputs and Keras's outputs (`NAME_input.npy` or `NAME_input_0.npy`, …).
    func arrays(_ name: String, _ kind: String) throws -> [Tensor] {
        let dir = try fixture("graphs")
        if FileManager.default.fileExists(atPath: dir.appendingPathComponent("\(name)_\(kind).npy").path) {
            return [try Tensor.readNumPy(from: dir.appendingPathComponent("\(name)_\(kind).npy"))]
        }
        var result: [Tensor] = []
        while FileManager.default.fileExists(atPath: dir.appendingPathComponent("\(name)_\(kind)_\(result.count).npy").path) {
            result.append(try Tensor.readNumPy(from: dir.appendingPathComponent("\(name)_\(kind)_\(result.count).npy")))
        }
        return result
    }

    func assertPredictsKeras(_ model: Model, _ name: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let outputs = try model.predict(try arrays(name, "input"))
        let expected = try arrays(name, "output")
        XCTAssertEqual(outputs.count, expected.count, what, file: file, line: line)
        for (y, e) in zip(outputs, expected) {
            XCTAssertEqual(y.shape, e.shape, what, file: file, line: line)
            XCTAssertLessThanOrEqual(maxAbsDifference(y, e), 1e-5, what, file: file, line: line)
        }
    }

    func testKerasFilesPredictKerassNumbers() throws {
        for name in Self.names {
            for ext in ["keras", "h5"] {
                let model = try Model.load(fromAnyFormat: try graphFixture("\(name).\(ext)"))
                try assertPredictsKeras(model, name, "\(name).\(ext)")
            }
        }
    }

    func testSummariesAndCountsAreKerass() throws {
        for name in Self.names {
            let model = try Model.loadKeras(from: try graphFixture("\(name).keras"))
            let meta = try JSONDecoder().decode(Meta.self, from: Data(contentsOf: try graphFixture("\(name)_meta.json")))
            XCTAssertEqual(model.layers.map(\.name), meta.layers, name)
            XCTAssertEqual(model.parameterCount, meta.total_params, name)
            XCTAssertEqual(model.trainableParameterCount, meta.trainable_params, name)
            let expected = try String(contentsOf: try graphFixture("\(name)_summary.txt"), encoding: .utf8)
            XCTAssertEqual(model.summary() + "\n", expected, name)
        }
    }

    func testEveryFormatFoveaWritesRoundTrips() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fovea-graphs-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in Self.names {
            let model = try Model.loadKeras(from: try graphFixture("\(name).keras"))
            let written = [("safetensors", { try model.save(to: $0) }), ("keras", { try model.saveKeras(to: $0) }),
                           ("h5", { try model.saveKerasH5(to: $0) })] as [(String, (URL) throws -> Void)]
            for (ext, save) in written {
                let url = dir.appendingPathComponent("\(name).\(ext)")
                try save(url)
                let loaded = try Model.load(fromAnyFormat: url)
                XCTAssertEqual(loaded.layers.map(\.name), model.layers.map(\.name), "\(name).\(ext)")
                XCTAssertEqual(loaded.trainableParameterCount, model.trainableParameterCount, "\(name).\(ext): frozen layers stay frozen")
                try assertPredictsKeras(loaded, name, "\(name) written as .\(ext)")
                if let interop = ProcessInfo.processInfo.environment["FOVEA_INTEROP_DIR"] {
                    // CI hands these files to h5py, safetensors and (by hand) Keras: scripts/check_interop.py.
                    let target = URL(fileURLWithPath: interop).appendingPathComponent("\(name).\(ext)")
                    try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try? FileManager.default.removeItem(at: target)
                    try FileManager.default.copyItem(at: url, to: target)
                    for (i, x) in try arrays(name, "input").enumerated() {
                        try x.writeNumPy(to: target.deletingLastPathComponent().appendingPathComponent(suffix(name, "input", i, try arrays(name, "input").count)))
                    }
                    for (i, y) in try arrays(name, "output").enumerated() {
                        try y.writeNumPy(to: target.deletingLastPathComponent().appendingPathComponent(suffix(name, "output", i, try arrays(name, "output").count)))
                    }
                }
            }
        }
    }

    private func suffix(_ name: String, _ kind: String, _ i: Int, _ count: Int) -> String {
        count == 1 ? "\(name)_\(kind).npy" : "\(name)_\(kind)_\(i).npy"
    }

    func testAMissingWeightIsAnErrorThatNamesIt() throws {
        func model(bias: Bool) throws -> Model {
            let inputs = Input(shape: [4, 4, 2])
            let x = try Conv2D(filters: 2, kernelSize: 3, name: "conv")(inputs)
            return try Model(inputs: inputs, outputs: try Dense(units: 3, useBias: bias, name: "head")(try Flatten()(x)), name: "m")
        }
        let complete = try ZipArchive(Data(try model(bias: true).kerasArchive()), file: "complete.keras")
        let withoutBias = try ZipArchive(Data(try model(bias: false).kerasArchive()), file: "without.keras")
        var mixed = ZipWriter()
        try mixed.add("metadata.json", try complete.read("metadata.json"))
        try mixed.add("config.json", try complete.read("config.json"))
        try mixed.add("model.weights.h5", try withoutBias.read("model.weights.h5"))
        assertFoveaError(containing: ["mixed.keras", "head.bias", "layers/dense/vars/1"]) {
            try Model.loadKeras(bytes: try mixed.finish(), file: "mixed.keras")
        }
    }

    func testNestedModelsKeepTheirStructureAndFrozenLayers() throws {
        let model = try Model.loadKeras(from: try graphFixture("nested_frozen.keras"))
        let nested = model.layers.compactMap { $0 as? Model }
        XCTAssertEqual(nested.map(\.typeName).sorted(), ["Functional", "Sequential"])
        XCTAssertTrue(model.variables.contains { !$0.trainable }, "the frozen layer's weights are non-trainable")
        // Keras numbers a nested functional model's calls from 1 in output_layers; Fovea writes the same.
        let config = try model.kerasConfig().text()
        let keras = try JSONValue(parsing: Data(try ZipArchive(contentsOf: try graphFixture("nested_frozen.keras")).read("config.json")))
        XCTAssertEqual(try model.kerasConfig()["config"]?["output_layers"], keras["config"]?["output_layers"], config)
    }
}
