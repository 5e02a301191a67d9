import Foundation
import XCTest
import Fovea

/// The weight files Keras publishes for keras.applications (legacy `.h5` files of Keras 2's layout)
/// pair with Fovea's applications by position and by name.
final class ApplicationsWeightsTests: XCTestCase {
    /// A Keras 2 weights file (`save_weights` layout, "layer/kernel:0" names) of `layers`' weights, as
    /// Keras's published files are.
    func writeKeras2Weights(of layers: [Layer], to url: URL) throws {
        let bytes = try KerasLegacyH5.encodeWeights(kerasVersion: "2.2.4", backend: "tensorflow", layers: layers.map { layer in
            (name: layer.name, weights: layer.namedVariables.map { short, v in
                (name: "\(layer.name)/\(short):0", shape: v.value.shape, values: v.value.scalars)
            })
        })
        try Data(bytes).write(to: url)
    }

    func testKerasResNetLayoutPairsByName() throws {
        // keras2_resnet_layout.h5 holds ResNet50's first 19 layers with small filter counts: every one
        // of its layers with weights finds its ResNet50 layer by name, and the shapes then differ.
        let model = try Applications.resnet50(includeTop: false, inputShape: [32, 32, 3], seed: 1)
        let before = model.weightValues().map(\.scalars)
        assertError(containing: ["conv1_conv", "(7, 7, 3, 4)", "(7, 7, 3, 64)"]) {
            try model.loadKerasWeights(from: try fixture("keras2_resnet_layout.h5"), byName: true)
        }
        let skipped = try model.loadKerasWeights(from: try fixture("keras2_resnet_layout.h5"), byName: true, skipMismatch: true)
        XCTAssertEqual(skipped, ["conv1_conv", "conv1_bn", "conv2_block1_1_conv", "conv2_block1_1_bn", "conv2_block1_2_conv",
                                 "conv2_block1_2_bn", "conv2_block1_0_conv", "conv2_block1_3_conv", "conv2_block1_0_bn", "conv2_block1_3_bn"])
        XCTAssertEqual(model.weightValues().map(\.scalars), before, "nothing changes")
        // In order, as Keras reads the published files, the file is 10 layers short of ResNet50's 106.
        assertError(containing: ["holds weights for 10 layers", "106 layers with weights", "byName"]) {
            try model.loadKerasWeights(from: try fixture("keras2_resnet_layout.h5"))
        }
    }

    func testPartialFileLoadsByNameWithoutSkipping() throws {
        // ResNet50's stem and first block, at full size, in Keras 2's layout: by name they load into a
        // ResNet50 without skipMismatch; every other layer keeps its weights.
        let source = try Applications.resnet50(includeTop: false, inputShape: [32, 32, 3], seed: 1)
        let stem = Array(source.layers.prefix { $0.name != "conv2_block2_1_conv" })
        XCTAssertEqual(stem.last?.name, "conv2_block1_out")
        let url = try makeTemporaryDirectory(self).appendingPathComponent("resnet50_stem.h5")
        try writeKeras2Weights(of: stem, to: url)

        let target = try Applications.resnet50(includeTop: false, inputShape: [32, 32, 3], seed: 2)
        let untouched = try target.layer(named: "conv5_block3_3_conv").variables.map(\.value.scalars)
        XCTAssertEqual(try target.loadKerasWeights(from: url, byName: true), [])
        for layer in stem {
            XCTAssertEqual(try target.layer(named: layer.name).variables.map(\.value.scalars), layer.variables.map(\.value.scalars), layer.name)
        }
        XCTAssertEqual(try target.layer(named: "conv5_block3_3_conv").variables.map(\.value.scalars), untouched)
    }

    func testImageNetWeightsFileLoadsInOrder() throws {
        // The layout of mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5 (every layer,
        // in Keras's order), written from one model and read by the builder into another.
        let source = try Applications.mobileNetV2(inputShape: [96, 96, 3], alpha: 0.35, includeTop: false, seed: 1)
        let url = try makeTemporaryDirectory(self).appendingPathComponent("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5")
        try writeKeras2Weights(of: source.layers, to: url)
        let loaded = try Applications.mobileNetV2(inputShape: [96, 96, 3], alpha: 0.35, includeTop: false, weights: .imagenet(url), seed: 2)
        XCTAssertEqual(loaded.name, "mobilenetv2_0.35_96")
        XCTAssertEqual(loaded.weightValues().map(\.scalars), source.weightValues().map(\.scalars))
        // The same file does not fit another width: the first convolution's shapes differ.
        assertError(containing: ["Conv1", "expects"]) {
            try Applications.mobileNetV2(inputShape: [96, 96, 3], alpha: 1.0, includeTop: false, weights: .imagenet(url))
        }
    }

    func assertError<T>(containing parts: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T) {
        do {
            _ = try body()
            XCTFail("expected an error containing \(parts)", file: file, line: line)
        } catch let error as FoveaError {
            for part in parts where !error.message.contains(part) { XCTFail("'\(error.message)' does not contain '\(part)'", file: file, line: line) }
        } catch {
            XCTFail("expected a FoveaError, got \(error)", file: file, line: line)
        }
    }
}
