import Foundation
import XCTest
import Fovea

/// The `keras.applications` architectures against Keras 3.15's own (Tests/LayerTests/Fixtures/applications,
/// made by scripts/make_keras_application_fixtures.py): parameter counts, layer names, classes and
/// order, every layer's configuration, the connections, and the printed summary.
final class ApplicationsTests: XCTestCase {
    /// Keys of Keras's layer entries and configurations that Fovea's configs leave out, and why:
    /// - `dtype` (a layer's `DTypePolicy`, an Input's `"float32"`): Fovea computes in float32 only and
    ///   writes the policy only where it differs from Keras's default;
    /// - `activity_regularizer`: Fovea has no activity regularisation (Keras writes null);
    /// - `synchronized`, `renorm`, `renorm_clipping`, `renorm_momentum` (BatchNormalization): Keras's
    ///   cross-replica and batch-renormalisation options, at their defaults (false, false, null, 0.99);
    /// - `quantization_config` (Dense), `lora_rank`/`lora_alpha`: Keras's quantisation and LoRA, unused (null);
    /// - `sparse`, `ragged`, `optional` (InputLayer): false in every Keras application;
    /// - any key whose value Keras writes as `null` (an unset regularizer or constraint, an
    ///   initializer's `input_axes`/`output_axes`, a call's `mask`): Fovea leaves unset values out.
    /// Any other key Keras writes must be present in Fovea's config with the same value, with three
    /// differences in what Fovea's writer (Sources/Fovea/Models/ModelConfig.swift) puts in, which Keras
    /// reads back alike: the InputLayer's `dtype` is the `DTypePolicy` object every other layer has
    /// (Keras writes the string "float32" there), the InputLayer has `trainable: true` (Keras writes no
    /// `trainable` for it), and every built layer has a `build_config` (Keras writes none for layers
    /// without weights to build: Activation, ReLU, Add, Concatenate, the paddings and poolings).
    static let keysFoveaOmits: Set<String> = [
        "activity_regularizer", "synchronized", "renorm", "renorm_clipping", "renorm_momentum",
        "quantization_config", "lora_rank", "lora_alpha", "sparse", "ragged", "optional",
    ]

    static func fixtureURL(_ name: String) throws -> URL {
        try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
            .appendingPathComponent("applications").appendingPathComponent(name)
    }

    /// NAME.json or NAME.json.gz.
    static func record(_ name: String) throws -> JSONValue {
        let plain = try fixtureURL(name + ".json")
        if FileManager.default.fileExists(atPath: plain.path) { return try JSONValue(parsing: try Data(contentsOf: plain)) }
        let bytes = try Gzip.decompress(try Data(contentsOf: try fixtureURL(name + ".json.gz")))
        return try JSONValue(parsing: Data(bytes))
    }

    static func summary(_ name: String) throws -> String {
        try String(contentsOf: try fixtureURL(name + "_summary.txt"), encoding: .utf8)
    }

