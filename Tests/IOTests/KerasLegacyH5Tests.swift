import Foundation
import XCTest
import Fovea

/// Legacy Keras `.h5` model files, made by scripts/make_keras_h5_fixture.py with Keras 3's legacy
/// writer and with tf_keras (Keras 2).
final class KerasLegacyH5Tests: XCTestCase {
    static let cnnLayerTypes = ["Conv2D", "Conv2D", "MaxPooling2D", "Dropout", "Conv2D", "AveragePooling2D", "Flatten", "Dense",
                                "Activation", "Dropout", "Dense"]

    private func assertPredicts(_ model: Model, _ output: String, input: String = "keras_cnn_input.npy",
                                file: StaticString = #filePath, line: UInt = #line) throws {
        let x = try Tensor.readNumPy(from: try fixture(input))
        let expected = try Tensor.readNumPy(from: try fixture(output))
        let y = try model.predict(x)
        XCTAssertEqual(y.shape, expected.shape, file: file, line: line)
        XCTAssertLessThanOrEqual(maxAbsDifference(y, expected), 1e-5, file: file, line: line)
    }

    func testKeras3LegacyH5PredictsKerassNumbers() throws {
        let model = try Sequential.loadKeras(from: try fixture("keras3_cnn.h5"))
        XCTAssertEqual(model.name, "fixture_cnn")
        XCTAssertEqual(model.layers.map(\.typeName), Self.cnnLayerTypes)
        XCTAssertEqual(model.parameterCount, 618)
        try assertPredicts(model, "keras_cnn_output.npy")
    }

    func testTFKeras2H5PredictsKerassNumbers() throws {
        // Keras 2's config (batch_input_shape, dtype strings) and weight names (conv2d/kernel:0),
        // plus a training_config and optimizer weights, which are ignored.
        let model = try Sequential.load(fromAnyFormat: try fixture("tfkeras_cnn.h5"))
        XCTAssertEqual(model.name, "fixture_cnn")
        XCTAssertEqual(model.layers.map(\.typeName), Self.cnnLayerTypes)
        XCTAssertEqual(model.layers.map(\.name).suffix(2), ["dropout_1", "dense_1"])
        XCTAssertEqual(model.parameterCount, 618)
        try assertPredicts(model, "tfkeras_cnn_output.npy")
    }

    func testOldKerasH5WithFixedLengthStringsAndSplitLayerNames() throws {
        // h5py 2 wrote fixed-length strings; Keras 2.0–2.2 a bare list config without InputLayer;
        // and Keras splits large attributes into layer_names0, layer_names1, …
        let model = try Sequential.loadKeras(from: try fixture("tfkeras_cnn_h5py2.h5"))
        XCTAssertEqual(model.layers.map(\.typeName), Self.cnnLayerTypes)
        XCTAssertEqual(model.inputShape, [nil, 12, 12, 2])
        try assertPredicts(model, "tfkeras_cnn_output.npy")
    }

    func testTFKeras2FunctionalChainPredictsKerassNumbers() throws {
        let model = try Sequential.loadKeras(from: try fixture("tfkeras_chain.h5"))
        XCTAssertEqual(model.name, "fixture_chain")
        XCTAssertEqual(model.layers.map(\.typeName), ["InputLayer", "Conv1D", "MaxPooling1D", "Conv1D", "Flatten", "Dense"])
        try assertPredicts(model, "tfkeras_chain_output.npy", input: "keras_chain_input.npy")
    }

    /// The fixture CNN declared in Fovea, freshly initialised.
    private func freshCNN(lastUnits: Int = 3) throws -> Model {
        try Sequential([
            Input(shape: [12, 12, 2]),
            Conv2D(filters: 4, kernelSize: (3, 3), padding: .same, activation: .relu),
            Conv2D(filters: 6, kernelSize: (3, 3), strides: (2, 2), padding: .same, activation: .relu),
            MaxPooling2D(poolSize: (2, 2)), Dropout(rate: 0.25),
            Conv2D(filters: 5, kernelSize: (2, 2), activation: .tanh),
            AveragePooling2D(poolSize: (2, 2), strides: (1, 1), padding: .same),
            Flatten(), Dense(units: 8), ActivationLayer(.relu), Dropout(rate: 0.1),
            Dense(units: lastUnits, activation: .softmax),
        ], name: "mine")
    }

