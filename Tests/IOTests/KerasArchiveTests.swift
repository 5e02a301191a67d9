import Foundation
import XCTest
import Fovea

final class KerasArchiveTests: XCTestCase {
    func testKerasSavedSequentialPredictsKerassNumbers() throws {
        let model = try Sequential.loadKeras(from: try fixture("keras_cnn.keras"))
        XCTAssertEqual(model.name, "fixture_cnn")
        XCTAssertEqual(model.layers.map(\.typeName), ["Conv2D", "Conv2D", "MaxPooling2D", "Dropout", "Conv2D",
                                                      "AveragePooling2D", "Flatten", "Dense", "Activation", "Dropout", "Dense"])
        XCTAssertEqual(model.parameterCount, 618)
        let x = try Tensor.readNumPy(from: try fixture("keras_cnn_input.npy"))
        let expected = try Tensor.readNumPy(from: try fixture("keras_cnn_output.npy"))
        let y = try model.predict(x)
        XCTAssertEqual(y.shape, [4, 3])
        XCTAssertLessThanOrEqual(maxAbsDifference(y, expected), 1e-5)
    }

    func testNpzWeightsVariantPredictsTheSame() throws {
        let model = try Sequential.loadKeras(from: try fixture("keras_cnn_npz.keras"))
        let x = try Tensor.readNumPy(from: try fixture("keras_cnn_input.npy"))
        let expected = try Tensor.readNumPy(from: try fixture("keras_cnn_output.npy"))
        XCTAssertLessThanOrEqual(maxAbsDifference(try model.predict(x), expected), 1e-5)
    }

    func testFunctionalChainPredictsKerassNumbers() throws {
        let model = try Sequential.loadKeras(from: try fixture("keras_chain.keras"))
        XCTAssertEqual(model.name, "fixture_chain")
        XCTAssertEqual(model.layers.map(\.typeName), ["InputLayer", "Conv1D", "MaxPooling1D", "Conv1D", "Flatten", "Dense"])
        let x = try Tensor.readNumPy(from: try fixture("keras_chain_input.npy"))
        let expected = try Tensor.readNumPy(from: try fixture("keras_chain_output.npy"))
        XCTAssertLessThanOrEqual(maxAbsDifference(try model.predict(x), expected), 1e-5)
    }

    func testOnceUnsupportedFixturesNowLoad() throws {
        // These archives were kept to show the errors Fovea gave before it had batch normalization
        // and graphs; they load now (Keras's numbers for such models: GraphFixtureTests).
        let normalized = try Model.loadKeras(from: try fixture("keras_unsupported.keras"))
        XCTAssertTrue(normalized.layers.contains { $0 is BatchNormalization })
        let branching = try Model.loadKeras(from: try fixture("keras_branching.keras"))
        XCTAssertTrue(branching.layers.contains { $0 is Add })
        XCTAssertTrue(branching.summary().contains("Connected to"), branching.summary())
    }

    func testUnregisteredLayerIsNamed() throws {
        var config = try JSONValue(parsing: Data(try ZipArchive(contentsOf: try fixture("keras_cnn.keras")).read("config.json")))
        guard case .object(var top) = config, case .object(var inner) = top["config"]!, case .array(var layers) = inner["layers"]!,
              case .object(var flatten) = layers[7] else { return XCTFail("unexpected fixture config") }
        XCTAssertEqual(flatten["class_name"], "Flatten")
        flatten["class_name"] = "Masking"
        layers[7] = .object(flatten); inner["layers"] = .array(layers); top["config"] = .object(inner); config = .object(top)
        assertFoveaError(containing: ["masked", "'flatten'", "'Masking' is not registered", "it implements InputLayer"]) {
            try Model.fromConfig(config, source: "masked")
        }
    }

    func testKerasPickledNpzWeightsAreRefusedWithTheFix() {
        assertFoveaError(containing: ["model.weights.npz", "pickled", "keras.saving.load_model("]) {
            try Sequential.loadKeras(from: try fixture("keras_cnn_keras_npz.keras"))
        }
    }

    func testWeightsOnlyHDF5FileIsRefusedAsAModelWithTheFix() throws {
        // The weights file inside a .keras archive is itself HDF5: passed on its own it holds no architecture.
        let archive = try ZipArchive(contentsOf: try fixture("keras_cnn.keras"))
        let h5 = try archive.read("model.weights.h5")
        assertFoveaError(containing: ["model.weights.h5", "weights file", "no model_config", "loadKerasWeights(from:)"]) {
            try Sequential.loadKeras(bytes: h5, file: "model.weights.h5")
        }
    }