    /// Checks a Fovea model against fixture `name`: counts, layers, configurations, connections and (where
    /// Keras's input shape is fully known) the summary text.
    func check(_ model: Model, against name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let record = try Self.record(name)
        let keras = try XCTUnwrap(record["config"]?["config"], file: file, line: line)
        let kerasLayers = try XCTUnwrap(keras["layers"]?.arrayValue, file: file, line: line)

        // (a) parameter counts.
        let total = model.variables.reduce(0) { $0 + $1.value.count }
        let trainable = model.variables.filter(\.trainable).reduce(0) { $0 + $1.value.count }
        XCTAssertEqual(total, record["total_params"]?.intValue, "\(name): total", file: file, line: line)
        XCTAssertEqual(trainable, record["trainable_params"]?.intValue, "\(name): trainable", file: file, line: line)
        XCTAssertEqual(total - trainable, record["non_trainable_params"]?.intValue, "\(name): non-trainable", file: file, line: line)
        XCTAssertEqual(model.name, keras["name"]?.stringValue.map { $0.replacingOccurrences(of: "_None", with: "_224") }, "\(name): model name", file: file, line: line)

        // (b) layer names, classes and order.
        XCTAssertEqual(model.layers.map(\.name), kerasLayers.map { $0["name"]?.stringValue ?? "?" }, "\(name): layer names", file: file, line: line)
        XCTAssertEqual(model.layers.map(\.typeName), kerasLayers.map { $0["class_name"]?.stringValue ?? "?" }, "\(name): layer classes", file: file, line: line)

        // (c) configurations and (d) connections, layer by layer.
        let fovea = try XCTUnwrap(try model.kerasConfig()["config"], file: file, line: line)
        let foveaLayers = try XCTUnwrap(fovea["layers"]?.arrayValue, file: file, line: line)
        XCTAssertEqual(foveaLayers.count, kerasLayers.count, file: file, line: line)
        var differences: [String] = []
        for (k, f) in zip(kerasLayers, foveaLayers) {
            let layerName = k["name"]?.stringValue ?? "?"
            var foveaConfig = f["config"]?.objectValue ?? [:]
            if k["class_name"] == "InputLayer" {
                XCTAssertEqual(k["config"]?["dtype"], "float32", file: file, line: line)
                XCTAssertEqual(foveaConfig["dtype"]?["config"]?["name"], "float32", file: file, line: line)
                XCTAssertEqual(foveaConfig.removeValue(forKey: "trainable"), true, file: file, line: line)
                foveaConfig["dtype"] = "float32"
            }
            Self.compare(keras: k["config"] ?? nil, fovea: .object(foveaConfig), path: "\(layerName).config", into: &differences)
            if let kerasBuild = k["build_config"] {
                Self.compare(keras: kerasBuild, fovea: f["build_config"] ?? nil, path: "\(layerName).build_config", into: &differences)
            }
            Self.compare(keras: k["inbound_nodes"] ?? nil, fovea: f["inbound_nodes"] ?? nil, path: "\(layerName).inbound_nodes", into: &differences)
            for key in ["module", "class_name", "registered_name", "name"] where k[key] != f[key] {
                differences.append("\(layerName).\(key): Keras \(k[key].map { "\($0)" } ?? "-"), Fovea \(f[key].map { "\($0)" } ?? "-")")
            }
        }
        for key in ["input_layers", "output_layers", "trainable"] {
            Self.compare(keras: keras[key] ?? nil, fovea: fovea[key] ?? nil, path: key, into: &differences)
        }
        XCTAssertEqual(differences, [], "\(name): \(differences.count) differences from Keras's config", file: file, line: line)

        // (e) the summary, where Keras knew every dimension of the input: as printed at an 80-column
        // terminal (Keras's default width clipped to 76) and on a wide one (Keras's default, 88 or 108).
        if !Self.hasOpenDimensions(kerasLayers[0]) {
            XCTAssertEqual(model.summary() + "\n", try Self.summary(name), "\(name): summary", file: file, line: line)
            let wide = String(decoding: try Gzip.decompress(try Data(contentsOf: try Self.fixtureURL(name + "_summary_wide.txt.gz"))), as: UTF8.self)
            let width = wide.split(separator: "\n", omittingEmptySubsequences: false)[1].count
            XCTAssertEqual(model.summary(lineLength: width) + "\n", wide, "\(name): summary at \(width) columns", file: file, line: line)
        }
    }

    static func hasOpenDimensions(_ inputLayer: JSONValue) -> Bool {
        (inputLayer["config"]?["batch_shape"]?.arrayValue ?? []).dropFirst().contains { $0.isNull }
    }