    func testKerasWeightsLoadIntoAMatchingModel() throws {
        // Keras 2's save_weights("w.h5"): layer_names on the root group.
        let model = try freshCNN()
        try model.loadKerasWeights(from: try fixture("tfkeras_cnn_weights.h5"))
        try assertPredicts(model, "tfkeras_cnn_output.npy")
        // The weights of a full legacy model file, as Keras's load_weights reads them.
        let fromModelFile = try freshCNN()
        try fromModelFile.loadKerasWeights(from: try fixture("keras3_cnn.h5"))
        try assertPredicts(fromModelFile, "keras_cnn_output.npy")
        // Keras 3's .weights.h5 (layers/conv2d/vars/0), here the one inside the .keras fixture.
        let url = try makeTemporaryDirectory(self).appendingPathComponent("cnn.weights.h5")
        try Data(try ZipArchive(contentsOf: try fixture("keras_cnn.keras")).read("model.weights.h5")).write(to: url)
        let fromKeras3 = try freshCNN()
        try fromKeras3.loadKerasWeights(from: url)
        try assertPredicts(fromKeras3, "keras_cnn_output.npy")
    }

    func testKerasWeightsForADifferentModelAreRefusedAndChangeNothing() throws {
        let model = try freshCNN(lastUnits: 4)
        let x = try Tensor.readNumPy(from: try fixture("keras_cnn_input.npy"))
        let before = try model.predict(x).scalars
        assertFoveaError(containing: ["tfkeras_cnn_weights.h5", "'dense_1/kernel:0'", "(8, 3)", "(8, 4)"]) {
            try model.loadKerasWeights(from: try fixture("tfkeras_cnn_weights.h5"))
        }
        XCTAssertEqual(try model.predict(x).scalars, before, "a refused file must leave every weight as it was")
        let shorter = try Sequential([Input(shape: [4]), Dense(units: 2)], name: "short")
        assertFoveaError(containing: ["weights for 5 layers", "conv2d, conv2d_1, conv2d_2, dense, dense_1", "1 layers with weights"]) {
            try shorter.loadKerasWeights(from: try fixture("tfkeras_cnn_weights.h5"))
        }
    }

    func testKerasWeightsByNameAndSkippingMismatches() throws {
        // The transfer-learning pattern: a pretrained file into a model with a new head.
        let newHead = try freshCNN(lastUnits: 4)
        let original = try freshCNN()
        try original.loadKerasWeights(from: try fixture("tfkeras_cnn_weights.h5"))
        let head = try XCTUnwrap(newHead.layers.last)
        let headBefore = head.variables.map(\.value.scalars)
        assertFoveaError(containing: ["'dense_1/kernel:0'", "(8, 3)", "(8, 4)"]) {
            try newHead.loadKerasWeights(from: try fixture("tfkeras_cnn_weights.h5"), byName: true)
        }
        let skipped = try newHead.loadKerasWeights(from: try fixture("tfkeras_cnn_weights.h5"), byName: true, skipMismatch: true)
        XCTAssertEqual(skipped, ["dense_1"])
        XCTAssertEqual(head.variables.map(\.value.scalars), headBefore, "the skipped layer keeps its weights")
        for (a, b) in zip(newHead.layers.dropLast(), original.layers.dropLast()) {
            XCTAssertEqual(a.variables.map(\.value.scalars), b.variables.map(\.value.scalars), a.name)
        }
        // By name, the model may lack some of the file's layers: a model of only the first two
        // convolutions, named as in the file.
        let stem = try Sequential([Input(shape: [12, 12, 2]), Conv2D(filters: 4, kernelSize: (3, 3), padding: .same, name: "conv2d"),
                                   Conv2D(filters: 6, kernelSize: (3, 3), strides: (2, 2), padding: .same, name: "conv2d_1")])
        let skippedNone = try stem.loadKerasWeights(from: try fixture("tfkeras_cnn_weights.h5"), byName: true)
        XCTAssertEqual(skippedNone, [])
        XCTAssertEqual(try stem.layer(named: "conv2d_1").variables[0].value.scalars, original.layers[1].variables[0].value.scalars)
    }