    func testHDF5OutsideTheSubsetSaysHowToGetAReadableFile() throws {
        // h5py with compression: chunked, gzip-filtered datasets.
        assertFoveaError(containing: ["keras_chain_gzip.keras [model.weights.h5]", "compression", "layers/conv1d/vars/0",
                                      "model.save('model.keras')"]) {
            try Sequential.loadKeras(from: try fixture("keras_chain_gzip.keras"))
        }
        // libver='latest' files start with a version-2 superblock.
        let archive = try ZipArchive(contentsOf: try fixture("keras_chain.keras"))
        var h5 = try archive.read("model.weights.h5")
        h5[8] = 2
        var zip = ZipWriter()
        try zip.add("config.json", try archive.read("config.json"))
        try zip.add("model.weights.h5", h5)
        assertFoveaError(containing: ["latest.keras [model.weights.h5]", "superblock version 2", "libver='latest'", "model.save('model.keras')"]) {
            try Sequential.loadKeras(bytes: try zip.finish(), file: "latest.keras")
        }
    }

    func testWrittenArchiveRoundTripsForEveryArchitecture() throws {
        let dir = try makeTemporaryDirectory(self)
        let x = Tensor.uniform([2, 28, 28, 1], seed: 5)
        for architecture in Architecture.mnistNetworks {
            let model = try architecture.make(seed: 11)
            let url = dir.appendingPathComponent("\(architecture.rawValue).keras")
            try model.saveKeras(to: url)
            let loaded = try Sequential.loadKeras(from: url)
            XCTAssertEqual(loaded.layers.map(\.name), model.layers.map(\.name), "\(architecture)")
            XCTAssertEqual(loaded.summary(), model.summary(), "\(architecture)")
            XCTAssertEqual(try loaded.predict(x).scalars, try model.predict(x).scalars, "\(architecture)")
            XCTAssertEqual(try Sequential.load(fromAnyFormat: url).parameterCount, model.parameterCount)
        }
    }

    func testReadArchiveWrittenAgainIsTheSameModel() throws {
        // Keras → Fovea → .keras → Fovea keeps the numbers: the writer's HDF5 is what the reader reads.
        let model = try Sequential.loadKeras(from: try fixture("keras_cnn.keras"))
        let again = try Sequential.loadKeras(bytes: try model.kerasArchive(), file: "rewritten.keras")
        let x = try Tensor.readNumPy(from: try fixture("keras_cnn_input.npy"))
        XCTAssertEqual(try again.predict(x).scalars, try model.predict(x).scalars)
        XCTAssertEqual(again.layers.map(\.name), model.layers.map(\.name))
    }

    func testWrittenConfigHasKerasSerializationFields() throws {
        let model = try Sequential([Input(shape: [6, 6, 1]), Conv2D(filters: 2, kernelSize: 3, kernelRegularizer: .l1l2(l1: 0, l2: 0.01)),
                                    Flatten(), Dropout(0.5), Dense(2)], name: "small")
        let config = try XCTUnwrap(try JSONSerialization.jsonObject(with: try model.kerasConfig().data()) as? [String: Any])
        XCTAssertEqual(config["class_name"] as? String, "Sequential")
        XCTAssertEqual(config["module"] as? String, "keras")
        let layers = try XCTUnwrap((config["config"] as? [String: Any])?["layers"] as? [[String: Any]])
        XCTAssertEqual(layers.map { $0["class_name"] as? String }, ["InputLayer", "Conv2D", "Flatten", "Dropout", "Dense"])
        XCTAssertTrue(layers.allSatisfy { $0["module"] as? String == "keras.layers" && $0["registered_name"] is NSNull })
        let conv = try XCTUnwrap(layers[1]["config"] as? [String: Any])
        XCTAssertEqual((conv["kernel_initializer"] as? [String: Any])?["module"] as? String, "keras.initializers")
        XCTAssertEqual((conv["kernel_regularizer"] as? [String: Any])?["module"] as? String, "keras.regularizers")
        XCTAssertEqual((layers[1]["build_config"] as? [String: Any])?["input_shape"] as? [NSNumber?]?, nil)
        let built = try XCTUnwrap((layers[1]["build_config"] as? [String: Any])?["input_shape"] as? [Any])
        XCTAssertTrue(built[0] is NSNull)
        XCTAssertEqual(built.dropFirst().map { ($0 as? NSNumber)?.intValue }, [6, 6, 1])
        // A 64-bit Fovea seed does not fit Keras's 32-bit seeds; it is left out rather than truncated.
        let dropout = try XCTUnwrap(layers[3]["config"] as? [String: Any])
        XCTAssertTrue(dropout["seed"] is NSNull || (dropout["seed"] as? NSNumber).map { $0.int64Value <= Int64(Int32.max) } == true)
        // The archive holds exactly Keras's three entries, weights in HDF5.
        let archive = try ZipArchive(try model.kerasArchive().withUnsafeBufferPointer { Data(buffer: $0) }, file: "small.keras")
        XCTAssertEqual(archive.names, ["metadata.json", "config.json", "model.weights.h5"])
    }

