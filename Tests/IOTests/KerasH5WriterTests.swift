import Foundation
import XCTest
import Fovea

/// Every object of `h5` by path: its kind, attributes and (for a dataset) its array.
private func tree(_ h5: HDF5File) throws -> [String: String] {
    var result: [String: String] = [:]
    func walk(_ path: String) throws {
        result[path] = "group \(try h5.attributes(of: path).sorted { $0.key < $1.key })"
        for (name, kind) in try h5.members(of: path) {
            let child = path.isEmpty ? name : "\(path)/\(name)"
            switch kind {
            case .group: try walk(child)
            case .dataset: result[child] = "dataset \(try h5.dataset(child)) \(try h5.attributes(of: child))"
            case .other: result[child] = "other"
            }
        }
    }
    try walk("")
    return result
}

/// The text of a scalar string attribute.
private func text(_ attribute: HDF5Attribute?) throws -> String {
    guard case .strings(let s)? = attribute, s.count == 1 else { throw FoveaError("not a string attribute: \(String(describing: attribute))") }
    return s[0]
}

/// A Keras model file rewritten by Fovea: its config, versions, layers and weights read with
/// Fovea's reader, then written with `KerasLegacyH5.encodeModel`.
func rewriteKerasModel(_ h5: HDF5File) throws -> [UInt8] {
    let root = try h5.attributes(of: "")
    return try KerasLegacyH5.encodeModel(modelConfig: try text(root["model_config"]), kerasVersion: try text(root["keras_version"]),
                                  backend: try text(root["backend"]), layers: try layersToWrite(h5, group: "model_weights"))
}

private func layersToWrite(_ h5: HDF5File, group: String) throws -> [KerasLegacyH5.LayerToWrite] {
    let weights = Dictionary(uniqueKeysWithValues: try KerasLegacyH5.weights(in: h5, group: group).map { ($0.layer, $0.weights) })
    return try KerasLegacyH5.layerNames(in: h5, group: group).map { name in
        (name, (weights[name] ?? []).map { ($0.name, $0.array.shape, $0.array.floats) })
    }
}

