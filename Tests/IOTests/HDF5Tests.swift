import Foundation
import XCTest
import Fovea

/// Every group, attribute and dataset of `h5`, read (the walk a damaged file must survive).
@discardableResult
func readEverything(_ h5: HDF5File) throws -> Int {
    var count = 0
    func walk(_ path: String, depth: Int) throws {
        count += try h5.attributes(of: path).count
        guard depth < 64 else { return }
        for (name, kind) in try h5.members(of: path) {
            let child = path.isEmpty ? name : "\(path)/\(name)"
            switch kind {
            case .group: try walk(child, depth: depth + 1)
            case .dataset: count += try h5.dataset(child).shape.reduce(1, *) + h5.attributes(of: child).count
            case .other: break
            }
        }
    }
    try walk("", depth: 0)
    return count
}

/// The flat float values of an attribute or dataset, for comparisons.
func floats(_ attribute: HDF5Attribute?) -> [Float]? {
    if case .numbers(let a)? = attribute { return a.floats }
    return nil
}

/// The structures of big Keras files in small fixtures made by scripts/make_hdf5_fixtures.py.
final class HDF5Tests: XCTestCase {
    func testModelConfigOver64KiBAndLayerNamesSplitByKeras() throws {
        // Keras 3 keeps model_config as one variable-length string (a global heap object of its
        // own when it is large, as ResNet50's 153 KB config is) and splits layer_names itself.
        let model = try Sequential.loadKeras(from: try fixture("keras3_long_names.h5"))
        XCTAssertEqual(model.name, "long_config_" + String(repeating: "x", count: 55_000 - 12))
        XCTAssertEqual(model.layers[3].name, "dropout_" + String(repeating: "d", count: 6_000 - 8))
        let x = try Tensor.readNumPy(from: try fixture("keras_cnn_input.npy"))
        XCTAssertLessThanOrEqual(maxAbsDifference(try model.predict(x), try Tensor.readNumPy(from: try fixture("keras_cnn_output.npy"))), 1e-5)

        let h5 = try HDF5File(contentsOf: try fixture("keras3_long_names.h5"))
        guard case .strings(let config)? = try h5.attributes(of: "")["model_config"] else { return XCTFail("no model_config") }
        XCTAssertEqual(config.count, 1)
        XCTAssertGreaterThan(config[0].utf8.count, 65_536)
        let attributes = try h5.attributes(of: "model_weights")
        XCTAssertNil(attributes["layer_names"])
        guard case .strings(let first)? = attributes["layer_names0"], case .strings(let second)? = attributes["layer_names1"] else {
            return XCTFail("layer_names is not split")
        }
        XCTAssertEqual([first.count, second.count], [6, 5])
        let names = try KerasLegacyH5.layerNames(in: h5, group: "model_weights")
        XCTAssertEqual(names, first + second)
        XCTAssertEqual(names.count, 11)
        XCTAssertEqual(try KerasLegacyH5.weights(in: h5, group: "model_weights").map(\.layer), ["conv2d", "conv2d_1", "conv2d_2", "dense", "dense_1"])
    }

    /// The fixture's layers: ResNet50's first ones, in Keras's topological order.
    static let resnetLayers = ["input_1", "conv1_pad", "conv1_conv", "conv1_bn", "conv1_relu", "pool1_pad", "pool1_pool",
                               "conv2_block1_1_conv", "conv2_block1_1_bn", "conv2_block1_1_relu", "conv2_block1_2_conv",
                               "conv2_block1_2_bn", "conv2_block1_2_relu", "conv2_block1_0_conv", "conv2_block1_3_conv",
                               "conv2_block1_0_bn", "conv2_block1_3_bn", "conv2_block1_add", "conv2_block1_out"]

    func testKeras2ApplicationsWeightFileLayout() throws {
        // keras.applications' resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5: Keras 2.2 and
        // h5py 2, fixed-length strings, layer_names on the root, "conv1_conv/kernel:0" datasets.
        let h5 = try HDF5File(contentsOf: try fixture("keras2_resnet_layout.h5"))
        let root = try h5.attributes(of: "")
        XCTAssertEqual(root["backend"], .strings(["tensorflow"]))
        XCTAssertEqual(root["keras_version"], .strings(["2.2.4"]))
        XCTAssertEqual(try KerasLegacyH5.layerNames(in: h5, group: ""), Self.resnetLayers)
        XCTAssertEqual(floats(try h5.attributes(of: "conv1_pad")["weight_names"]), [])
        XCTAssertEqual(try h5.members(of: "conv1_conv").map(\.name), ["conv1_conv"])
        XCTAssertEqual(try h5.members(of: "conv1_conv").map(\.kind), [.group])
        XCTAssertEqual(try h5.members(of: "conv1_conv/conv1_conv").map(\.name), ["bias:0", "kernel:0"])

        let layers = try KerasLegacyH5.weights(in: h5, group: "")
        XCTAssertEqual(layers.map(\.layer), Self.resnetLayers.filter { $0.hasSuffix("_conv") || $0.hasSuffix("_bn") })
        XCTAssertEqual(layers[1].weights.map(\.name), ["conv1_bn/gamma:0", "conv1_bn/beta:0", "conv1_bn/moving_mean:0", "conv1_bn/moving_variance:0"])
        XCTAssertEqual(layers[0].weights.map(\.array.shape), [[7, 7, 3, 4], [4]])
        // Dataset j (in file order) holds float32((7k + 13j) mod 101) / 100 at flat index k.
        var j = 0
        for layer in layers {
            for weight in layer.weights {
                let expected = (0..<weight.array.shape.reduce(1, *)).map { k in Float((7 * k + 13 * j) % 101) / 100 }
                XCTAssertEqual(weight.array.floats, expected, weight.name)
                j += 1
            }
        }
        XCTAssertEqual(j, 30)
    }