    /// Collects every difference between Keras's value and Fovea's. Keys in ``keysFoveaOmits`` may be
    /// missing from Fovea's objects; initializers' `seed` is Fovea's own (Keras writes null for an
    /// unseeded one); a `null` in a shape Keras left open (`(None, None, None, 3)`) matches Fovea's size.
    static func compare(keras: JSONValue?, fovea: JSONValue?, path: String, into differences: inout [String]) {
        switch (keras, fovea) {
        case let (.object(k)?, .object(f)?):
            for (key, kv) in k.sorted(by: { $0.key < $1.key }) {
                if f[key] == nil && (keysFoveaOmits.contains(key) || kv.isNull) { continue }
                if key == "seed" && path.hasSuffix("initializer.config") { continue }
                compare(keras: kv, fovea: f[key], path: "\(path).\(key)", into: &differences)
            }
            for key in f.keys.sorted() where k[key] == nil { differences.append("\(path).\(key): Fovea writes \(f[key]!), Keras does not") }
        case let (.array(k)?, .array(f)?) where k.count == f.count:
            for (i, (kv, fv)) in zip(k, f).enumerated() { compare(keras: kv, fovea: fv, path: "\(path)[\(i)]", into: &differences) }
        case (.null?, .int?) where isShape(path):
            break
        default:
            if keras != fovea {
                differences.append("\(path): Keras \(keras.map { "\($0)" } ?? "-"), Fovea \(fovea.map { "\($0)" } ?? "-")")
            }
        }
    }

    static func isShape(_ path: String) -> Bool {
        ["batch_shape[", "input_shape[", ".shape["].contains { path.contains($0) }
    }

    // MARK: The fixtures

    // Without the top, Keras's fixtures NAME_notop leave the image size open ((None, None, None, 3));
    // Fovea builds the default size, which NAME_notop_224 (299 for InceptionV3) gives Keras explicitly.

    func testVGG16() throws {
        try check(try Applications.vgg16(), against: "vgg16_top")
        let notop = try Applications.vgg16(includeTop: false)
        try check(notop, against: "vgg16_notop")
        try check(notop, against: "vgg16_notop_224")
    }

    func testVGG19() throws {
        try check(try Applications.vgg19(), against: "vgg19_top")
        let notop = try Applications.vgg19(includeTop: false)
        try check(notop, against: "vgg19_notop")
        try check(notop, against: "vgg19_notop_224")
    }

    func testResNet50() throws {
        try check(try Applications.resnet50(), against: "resnet50_top")
        let notop = try Applications.resnet50(includeTop: false)
        try check(notop, against: "resnet50_notop")
        try check(notop, against: "resnet50_notop_224")
        try check(try Applications.resnet50(includeTop: false, pooling: .average), against: "resnet50_notop_avg")
    }

    func testInceptionV3() throws {
        try check(try Applications.inceptionV3(), against: "inception_v3_top")
        let notop = try Applications.inceptionV3(includeTop: false)
        try check(notop, against: "inception_v3_notop")
        try check(notop, against: "inception_v3_notop_299")
    }

    func testMobileNetV2() throws {
        try check(try Applications.mobileNetV2(), against: "mobilenet_v2_top")
        let notop = try Applications.mobileNetV2(includeTop: false)
        try check(notop, against: "mobilenet_v2_notop")
        try check(notop, against: "mobilenet_v2_notop_224")
        try check(try Applications.mobileNetV2(alpha: 0.5), against: "mobilenet_v2_alpha0.5_top")
        try check(try Applications.mobileNetV2(alpha: 1.4), against: "mobilenet_v2_alpha1.4_top")
    }

    // MARK: Keras's own JSON

