import Foundation
import XCTest
import Fovea

/// Format version 2: optimizer state, training position, random states, checksum.
final class ModelFileStateTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try makeTemporaryDirectory(self) }

    /// A few MNIST-shaped samples with labels, seeded.
    func samples(_ n: Int, seed: UInt64) -> (x: Tensor, y: Tensor) {
        (Tensor.uniform([n, 28, 28, 1], seed: seed), Tensor(shape: [n], scalars: (0..<n).map { Float(($0 * 7 + Int(seed)) % 10) }))
    }

    func tinyModel(seed: UInt64 = 4) throws -> Model {
        try Sequential([Input(shape: [4]), Dense(6, activation: .relu), Dropout(0.25), Dense(3, activation: .softmax)], seed: seed)
    }

    func tinyData(_ n: Int) -> (x: Tensor, y: Tensor) {
        let x = Tensor.uniform([n, 4], low: -1, high: 1, seed: 9)
        return (x, Tensor(shape: [n], scalars: (0..<n).map { Float($0 % 3) }))
    }

    /// A trained tiny model saved with its optimizer state and training position.
    func trainedFile(_ name: String = "trained.safetensors", optimizer: Optimizer = Adam()) throws -> (Model, URL) {
        let model = try tinyModel()
        model.compile(optimizer: optimizer, loss: .sparseCategoricalCrossentropy(), metrics: [.accuracy])
        let (x, y) = tinyData(10)
        try model.fit(x: x, y: y, batchSize: 4, epochs: 2, verbose: 0)
        let url = dir.appendingPathComponent(name)
        try model.save(to: url)
        return (model, url)
    }

    func slots(_ model: Model) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: model.optimizer!.slotTensors(for: model.variablePaths).map { ("\($0.variable)/\($0.slot)", $0.tensor.scalars) })
    }

    func testEveryArchitectureRoundTripsWithOptimizerStateAndContinuesIdentically() throws {
        let optimizers: [Optimizer] = [
            SGD(learningRate: 0.01, momentum: 0.9, nesterov: true),
            RMSprop(learningRate: 0.001, rho: 0.8, momentum: 0.5, centered: true),
            Adam(schedule: .exponentialDecay(initial: 0.002, decaySteps: 3, decayRate: 0.5, staircase: true), amsgrad: true),
            Adam(schedule: .piecewiseConstant(boundaries: [1], values: [0.001, 0.0005])),
            RMSprop(learningRate: 0.001),
        ]
        XCTAssertEqual(optimizers.count, Architecture.mnistNetworks.count)
        let (x, y) = samples(4, seed: 2)
        let probe = Tensor.uniform([3, 28, 28, 1], seed: 4)
        for (architecture, optimizer) in zip(Architecture.mnistNetworks, optimizers) {
            let model = try architecture.make(seed: 21)
            model.compile(optimizer: optimizer, loss: .sparseCategoricalCrossentropy(), metrics: [.accuracy])
            try model.fit(x: x, y: y, batchSize: 2, epochs: 1, verbose: 0)
            let url = dir.appendingPathComponent("\(architecture.rawValue).safetensors")
            try model.save(to: url)
            let loaded = try Sequential.load(from: url)
            let what = "\(architecture) with \(optimizer.name)"
            XCTAssertEqual(try loaded.predict(probe).scalars, try model.predict(probe).scalars, what)
            let restored = try XCTUnwrap(loaded.optimizer, what)
            XCTAssertEqual(restored.name, optimizer.name)
            XCTAssertEqual(restored.iterations, 2, what)
            XCTAssertEqual(restored.schedule, optimizer.schedule, what)
            XCTAssertEqual(NSDictionary(dictionary: restored.serializedConfig), NSDictionary(dictionary: optimizer.serializedConfig), what)
            XCTAssertEqual(slots(loaded), slots(model), what)
            XCTAssertEqual(slots(model).count, model.trainableVariables.count * optimizer.slotCount, what)
            XCTAssertEqual(loaded.loss, model.loss); XCTAssertEqual(loaded.metrics, [.accuracy])
            XCTAssertEqual(loaded.trainingPosition, model.trainingPosition, what)
            XCTAssertEqual(loaded.trainingPosition?.epoch, 1)
            // Both go on training from there and stay bit-identical.
            try model.fit(x: x, y: y, batchSize: 2, epochs: 2, verbose: 0, resumingFrom: model.trainingPosition)
            try loaded.fit(x: x, y: y, batchSize: 2, epochs: 2, verbose: 0, resumingFrom: loaded.trainingPosition)
            XCTAssertEqual(loaded.weightValues().map(\.scalars), model.weightValues().map(\.scalars), what)
        }
    }

    func testSavingWithoutOptimizerOrLoadingUncompiled() throws {
        let (model, url) = try trainedFile()
        let weightsOnly = try Sequential.load(from: url, compile: false)
        XCTAssertNil(weightsOnly.optimizer)
        XCTAssertNil(weightsOnly.trainingPosition)
        XCTAssertEqual(weightsOnly.weightValues().map(\.scalars), model.weightValues().map(\.scalars))

        let bare = dir.appendingPathComponent("bare.safetensors")
        try model.save(to: bare, includeOptimizer: false)
        XCTAssertNil(try Sequential.load(from: bare).optimizer)
        let names = try SafeTensors.decode(Data(contentsOf: bare), file: "bare").tensors.map(\.name)
        XCTAssertFalse(names.contains { $0.hasPrefix("optimizer/") }, "\(names)")
        XCTAssertLessThan(try Data(contentsOf: bare).count, try Data(contentsOf: url).count)

        // Optimizer tensors are not weights: loadWeights skips them, strictly or not.
        let other = try tinyModel(seed: 99)
        try other.loadWeights(from: url)
        XCTAssertEqual(other.weightValues().map(\.scalars), model.weightValues().map(\.scalars))
    }

    func testTheFileIsStandardSafetensorsWithNamedOptimizerTensors() throws {
        let (model, url) = try trainedFile()
        let decoded = try SafeTensors.decode(Data(contentsOf: url), file: url.path)
        XCTAssertEqual(decoded.metadata["format"], "fovea")
        XCTAssertEqual(decoded.metadata["format_version"], "2")
        XCTAssertTrue(decoded.metadata["checksum"]?.hasPrefix("sha256:") ?? false)
        for key in ["architecture", "compile", "optimizer", "training", "random_state"] {
            XCTAssertNotNil(decoded.metadata[key], key)
        }
        XCTAssertTrue(decoded.metadata["optimizer"]!.contains("\"class_name\":\"Adam\""), decoded.metadata["optimizer"]!)
        XCTAssertTrue(decoded.metadata["optimizer"]!.contains("\"iterations\":6"), decoded.metadata["optimizer"]!)
        XCTAssertTrue(decoded.metadata["random_state"]!.contains("\"dropout\""), decoded.metadata["random_state"]!)
        let names = Set(decoded.tensors.map(\.name))
        XCTAssertEqual(names, Set(model.variables.map(\.name)).union(model.trainableVariables.flatMap { v in
            ["momentum", "velocity"].map { "optimizer/\(v.name)/\($0)" }
        }))
    }

    func testDropoutRandomStateIsRestored() throws {
        let (model, url) = try trainedFile()
        let loaded = try Sequential.load(from: url)
        let dropout = try model.layer(named: "dropout"), restored = try loaded.layer(named: "dropout")
        XCTAssertNotNil(dropout.randomState)
        XCTAssertEqual(restored.randomState, dropout.randomState)
        XCTAssertNotEqual(restored.randomState, try tinyModel().layer(named: "dropout").randomState, "training moved the generator on")
        let x = Tensor.ones([2, 6])
        XCTAssertEqual(try restored(x, training: true).scalars, try dropout(x, training: true).scalars)
    }

    func testFormatVersionOneFilesStillLoad() throws {
        // Written by the format-version-1 writer: a plain safetensors file with the architecture.
        let model = try Architecture.seedCNN.make(seed: 5)
        let arch = try model.architecture.text()
        let v1 = try SafeTensors.encode(model.variables.map { ($0.name, $0.value) },
                                        metadata: ["format": "fovea", "format_version": "1", "architecture": arch])
        let url = dir.appendingPathComponent("v1.safetensors")
        try v1.write(to: url)
        let loaded = try Sequential.load(from: url)
        XCTAssertNil(loaded.optimizer)
        let probe = Tensor.uniform([2, 28, 28, 1], seed: 3)
        XCTAssertEqual(try loaded.predict(probe).scalars, try model.predict(probe).scalars)
        // A later version than this Fovea reads, or a version that is not a number, is refused.
        for version in ["3", "two", "0"] {
            let bad = dir.appendingPathComponent("v\(version).safetensors")
            try SafeTensors.encode([], metadata: ["format": "fovea", "format_version": version, "architecture": arch]).write(to: bad)
            XCTAssertThrowsError(try Sequential.load(from: bad)) { XCTAssertTrue("\($0)".contains("format version"), "\($0)") }
        }
        // Version 2 without its checksum is corrupt.
        let unsummed = dir.appendingPathComponent("unsummed.safetensors")
        try SafeTensors.encode([], metadata: ["format": "fovea", "format_version": "2", "architecture": arch]).write(to: unsummed)
        XCTAssertThrowsError(try Sequential.load(from: unsummed)) { XCTAssertTrue("\($0)".contains("without its checksum"), "\($0)") }
    }

    /// Re-encodes a saved file (with a valid checksum) after `edit`, and returns the error loading it.
    func loadError(_ url: URL, edit: (inout [(name: String, tensor: Tensor)], inout [String: String]) -> Void,
                   file: StaticString = #filePath, line: UInt = #line) throws -> String {
        var (metadata, tensors) = try SafeTensors.decode(Data(contentsOf: url), file: url.path)
        edit(&tensors, &metadata)
        let edited = dir.appendingPathComponent("edited.safetensors")
        try Sequential.encodeModelFile(tensors, metadata: metadata).write(to: edited)
        do {
            _ = try Sequential.load(from: edited)
            XCTFail("the edited file loaded", file: file, line: line)
            return ""
        } catch {
            XCTAssertTrue("\(error)".contains("edited.safetensors"), "error does not name the file: \(error)", file: file, line: line)
            return "\(error)"
        }
    }

    func testMismatchedOptimizerStateIsAnErrorNamingTensorAndShape() throws {
        let (_, url) = try trainedFile()
        func replace(_ name: String, with tensor: Tensor?) -> (inout [(name: String, tensor: Tensor)], inout [String: String]) -> Void {
            { tensors, _ in
                let i = tensors.firstIndex { $0.name == name }!
                if let tensor { tensors[i].tensor = tensor } else { tensors.remove(at: i) }
            }
        }
        var error = try loadError(url, edit: replace("optimizer/dense.kernel/momentum", with: .zeros([4, 7])))
        XCTAssertTrue(error.contains("'optimizer/dense.kernel/momentum' has shape (4, 7) but variable dense.kernel has shape (4, 6)"), error)
        error = try loadError(url, edit: replace("optimizer/dense.kernel/velocity", with: nil))
        XCTAssertTrue(error.contains("lacks 'optimizer/dense.kernel/velocity'"), error)
        error = try loadError(url, edit: { tensors, _ in tensors.append(("optimizer/dense_9.kernel/momentum", .zeros([2]))) })
        XCTAssertTrue(error.contains("'optimizer/dense_9.kernel/momentum' belongs to no variable"), error)
        error = try loadError(url, edit: { tensors, _ in tensors.append(("optimizer/dense.bias/rms", .zeros([6]))) })
        XCTAssertTrue(error.contains("Adam has no slot 'rms'"), error)
        error = try loadError(url, edit: { tensors, _ in tensors.append(("optimizer/nonsense", .zeros([6]))) })
        XCTAssertTrue(error.contains("not named optimizer/<variable>/<slot>"), error)
        error = try loadError(url, edit: replace("dense_1.kernel", with: .zeros([6, 4])))
        XCTAssertTrue(error.contains("'dense_1.kernel' has shape (6, 4) but the model expects (6, 3)"), error)
        error = try loadError(url, edit: { _, metadata in metadata["compile"] = nil })
        XCTAssertTrue(error.contains("optimizer state but no compile config"), error)
        error = try loadError(url, edit: { _, metadata in metadata["optimizer"] = "{\"class_name\": \"Adagrad\", \"config\": {\"learning_rate\": 0.01}}" })
        XCTAssertTrue(error.contains("'Adagrad' is not one Fovea can rebuild"), error)
        error = try loadError(url, edit: { _, metadata in metadata["training"] = "{\"epoch\": 1}" })
        XCTAssertTrue(error.contains("training position: 'step'"), error)
        error = try loadError(url, edit: { _, metadata in metadata["training"] = "not json" })
        XCTAssertTrue(error.contains("metadata 'training' is not a JSON object"), error)
        error = try loadError(url, edit: { _, metadata in metadata["random_state"] = "{\"dropout\": [\"0\", \"0\", \"0\", \"0\"]}" })
        XCTAssertTrue(error.contains("random_state of layer 'dropout'"), error)
        error = try loadError(url, edit: { _, metadata in metadata["random_state"] = "{\"dropout_7\": [\"1\", \"2\", \"3\", \"4\"]}" })
        XCTAssertTrue(error.contains("names layer 'dropout_7'"), error)
        error = try loadError(url, edit: { _, metadata in metadata["compile"] = "{\"loss\": \"hinge\", \"metrics\": []}" })
        XCTAssertTrue(error.contains("unknown loss 'hinge'"), error)
    }

    func testTruncatedAndBitFlippedFilesWithOptimizerStateAreErrorsForEveryLoader() throws {
        let (_, url) = try trainedFile()
        let good = try Data(contentsOf: url)
        let bad = dir.appendingPathComponent("bad.safetensors")
        let loaders: [(String, () throws -> Void)] = [
            ("load", { _ = try Sequential.load(from: bad) }),
            ("load uncompiled", { _ = try Sequential.load(from: bad, compile: false) }),
            ("loadWeights", { try self.tinyModel().loadWeights(from: bad) }),
            ("loadWeights lenient", { try self.tinyModel().loadWeights(from: bad, strict: false) }),
            ("WeightSnapshot", { _ = try WeightSnapshot(contentsOf: bad) }),
        ]
        // Each damaged file goes to `load` and to one other loader in turn, so every loader sees
        // every kind of damage without the test taking long.
        func expectErrors(_ what: String, _ index: Int) {
            for (name, load) in [loaders[0], loaders[1 + index % (loaders.count - 1)]] {
                XCTAssertThrowsError(try load(), "\(name), \(what)") { error in
                    XCTAssertTrue("\(error)".contains("bad.safetensors"), "\(name), \(what): \(error)")
                }
            }
        }
        for (n, cut) in stride(from: 0, to: good.count, by: 11).enumerated() {
            try good.prefix(cut).write(to: bad)
            expectErrors("cut at \(cut) of \(good.count)", n)
        }
        // A flipped bit at every other byte, the bit rotating: the length, the JSON header, the
        // metadata, the weights and the optimizer state are all covered by parsing or by the checksum.
        for (n, i) in stride(from: 0, to: good.count, by: 2).enumerated() {
            var bytes = [UInt8](good)
            bytes[i] ^= UInt8(1 << (n % 8))
            try Data(bytes).write(to: bad)
            expectErrors("bit \(n % 8) of byte \(i) flipped", n)
        }
    }

    func testOptimizerConfigsRoundTrip() throws {
        let optimizers: [Optimizer] = [
            SGD(), SGD(learningRate: 0.1, momentum: 0.8, nesterov: true), RMSprop(), RMSprop(learningRate: 0.02, rho: 0.7, momentum: 0.1, epsilon: 1e-6, centered: true),
            Adam(), Adam(learningRate: 0.0003, beta1: 0.8, beta2: 0.99, epsilon: 1e-8, amsgrad: true),
            SGD(schedule: .exponentialDecay(initial: 0.1, decaySteps: 100, decayRate: 0.96)),
            RMSprop(schedule: .piecewiseConstant(boundaries: [10, 20], values: [0.1, 0.01, 0.001])),
        ]
        for optimizer in optimizers {
            let json = try JSONSerialization.jsonObject(with: JSONSerialization.data(withJSONObject: optimizer.serializedConfig)) as! [String: Any]
            let rebuilt = try Optimizer.fromConfig(json)
            XCTAssertEqual(rebuilt.name, optimizer.name)
            XCTAssertEqual(rebuilt.schedule, optimizer.schedule)
            XCTAssertEqual(rebuilt.slotNames, optimizer.slotNames)
            XCTAssertEqual(NSDictionary(dictionary: rebuilt.serializedConfig), NSDictionary(dictionary: optimizer.serializedConfig))
        }
        // Keras's names and readable numbers.
        let text = String(decoding: try JSONSerialization.data(withJSONObject: Adam(learningRate: 0.001).serializedConfig, options: [.sortedKeys]), as: UTF8.self)
        XCTAssertEqual(text, #"{"class_name":"Adam","config":{"amsgrad":false,"beta_1":0.9,"beta_2":0.999,"epsilon":1e-07,"learning_rate":0.001}}"#)
        XCTAssertThrowsError(try Optimizer.fromConfig(["class_name": "Adam", "config": ["learning_rate": "fast"]])) {
            XCTAssertTrue("\($0)".contains("learning_rate"), "\($0)")
        }
    }
}