    func testCustomLayerCannotBeWrittenForKeras() throws {
        final class Doubler: Layer {
            override func forward(_ input: Tensor, training: Bool) throws -> Tensor { input * 2 }
        }
        let model = try Sequential([Input(shape: [3]), Doubler(name: "doubler"), Dense(1)])
        assertFoveaError(containing: ["'doubler'", "Doubler", "ConfigurableLayer"]) { try model.kerasArchive() }
    }

    func testMismatchedWeightsAreNamed() throws {
        // Take the Keras archive and swap in a config whose first Conv2D has more filters.
        let archive = try ZipArchive(contentsOf: try fixture("keras_cnn.keras"))
        let config = String(decoding: try archive.read("config.json"), as: UTF8.self)
        let patched = config.replacingOccurrences(of: "\"filters\": 4,", with: "\"filters\": 7,")
        XCTAssertNotEqual(patched, config)
        var zip = ZipWriter()
        try zip.add("config.json", Array(patched.utf8))
        try zip.add("model.weights.h5", try archive.read("model.weights.h5"))
        assertFoveaError(containing: ["patched.keras", "layers/conv2d/vars/0", "(3, 3, 2, 4)", "(3, 3, 2, 7)"]) {
            try Sequential.loadKeras(bytes: try zip.finish(), file: "patched.keras")
        }
    }

    func testMissingWeightsAndConfigAreErrors() throws {
        var zip = ZipWriter()
        try zip.add("config.json", Array(#"{"class_name": "Sequential", "config": {"layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 3]}}]}}"#.utf8))
        assertFoveaError(containing: ["empty.keras", "model.weights.h5", "model.weights.npz"]) {
            try Sequential.loadKeras(bytes: try zip.finish(), file: "empty.keras")
        }
        var other = ZipWriter()
        try other.add("readme.txt", Array("hello".utf8))
        assertFoveaError(containing: ["other.zip", "no config.json", "readme.txt"]) {
            try Sequential.loadKeras(bytes: try other.finish(), file: "other.zip")
        }
    }

    func testDamagedKerasArchivesAreErrorsNotCrashes() throws {
        let bytes = try fixtureBytes("keras_cnn.keras")
        let x = try Tensor.readNumPy(from: try fixture("keras_cnn_input.npy"))
        // Every other truncation, and a flipped bit every 11 bytes (the archive is ~40 KB).
        let result = feedDamagedCopies(of: bytes, truncationStep: 2, flipStep: 11) { damaged in
            let model = try Sequential.loadKeras(bytes: damaged, file: "damaged.keras")
            _ = try model.predict(x)
        }
        XCTAssertEqual(result.truncatedRejected, (bytes.count + 1) / 2, "every truncated archive must be rejected")
        // A flip in the stored weights' bytes is caught by the zip CRC; only flips in bytes nobody
        // checks (zip timestamps, attributes, comment-free padding) may load.
        XCTAssertGreaterThan(result.flippedRejected, bytes.count / 11 * 9 / 10)
    }

    func testWeightsOfAnArchiveAreListed() throws {
        let weights = try KerasArchive.readWeights(bytes: try fixtureBytes("keras_cnn.keras"), file: "keras_cnn.keras")
        XCTAssertEqual(weights.keys.sorted(), ["layers/conv2d/vars/0", "layers/conv2d/vars/1", "layers/conv2d_1/vars/0", "layers/conv2d_1/vars/1",
                                               "layers/conv2d_2/vars/0", "layers/conv2d_2/vars/1", "layers/dense/vars/0", "layers/dense/vars/1",
                                               "layers/dense_1/vars/0", "layers/dense_1/vars/1"])
        XCTAssertEqual(weights["layers/conv2d_1/vars/0"]?.shape, [3, 3, 4, 6])
        // The h5 and the npz variant hold the same numbers.
        let npz = try KerasArchive.readWeights(bytes: try fixtureBytes("keras_cnn_npz.keras"), file: "keras_cnn_npz.keras")
        XCTAssertEqual(npz, weights)
    }

    func testDamagedHDF5IsAnErrorNotACrash() throws {
        let archive = try ZipArchive(contentsOf: try fixture("keras_cnn.keras"))
        let h5 = try archive.read("model.weights.h5")
        // Damage the HDF5 file itself, below the zip's CRC, so that the HDF5 reader sees it.
        let result = feedDamagedCopies(of: h5, truncationStep: 5, flipStep: 2) { damaged in
            var zip = ZipWriter()
            try zip.add("model.weights.h5", damaged)
            _ = try KerasArchive.readWeights(bytes: try zip.finish(), file: "damaged-h5.keras")
        }
        // Cutting the file short is always noticed; Keras's file has slack (free space, unused
        // attributes), and flips in float data decode fine, so only some flips are errors.
        XCTAssertEqual(result.truncatedRejected, (h5.count + 4) / 5)
        XCTAssertGreaterThan(result.flippedRejected, 100)
    }
}