    func testKerasConfigsLoadAsTheSameModels() throws {
        for name in ["vgg16_top", "resnet50_top", "inception_v3_top", "mobilenet_v2_top", "mobilenet_v2_alpha0.5_top",
                     "resnet50_notop_224", "inception_v3_notop_299", "mobilenet_v2_notop_224"] {
            let record = try Self.record(name)
            let model = try Model.fromConfig(try XCTUnwrap(record["config"]), source: name)
            let keras = try XCTUnwrap(record["config"]?["config"]?["layers"]?.arrayValue)
            XCTAssertEqual(model.name, record["config"]?["config"]?["name"]?.stringValue, name)
            XCTAssertEqual(model.layers.map(\.name), keras.map { $0["name"]?.stringValue ?? "?" }, name)
            XCTAssertEqual(model.parameterCount, record["total_params"]?.intValue, name)
            XCTAssertEqual(model.trainableParameterCount, record["trainable_params"]?.intValue, name)
            XCTAssertEqual(model.summary() + "\n", try Self.summary(name), name)
        }
        // Without the top Keras leaves the image size open, (None, None, None, 3); Fovea's layers need it.
        assertFoveaError(containing: ["resnet50_notop", "batch_shape", "unknown"]) {
            try Model.fromConfig(try XCTUnwrap(try Self.record("resnet50_notop")["config"]), source: "resnet50_notop")
        }
    }

    // MARK: Running, arguments, defaults

