import Foundation
import XCTest
import Fovea

final class ModelFileTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("fovea-model-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testEveryArchitectureRoundTripsWithIdenticalPredictions() throws {
        let x = Tensor.uniform([3, 28, 28, 1], seed: 4)
        for architecture in Architecture.mnistNetworks {
            let model = try architecture.make(seed: 21)
            let url = dir.appendingPathComponent("\(architecture.rawValue).safetensors")
            try model.save(to: url)
            let loaded = try Sequential.load(from: url)
            XCTAssertEqual(loaded.layers.map(\.name), model.layers.map(\.name))
            XCTAssertEqual(loaded.parameterCount, model.parameterCount)
            XCTAssertEqual(loaded.summary(), model.summary())
            XCTAssertEqual(try loaded.predict(x).scalars, try model.predict(x).scalars, "\(architecture)")
        }
    }

    func testLayerConfigurationsSurviveTheRoundTrip() throws {
        let model = try Sequential([
            Input(shape: [9, 8, 2]),
            Conv2D(filters: 3, kernelSize: (3, 2), strides: (2, 1), padding: .same, activation: .tanh, useBias: false,
                   kernelInitializer: .heNormal, kernelRegularizer: .l1l2(l1: 0.01, l2: 0.02), kernelConstraint: .maxNorm(maxValue: 3, axes: [0, 1, 2]),
                   name: "edges"),
            AveragePooling2D(poolSize: 2, strides: 1, padding: .same),
            MaxPooling2D(poolSize: (2, 3), padding: .same),
            Flatten(), Dropout(0.3, seed: 5), Dense(units: 4, activation: .sigmoid, biasConstraint: .nonNeg), ActivationLayer(.softmax),
        ], seed: 2)
        let url = dir.appendingPathComponent("custom.safetensors")
        try model.save(to: url)
        let loaded = try Sequential.load(from: url)
        let conv = try XCTUnwrap(loaded.layers[0] as? Conv2D)
        XCTAssertEqual(conv.name, "edges")
        XCTAssertEqual(conv.kernelSize.0, 3); XCTAssertEqual(conv.kernelSize.1, 2)
        XCTAssertEqual(conv.strides.0, 2); XCTAssertEqual(conv.padding, .same)
        XCTAssertEqual(conv.activation.name, "tanh"); XCTAssertFalse(conv.useBias)
        XCTAssertEqual(conv.kernelRegularizer, .l1l2(l1: 0.01, l2: 0.02))
        XCTAssertEqual(conv.kernelConstraint, .maxNorm(maxValue: 3, axes: [0, 1, 2]))
        XCTAssertEqual((loaded.layers[4] as? Dropout)?.rate, 0.3)
        XCTAssertEqual((loaded.layers[5] as? Dense)?.biasConstraint, .nonNeg)
        let x = Tensor.uniform([2, 9, 8, 2], seed: 1)
        XCTAssertEqual(try loaded.predict(x).scalars, try model.predict(x).scalars)
    }

    func testWeightsOnlyStrictAndLenient() throws {
        let model = try Architecture.seedCNN.make(seed: 1)
        let url = dir.appendingPathComponent("weights.safetensors")
        try model.saveWeights(to: url)
        let other = try Architecture.seedCNN.make(seed: 2)
        try other.loadWeights(from: url)
        XCTAssertEqual(other.variables.map(\.value.scalars), model.variables.map(\.value.scalars))
        XCTAssertThrowsError(try Sequential.load(from: url)) { XCTAssertTrue("\($0)".contains("no architecture"), "\($0)") }

        // A model with one extra layer: strict refuses and names the difference, lenient loads the shared names.
        let bigger = try Sequential([Input(shape: [28, 28, 1])] + (try Architecture.seedCNN.make(seed: 3).layers.dropLast()) + [Dense(64), Dense(10, activation: .softmax)], seed: 3)
        XCTAssertThrowsError(try bigger.loadWeights(from: url)) { error in
            XCTAssertTrue("\(error)".contains("dense_2.kernel"), "\(error)")
        }
        let widerHead = try Sequential([Input(shape: [28, 28, 1]), Flatten(), Dense(10)], seed: 1)
        let denseURL = dir.appendingPathComponent("dense.safetensors")
        try Sequential([Input(shape: [28, 28, 1]), Flatten(), Dense(12)], seed: 1).saveWeights(to: denseURL)
        XCTAssertThrowsError(try widerHead.loadWeights(from: denseURL, strict: false)) { error in
            XCTAssertTrue("\(error)".contains("dense.kernel") && "\(error)".contains("(784, 12)") && "\(error)".contains("(784, 10)"), "\(error)")
        }
    }

    func testSavingReplacesAtomicallyAndLeavesNoTemporaryFiles() throws {
        let url = dir.appendingPathComponent("m.safetensors")
        try Architecture.dense.make(seed: 1).save(to: url)
        try Architecture.seedCNN.make(seed: 1).save(to: url)
        XCTAssertEqual(try Sequential.load(from: url).parameterCount, 93_322)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["m.safetensors"])
    }

    func testTruncatedAndBitFlippedFilesAreErrors() throws {
        let url = dir.appendingPathComponent("good.safetensors")
        try Architecture.seedCNN.make(seed: 1).save(to: url)
        let good = try Data(contentsOf: url)
        let bad = dir.appendingPathComponent("bad.safetensors")
        // Every truncation point in the header and a spread of them in the data.
        let cuts = Array(0..<600) + stride(from: 600, to: good.count, by: 9973).map { $0 }
        for cut in cuts {
            try good.prefix(cut).write(to: bad)
            XCTAssertThrowsError(try Sequential.load(from: bad), "cut at \(cut)") { error in
                XCTAssertTrue("\(error)".contains("bad.safetensors"), "\(error)")
            }
        }
        // The checksum covers the metadata, the tensor entries and the data: a flipped byte in the
        // length, the header or the weights is an error, never a silently different model.
        for i in Array(stride(from: 0, to: 2000, by: 11)) + Array(stride(from: 2000, to: good.count, by: 9973)) {
            var bytes = [UInt8](good)
            bytes[i] ^= 0x5A
            try Data(bytes).write(to: bad)
            XCTAssertThrowsError(try Sequential.load(from: bad), "byte \(i) flipped") { error in
                XCTAssertTrue("\(error)".contains("bad.safetensors"), "\(error)")
            }
        }
        XCTAssertThrowsError(try Sequential.load(from: dir.appendingPathComponent("missing.safetensors"))) {
            XCTAssertTrue("\($0)".contains("missing.safetensors"), "\($0)")
        }
    }

    func testArchitecturesWithUnsupportedPartsAreErrors() throws {
        func model(_ layers: [JSONValue]) -> JSONValue { ["class_name": "Sequential", "config": ["name": "m", "layers": .array(layers)]] }
        XCTAssertThrowsError(try Sequential.fromArchitecture(model([["class_name": "InputLayer", "config": ["batch_shape": [nil, nil, 3]]]]))) {
            XCTAssertTrue("\($0)".contains("unknown or non-positive"), "\($0)")
        }
        XCTAssertThrowsError(try Sequential.fromArchitecture(model([["class_name": "LSTM", "config": ["units": 3]]]))) {
            XCTAssertTrue("\($0)".contains("'LSTM' is not registered"), "\($0)")
        }
        XCTAssertThrowsError(try Sequential.fromArchitecture(model([["class_name": "Conv2D", "config": ["filters": "many", "kernel_size": 3]]]))) {
            XCTAssertTrue("\($0)".contains("'filters' must be an integer"), "\($0)")
        }
        XCTAssertThrowsError(try Sequential.fromArchitecture(["class_name": "Functional"])) { XCTAssertTrue("\($0)".contains("no config object"), "\($0)") }
    }

    func testNewerFormatVersionIsRefused() throws {
        let data = try SafeTensors.encode([("w", Tensor([1, 2]))], metadata: ["format": "fovea", "format_version": "99"])
        let url = dir.appendingPathComponent("future.safetensors")
        try data.write(to: url)
        XCTAssertThrowsError(try Sequential.load(from: url)) { XCTAssertTrue("\($0)".contains("version 99"), "\($0)") }
        let decoded = try SafeTensors.decode(data, file: "x")
        XCTAssertEqual(decoded.tensors.first?.tensor.scalars, [1, 2])
        XCTAssertEqual(decoded.metadata["format_version"], "99")
    }
}

final class AbandonedTemporaryFileTests: XCTestCase {
    func testSavingClearsTemporaryFilesOfKilledWriters() throws {
        let dir = try makeTemporaryDirectory(self)
        // A writer that is gone (a finished, reaped process) and one that is alive (this test's parent).
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let abandoned = ".m.safetensors.tmp-\(finished.processIdentifier)-42", live = ".m.safetensors.tmp-\(getppid())-7"
        for name in [abandoned, live, ".other.safetensors.tmp-\(finished.processIdentifier)-1"] {
            try Data("half".utf8).write(to: dir.appendingPathComponent(name))
        }
        try Architecture.dense.make(seed: 1).save(to: dir.appendingPathComponent("m.safetensors"))
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
        XCTAssertEqual(names, ["m.safetensors", live, ".other.safetensors.tmp-\(finished.processIdentifier)-1"])
    }
}