    func testWeightsOnlyFileIsNotAModel() {
        assertFoveaError(containing: ["tfkeras_cnn_weights.h5", "weights file", "save_weights", "loadKerasWeights(from:)"]) {
            try Sequential.load(fromAnyFormat: try fixture("tfkeras_cnn_weights.h5"))
        }
    }

    func testOnceUnsupportedBatchNormalizationFixtureNowLoads() throws {
        let model = try Model.loadKeras(from: try fixture("tfkeras_unsupported.h5"))
        XCTAssertTrue(model.layers.contains { $0 is BatchNormalization })
    }

    /// The fixture's bytes with every occurrence of `old` replaced by `new` (of the same length), so
    /// the strings in its global heap change while the HDF5 structure stays valid.
    private func patched(_ name: String, _ old: String, _ new: String) throws -> [UInt8] {
        let (from, to) = (Array(old.utf8), Array(new.utf8))
        precondition(from.count == to.count)
        var bytes = try fixtureBytes(name)
        var replaced = 0
        var i = 0
        while i + from.count <= bytes.count {
            if Array(bytes[i..<(i + from.count)]) == from { bytes.replaceSubrange(i..<(i + from.count), with: to); replaced += 1 }
            i += 1
        }
        XCTAssertGreaterThan(replaced, 0, "'\(old)' does not occur in \(name)")
        return bytes
    }

    func testLayerClassFoveaLacksIsNamed() throws {
        // Keras's Masking in place of the Flatten: a layer class Fovea does not have.
        let bytes = try patched("tfkeras_cnn.h5", #""class_name": "Flatten""#, #""class_name": "Masking""#)
        assertFoveaError(containing: ["masked.h5", "layer 'flatten' (Masking)", "'Masking' is not registered", "it implements InputLayer"]) {
            try Sequential.loadKeras(bytes: bytes, file: "masked.h5")
        }
    }

    func testKeras1FileIsRefusedWithTheFix() throws {
        let bytes = try patched("tfkeras_cnn.h5", "2.21.0", "1.21.0")
        assertFoveaError(containing: ["old.h5", "Keras 1.21.0", "Keras 2 and 3", "keras.saving.load_model('old.h5', compile=False)"]) {
            try Sequential.loadKeras(bytes: bytes, file: "old.h5")
        }
    }

    func testH5OutsideTheSubsetKeepsTheHint() throws {
        var bytes = try fixtureBytes("tfkeras_cnn.h5")
        bytes[8] = 2  // a version-2 superblock, as libver='latest' writes
        assertFoveaError(containing: ["latest.h5", "superblock version 2", "libver='latest'", "model.save('model.keras')"]) {
            try Sequential.loadKeras(bytes: bytes, file: "latest.h5")
        }
    }

    func testDamagedH5FilesAreErrorsNotCrashes() throws {
        let x = try Tensor.readNumPy(from: try fixture("keras_cnn_input.npy"))
        // Variable-length strings (h5py 3) and fixed-length ones (h5py 2) are both exercised; the
        // steps keep this to a few thousand loads (about a millisecond each).
        for (name, flipStep, minimumRejected) in [("tfkeras_cnn.h5", 13, 400), ("tfkeras_cnn_h5py2.h5", 31, 150)] {
            let bytes = try fixtureBytes(name)
            let result = feedDamagedCopies(of: bytes, truncationStep: 7, flipStep: flipStep) { damaged in
                _ = try Sequential.loadKeras(bytes: damaged, file: "damaged.h5").predict(x)
            }
            // The superblock records the file's length, so every cut is noticed.
            XCTAssertEqual(result.truncatedRejected, (bytes.count + 6) / 7, name)
            // Flips in float data, free space or unread attributes load (HDF5 has no checksums in
            // this layout); those in structure, names and the config are errors (about 1 in 6 here).
            XCTAssertGreaterThanOrEqual(result.flippedRejected, minimumRejected, name)
        }
    }
}