    func testSmallInputsRunWithoutTheTop() throws {
        let resnet = try Applications.resnet50(includeTop: false, inputShape: [32, 32, 3], pooling: .average, seed: 3)
        XCTAssertEqual(resnet.outputShape, [nil, 2048])
        let y = try resnet(Tensor.uniform([1, 32, 32, 3], seed: 1))
        XCTAssertEqual(y.shape, [1, 2048])
        XCTAssertTrue(y.scalars.allSatisfy { $0.isFinite && $0 >= 0 })

        let mobile = try Applications.mobileNetV2(inputShape: [33, 35, 3], alpha: 0.35, includeTop: false, pooling: .max, seed: 3)
        XCTAssertEqual(mobile.name, "mobilenetv2_0.35_33")
        // correct_pad on odd sizes pads one more row and column before.
        // (17×18 after Conv1: one more row before on the odd height only.)
        XCTAssertEqual((try mobile.layer(named: "block_1_pad") as? ZeroPadding2D)?.padding, Margins2D(top: 1, bottom: 1, left: 0, right: 1))
        XCTAssertEqual((try mobile.layer(named: "block_3_pad") as? ZeroPadding2D)?.padding, Margins2D(1))
        let z = try mobile(Tensor.uniform([2, 33, 35, 3], seed: 2))
        XCTAssertEqual(z.shape, [2, 1280])
        XCTAssertTrue(z.scalars.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 6 })
    }

    func testArgumentsAreCheckedAsKerasChecksThem() throws {
        assertFoveaError(containing: ["resnet50", "at least 32×32", "(28, 28, 1)"]) { try Applications.resnet50(inputShape: [28, 28, 1]) }
        assertFoveaError(containing: ["inception_v3", "at least 75×75"]) { try Applications.inceptionV3(includeTop: false, inputShape: [74, 100, 3]) }
        assertFoveaError(containing: ["vgg16", "three dimensions"]) { try Applications.vgg16(inputShape: [224, 224]) }
        assertFoveaError(containing: ["classes must be positive"]) { try Applications.vgg19(classes: 0) }
        assertFoveaError(containing: ["alpha"]) { try Applications.mobileNetV2(alpha: 0) }
        let weights = Applications.Weights.imagenet(URL(fileURLWithPath: "/nonexistent/weights.h5"))
        assertFoveaError(containing: ["resnet50", "includeTop", "(224, 224, 3)", "(200, 200, 3)"]) {
            try Applications.resnet50(weights: weights, inputShape: [200, 200, 3])
        }
        assertFoveaError(containing: ["classes must be 1000", "10"]) { try Applications.vgg16(weights: weights, classes: 10) }
        assertFoveaError(containing: ["3 input channels"]) { try Applications.resnet50(includeTop: false, weights: weights, inputShape: [64, 64, 1]) }
        assertFoveaError(containing: ["softmax or linear", "relu"]) { try Applications.inceptionV3(weights: weights, classifierActivation: .relu) }
        assertFoveaError(containing: ["0.35, 0.5, 0.75, 1.0, 1.3, 1.4", "0.6"]) {
            try Applications.mobileNetV2(alpha: 0.6, includeTop: false, weights: weights)
        }

        // weights=None rules: another size with the classifier, any width, any number of channels.
        let small = try Applications.vgg16(inputShape: [32, 32, 3], classes: 10, classifierActivation: .linear)
        XCTAssertEqual(small.outputShape, [nil, 10])
        XCTAssertEqual(small.parameterCount, 14_714_688 + 512 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 10 + 10)
        XCTAssertEqual(try Applications.mobileNetV2(inputShape: [96, 96, 1], alpha: 0.6, includeTop: false).name, "mobilenetv2_0.60_96")
    }

    func testArchitecturesHaveTheirOwnDefaults() throws {
        XCTAssertEqual(Architecture.mnistNetworks, [.dense, .seedCNN, .tutorialCNN, .deepCNN, .residualCNN])
        XCTAssertEqual(Architecture.allCases.filter(\.isImageNetApplication), [.vgg16, .vgg19, .resnet50, .inceptionV3, .mobileNetV2])
        XCTAssertEqual(try Architecture(named: "inception_v3"), .inceptionV3)
        XCTAssertEqual(try Architecture(named: "mobilenet_v2"), .mobileNetV2)
        XCTAssertEqual(Architecture.inceptionV3.defaultInputShape, [299, 299, 3])
        XCTAssertEqual(Architecture.mobileNetV2.defaultClasses, 1000)
        XCTAssertEqual(Architecture.seedCNN.defaultInputShape, [28, 28, 1])
        XCTAssertEqual(Architecture.seedCNN.defaultClasses, 10)
        let mobile = try Architecture.mobileNetV2.make(seed: 1)
        XCTAssertEqual(mobile.name, "mobilenetv2_1.00_224")
        XCTAssertEqual(mobile.parameterCount, 3_538_984)
        XCTAssertEqual(try Architecture.seedCNN.make().inputShape, [nil, 28, 28, 1])
        // What `fovea train --model resnet50` builds for MNIST.
        assertFoveaError(containing: ["resnet50", "at least 32×32"]) { try Architecture.resnet50.make(inputShape: [28, 28, 1], classes: 10) }
    }

    func testPreprocessingMatchesKeras() throws {
        // imagenet_utils.preprocess_input of one 2×2 RGB image in each mode (Keras 3.15).
        let x = Tensor(shape: [1, 2, 2, 3], scalars: [0, 128, 255, 10, 20, 30, 255, 0, 1, 64.5, 99, 200])
        let expected: [Applications.PreprocessingMode: [Float]] = [
            .caffe: [151.061, 11.221, -123.68, -73.939, -96.779, -113.68, -102.939, -116.779, 131.32, 96.061, -17.779, -59.18],
            .tf: [-1, 0.003921628, 1, -0.92156863, -0.84313726, -0.7647059, 1, -1, -0.99215686, -0.49411762, -0.2235294, 0.5686275],
            .torch: [-2.117904, 0.20518219, 2.6400001, -1.9466565, -1.6855742, -1.2815686, 2.2489083, -2.0357141, -1.7870152,
                     -1.0133573, -0.30252096, 1.6813945],
        ]
        for (mode, values) in expected {
            let y = try Applications.preprocessInput(x, mode: mode)
            XCTAssertEqual(y.shape, x.shape)
            for (a, b) in zip(y.scalars, values) { XCTAssertEqual(a, b, accuracy: 2e-5, "\(mode)") }
        }
        assertFoveaError(containing: ["caffe", "3 colour channels"]) { try Applications.preprocessInput(Tensor.uniform([1, 4, 4, 1], seed: 1), mode: .caffe) }
    }
}