/// Where Fovea-written files go for scripts/check_h5_interop.py, when FOVEA_INTEROP_DIR is set.
private func interopDirectory() throws -> URL? {
    guard let path = ProcessInfo.processInfo.environment["FOVEA_INTEROP_DIR"], !path.isEmpty else { return nil }
    let url = URL(fileURLWithPath: path, isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Fovea's writer of legacy Keras `.h5` files: what it writes must read back, through Fovea's reader,
/// exactly as the Keras-written file it copies; scripts/check_h5_interop.py checks the same files
/// with h5py and Keras (FOVEA_INTEROP_DIR).
final class KerasH5WriterTests: XCTestCase {
    func testRewrittenKerasModelsReadBackExactlyAsKerassOwn() throws {
        let interop = try interopDirectory()
        let x = try Tensor.readNumPy(from: try fixture("keras_cnn_input.npy"))
        let expected = try Tensor.readNumPy(from: try fixture("keras_cnn_output.npy"))
        // A plain CNN, and one with a 66 KB model_config and layer_names split into two attributes.
        for name in ["keras3_cnn.h5", "keras3_long_names.h5"] {
            let original = try HDF5File(contentsOf: try fixture(name))
            let bytes = try rewriteKerasModel(original)
            let rewritten = try HDF5File(bytes: bytes, file: "fovea-\(name)")
            // Same groups, attributes (names and values), datasets and arrays.
            let (a, b) = (try tree(original), try tree(rewritten))
            XCTAssertEqual(a.keys.sorted(), b.keys.sorted(), name)
            for key in a.keys.sorted() where a[key] != b[key] {
                XCTFail("\(name): '\(key)' differs: Keras \(a[key]!.prefix(300)) vs Fovea \(b[key]?.prefix(300) ?? "nothing")")
            }
            let model = try Sequential.loadKeras(bytes: bytes, file: "fovea-\(name)")
            XCTAssertLessThanOrEqual(maxAbsDifference(try model.predict(x), expected), 1e-5, name)
            if let interop { try Data(bytes).write(to: interop.appendingPathComponent(name)) }
        }
    }

    func testWeightsFileLoadsIntoAMatchingModel() throws {
        let original = try HDF5File(contentsOf: try fixture("keras3_cnn.h5"))
        let layers = try layersToWrite(original, group: "model_weights")
        let root = try original.attributes(of: "")
        // A model with the architecture and all-zero weights, then the weights from a weights file.
        let zeroed = layers.map { layer in (layer.name, layer.weights.map { ($0.name, $0.shape, [Float](repeating: 0, count: $0.values.count)) }) }
        let modelBytes = try KerasLegacyH5.encodeModel(modelConfig: try text(root["model_config"]), kerasVersion: "3.15.1",
                                                       backend: "tensorflow", layers: zeroed)
        let weightsBytes = try KerasLegacyH5.encodeWeights(kerasVersion: "3.15.1", backend: "tensorflow", layers: layers)

        let weights = try HDF5File(bytes: weightsBytes, file: "cnn_weights.h5")
        // What Keras's save_weights_to_hdf5_group writes for the same model.
        let (a, b) = (try tree(try HDF5File(contentsOf: try fixture("keras3_cnn_weights_only.h5"))), try tree(weights))
        XCTAssertEqual(a.keys.sorted(), b.keys.sorted())
        for key in a.keys.sorted() where a[key] != b[key] { XCTFail("'\(key)' differs: Keras \(a[key]!) vs Fovea \(b[key] ?? "nothing")") }
        XCTAssertEqual(try weights.members(of: "").map(\.name), layers.map(\.name).sorted() + ["top_level_model_weights"])
        XCTAssertEqual(try weights.attributes(of: "")["keras_version"], .strings(["3.15.1"]))
        XCTAssertEqual(try weights.attributes(of: "")["layer_names"], .strings(layers.map(\.name)))
        XCTAssertEqual(floats(try weights.attributes(of: "top_level_model_weights")["weight_names"]), [])
        XCTAssertEqual(floats(try weights.attributes(of: "dropout")["weight_names"]), [])

        let directory = try makeTemporaryDirectory(self)
        let url = directory.appendingPathComponent("cnn_weights.h5")
        try Data(weightsBytes).write(to: url)
        let model = try Sequential.loadKeras(bytes: modelBytes, file: "zeroed.h5")
        let x = try Tensor.readNumPy(from: try fixture("keras_cnn_input.npy"))
        try model.loadKerasWeights(from: url)
        XCTAssertLessThanOrEqual(maxAbsDifference(try model.predict(x), try Tensor.readNumPy(from: try fixture("keras_cnn_output.npy"))), 1e-5)
        if let interop = try interopDirectory() {
            try Data(modelBytes).write(to: interop.appendingPathComponent("keras3_cnn_zeroed.h5"))
            try Data(weightsBytes).write(to: interop.appendingPathComponent("keras3_cnn_weights_only.h5"))
        }
    }

    /// A Keras Sequential config of `count` Dense(1) layers named `name(i)`.
    private func denseChainConfig(_ count: Int, name: (Int) -> String) -> String {
        let dense = (0..<count).map { #"{"class_name": "Dense", "config": {"name": "\#(name($0))", "units": 1, "activation": "linear", "use_bias": true}}"# }
        return #"{"class_name": "Sequential", "config": {"name": "many_layers", "layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 1], "dtype": "float32", "name": "input_layer"}}, "#
            + dense.joined(separator: ", ") + "]}}"
    }

    func testLongListsSplitAsKerasSplitsThemAndManyHeapCollections() throws {
        // 600 layers with 120-character names: layer_names (72,000 bytes as fixed-length strings) is
        // split in two, the 1,200 weight paths fill many global heap collections, and the config
        // (about 90 KB) gets a collection of its own.
        let name = { (i: Int) in "dense_" + String(repeating: "n", count: 110) + String(format: "_%03d", i) }
        let layers: [KerasLegacyH5.LayerToWrite] = (0..<600).map { i in
            (name(i), [("\(name(i))/kernel", [1, 1], [1]), ("\(name(i))/bias", [1], [Float(i % 7) / 64])])
        }
        let bytes = try KerasLegacyH5.encodeModel(modelConfig: denseChainConfig(600, name: name), kerasVersion: "3.15.1",
                                                  backend: "tensorflow", layers: layers)
        let h5 = try HDF5File(bytes: bytes, file: "many.h5")
        let attributes = try h5.attributes(of: "model_weights")
        XCTAssertNil(attributes["layer_names"])
        guard case .strings(let first)? = attributes["layer_names0"], case .strings(let second)? = attributes["layer_names1"] else {
            return XCTFail("layer_names is not split")
        }
        XCTAssertEqual([first.count, second.count], [300, 300])
        XCTAssertNil(attributes["layer_names2"])
        XCTAssertEqual(try KerasLegacyH5.layerNames(in: h5, group: "model_weights"), layers.map(\.name))
        let read = try KerasLegacyH5.weights(in: h5, group: "model_weights")
        XCTAssertEqual(read.map(\.layer), layers.map(\.name))
        XCTAssertEqual(read.map { $0.weights.map(\.name) }, layers.map { $0.weights.map(\.name) })
        XCTAssertEqual(read.map { $0.weights.map(\.array.floats) }, layers.map { $0.weights.map(\.values) })

        // Fovea loads it: y = x + the sum of the biases.
        let model = try Sequential.loadKeras(bytes: bytes, file: "many.h5")
        XCTAssertEqual(model.layers.count, 600 + (model.layers.first?.typeName == "InputLayer" ? 1 : 0))
        let y = try model.predict(Tensor(shape: [1, 1], scalars: [0.5]))
        XCTAssertEqual(y.scalars[0], 0.5 + layers.reduce(Float(0)) { $0 + $1.weights[1].values[0] }, accuracy: 1e-4)
        if let interop = try interopDirectory() { try Data(bytes).write(to: interop.appendingPathComponent("fovea_many_layers.h5")) }
    }

    func testListSplittingFollowsNumpyArraySplit() throws {
        func split(_ names: [String]) throws -> [String: [String]] {
            let bytes = try KerasLegacyH5.encodeWeights(kerasVersion: "3.15.1", backend: "tensorflow", layers: names.map { ($0, []) })
            var result: [String: [String]] = [:]
            for (key, value) in try HDF5File(bytes: bytes, file: "w.h5").attributes(of: "") where key.hasPrefix("layer_names") {
                guard case .strings(let s) = value else { throw FoveaError("\(key) holds numbers") }
                result[key] = s
            }
            return result
        }
        // 7 names padded to 20,000 bytes: pieces of at most 3 (64,512 / 20,000), so 3 pieces: 3, 2, 2.
        let seven = (0..<7).map { "\($0)" + String(repeating: "s", count: 19_999) }
        XCTAssertEqual(try split(seven), ["layer_names0": Array(seven[0..<3]), "layer_names1": Array(seven[3..<5]), "layer_names2": Array(seven[5..<7])])
        // 100 names padded to 645 bytes: 64,500 bytes fit in one attribute; 646 bytes do not.
        let fits = (0..<100).map { String(format: "%03d", $0) + ($0 == 0 ? String(repeating: "f", count: 642) : "") }
        XCTAssertEqual(try split(fits), ["layer_names": fits])
        let over = fits.enumerated().map { $0.offset == 0 ? $0.element + "x" : $0.element }
        XCTAssertEqual(try split(over), ["layer_names0": Array(over[0..<50]), "layer_names1": Array(over[50..<100])])
        // Names of exactly the limit: one per attribute.
        let huge = ["a", "b"].map { $0 + String(repeating: "h", count: 64_511) }
        XCTAssertEqual(try split(huge), ["layer_names0": [huge[0]], "layer_names1": [huge[1]]])
        // No layers: an empty float64 array, as h5py stores Keras's empty list.
        let empty = try HDF5File(bytes: try KerasLegacyH5.encodeWeights(kerasVersion: "3.15.1", backend: "tensorflow", layers: []), file: "e.h5")
        XCTAssertEqual(floats(try empty.attributes(of: "")["layer_names"]), [])
        XCTAssertEqual(try KerasLegacyH5.layerNames(in: empty, group: ""), [])
    }

    func testInvalidInputsAreNamedErrors() {
        let config = #"{"class_name": "Sequential", "config": {"name": "m", "layers": []}}"#
        func model(_ layers: [KerasLegacyH5.LayerToWrite], config: String = config) throws -> [UInt8] {
            try KerasLegacyH5.encodeModel(modelConfig: config, kerasVersion: "3.15.1", backend: "tensorflow", layers: layers)
        }
        assertFoveaError(containing: ["modelConfig is not a JSON object"]) { try model([], config: "[1, 2]") }
        assertFoveaError(containing: ["two layers are named 'dense'"]) { try model([("dense", []), ("dense", [])]) }
        assertFoveaError(containing: ["'top_level_model_weights'"]) { try model([("top_level_model_weights", [])]) }
        assertFoveaError(containing: ["invalid layer name 'a/b'"]) { try model([("a/b", [])]) }
        assertFoveaError(containing: ["weight 'dense/kernel' of layer 'dense'", "shape [2, 2] but 3 values"]) {
            try model([("dense", [("dense/kernel", [2, 2], [1, 2, 3])])])
        }
        assertFoveaError(containing: ["weight 'dense/kernel' of layer 'dense'", "duplicate path 'dense/kernel'"]) {
            try model([("dense", [("dense/kernel", [1], [1]), ("dense/kernel", [1], [2])])])
        }
        assertFoveaError(containing: ["weight 'dense//kernel' of layer 'dense'", "invalid path"]) { try model([("dense", [("dense//kernel", [1], [1])])]) }
        assertFoveaError(containing: ["65537 bytes", "at most 64512"]) { try model([(String(repeating: "n", count: 65_537), [])]) }
    }

    func testDamagedWrittenFilesAreErrorsNotCrashes() throws {
        let bytes = try rewriteKerasModel(try HDF5File(contentsOf: try fixture("keras3_cnn.h5")))
        let x = try Tensor.readNumPy(from: try fixture("keras_cnn_input.npy"))
        let result = feedDamagedCopies(of: bytes, truncationStep: 97, flipStep: 53) { damaged in
            try readEverything(try HDF5File(bytes: damaged, file: "damaged.h5"))
            _ = try Sequential.loadKeras(bytes: damaged, file: "damaged.h5").predict(x)
        }
        XCTAssertEqual(result.truncatedRejected, (bytes.count + 96) / 97)
        XCTAssertGreaterThan(result.flippedRejected, 50)
    }

    /// By hand: every Keras model file in $FOVEA_H5_SAMPLES_DIR (ResNet50, InceptionV3, … saved by
    /// Keras) rewritten by Fovea into $FOVEA_INTEROP_DIR under the same name, for
    /// `check_h5_interop.py FOVEA_DIR --reference SAMPLES_DIR --load`.
    func testRewritesEveryKerasModelInSamplesDirectory() throws {
        guard let dir = ProcessInfo.processInfo.environment["FOVEA_H5_SAMPLES_DIR"], let interop = try interopDirectory() else {
            throw XCTSkip("FOVEA_H5_SAMPLES_DIR and FOVEA_INTEROP_DIR are not both set")
        }
        for name in try FileManager.default.contentsOfDirectory(atPath: dir).filter({ $0.hasSuffix(".h5") }).sorted() {
            let h5 = try HDF5File(contentsOf: URL(fileURLWithPath: dir).appendingPathComponent(name))
            guard try h5.attributes(of: "")["model_config"] != nil else { continue }
            let bytes = try rewriteKerasModel(h5)
            try Data(bytes).write(to: interop.appendingPathComponent(name))
            print("\(name): rewritten, \(bytes.count) bytes")
        }
    }
}