    func testDeepGroupBTreeAndManyVariableLengthStrings() throws {
        // B-tree parameter K = 1: 40 members make a B-tree 38 levels deep.
        let h5 = try HDF5File(contentsOf: try fixture("h5py_small_btree.h5"))
        let members = try h5.members(of: "members")
        XCTAssertEqual(members.map(\.name), (0..<40).map { String(format: "m%02d", $0) })
        XCTAssertTrue(members.allSatisfy { $0.kind == .dataset })
        for i in [0, 17, 39] {
            let array = try h5.dataset(String(format: "members/m%02d", i))
            XCTAssertEqual(array.shape, [])
            XCTAssertEqual(array.floats, [Float(i)])
        }
        XCTAssertEqual(try h5.datasetPaths().count, 40)
        XCTAssertEqual(try h5.attributes(of: "")["names"], .strings((0..<300).map { String(format: "name%03d", $0) }))
        assertFoveaError(containing: ["h5py_small_btree.h5", "no group or dataset 'members/m40'"]) { try h5.dataset("members/m40") }
        assertFoveaError(containing: ["h5py_small_btree.h5", "'members/m01' is not a group"]) { try h5.members(of: "members/m01") }
    }

    func testDamagedFixturesAreErrorsNotCrashes() throws {
        // Every fixture read completely; the steps keep this to about 1,300 reads (2-7 ms each).
        for (name, truncationStep, flipStep) in [("keras3_long_names.h5", 1801, 613), ("keras2_resnet_layout.h5", 307, 151),
                                                 ("h5py_small_btree.h5", 757, 389)] {
            let bytes = try fixtureBytes(name)
            XCTAssertGreaterThan(try readEverything(try HDF5File(bytes: bytes, file: name)), 0)
            let result = feedDamagedCopies(of: bytes, truncationStep: truncationStep, flipStep: flipStep) { damaged in
                let h5 = try HDF5File(bytes: damaged, file: "damaged.h5")
                try readEverything(h5)
                _ = try KerasLegacyH5.weights(in: h5, group: name.hasPrefix("keras3") ? "model_weights" : "")
            }
            XCTAssertEqual(result.truncatedRejected, (bytes.count + truncationStep - 1) / truncationStep, name)
            XCTAssertGreaterThan(result.flippedRejected, 0, name)
        }
    }

    /// How many numbers, and their sum in Double (to compare with h5py's).
    static func summary(_ arrays: [NumPyArray]) -> String {
        let count = arrays.reduce(0) { $0 + $1.shape.reduce(1, *) }
        let sum = arrays.reduce(0.0) { $0 + $1.floats.reduce(0.0) { $0 + Double($1) } }
        return "\(count) numbers summing to \(String(format: "%.6e", sum))"
    }

    /// By hand: every .h5 file in $FOVEA_H5_SAMPLES_DIR (e.g. keras.applications models saved by
    /// Keras) read completely: attributes, layers and every array. Skipped when unset.
    func testReadsEveryH5InSamplesDirectory() throws {
        guard let dir = ProcessInfo.processInfo.environment["FOVEA_H5_SAMPLES_DIR"] else { throw XCTSkip("FOVEA_H5_SAMPLES_DIR is not set") }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".h5") }.sorted()
        for name in names {
            let h5 = try HDF5File(contentsOf: URL(fileURLWithPath: dir).appendingPathComponent(name))
            let root = try h5.attributes(of: "")
            var line = "\(name): root attributes \(root.keys.sorted())"
            if case .strings(let config)? = root["model_config"] { line += ", model_config \(config.first?.utf8.count ?? 0) bytes" }
            let group = root["layer_names"] != nil || root["layer_names0"] != nil ? "" : (root["model_config"] != nil ? "model_weights" : nil)
            if let group {
                let layers = try KerasLegacyH5.layerNames(in: h5, group: group)
                let weights = try KerasLegacyH5.weights(in: h5, group: group)
                line += ", \(layers.count) layers, \(weights.count) with weights, \(Self.summary(weights.flatMap { $0.weights.map(\.array) }))"
            } else {
                let paths = try h5.datasetPaths()
                line += ", \(paths.count) datasets, \(Self.summary(try paths.map { try h5.dataset($0) }))"
            }
            print(line)
        }
    }
}
