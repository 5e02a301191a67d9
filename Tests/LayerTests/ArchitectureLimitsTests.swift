import Foundation
import XCTest
import Fovea

/// Architecture values from a file are bounded before any shape is multiplied or weight allocated:
/// crafted configurations that used to trap on overflow or ask for tens of gigabytes are clear errors
/// that name the layer, the value, the cap and how to raise it.
final class ArchitectureLimitsTests: XCTestCase {
    /// A Sequential architecture of an input of `inputShape` and then `layers` (class name, config).
    static func sequential(inputShape: String = "[null, 28, 28, 1]", _ layers: [(String, String)]) -> String {
        let entries = ["{\"class_name\": \"InputLayer\", \"config\": {\"name\": \"in\", \"batch_shape\": \(inputShape)}}"]
            + layers.map { "{\"class_name\": \"\($0.0)\", \"config\": \($0.1)}" }
        return "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"hostile\", \"layers\": [\(entries.joined(separator: ", "))]}}"
    }

    /// The crafted architectures of issue 19, each with what its error must say.
    static let hostile: [(name: String, architecture: String, message: [String])] = [
        ("dilation 2^63-1", sequential([("Conv2D", "{\"name\": \"c\", \"filters\": 2, \"kernel_size\": [3, 3], \"dilation_rate\": [9223372036854775807, 1]}")]),
         ["Conv2D 'c'", "dilation_rate = 9223372036854775807", "16,777,216", "FOVEA_MAX_ARCHITECTURE_VALUE"]),
        ("batch_shape 2^62", sequential(inputShape: "[null, 4611686018427387904, 2, 1]", [("Flatten", "{\"name\": \"f\"}")]),
         ["InputLayer 'in'", "batch_shape = 4611686018427387904", "FOVEA_MAX_ARCHITECTURE_VALUE"]),
        ("filters 2^30", sequential([("Conv2D", "{\"name\": \"c\", \"filters\": 1073741824, \"kernel_size\": [3, 3]}")]),
         ["Conv2D 'c'", "filters = 1073741824", "FOVEA_MAX_ARCHITECTURE_VALUE"]),
        ("units 2^31", sequential([("Flatten", "{\"name\": \"f\"}"), ("Dense", "{\"name\": \"d\", \"units\": 2147483648}")]),
         ["Dense 'd'", "units = 2147483648", "FOVEA_MAX_ARCHITECTURE_VALUE"]),
        // Each value within the cap, their product not: the shape and weight checks catch it.
        ("input of 2^72 values", sequential(inputShape: "[null, 16777216, 16777216, 16777216]", [("Flatten", "{\"name\": \"f\"}")]),
         ["batch_shape", "values per sample", "268,435,456", "FOVEA_MAX_TENSOR_ELEMENTS"]),
        ("a 2^24 x 2^10 kernel", sequential(inputShape: "[null, 1024]", [("Dense", "{\"name\": \"d\", \"units\": 16777216}")]),
         ["d (Dense)", "kernel of shape (1024, 16777216)", "17,179,869,184 values", "FOVEA_MAX_TENSOR_ELEMENTS"]),
        ("up-sampling to 2^48 pixels", sequential(inputShape: "[null, 64, 64, 1]", [("UpSampling2D", "{\"name\": \"u\", \"size\": [16777216, 16777216]}")]),
         ["u (UpSampling2D)", "output shape", "values per sample", "FOVEA_MAX_TENSOR_ELEMENTS"]),
        ("a reshape target of 2^96 values", sequential(inputShape: "[null, 4]", [("Reshape", "{\"name\": \"r\", \"target_shape\": [16777216, 16777216, 16777216, 16777216]}")]),
         ["r (Reshape)", "target shape", "FOVEA_MAX_TENSOR_ELEMENTS"]),
    ]

    func testCraftedArchitecturesAreClearErrors() throws {
        for (name, architecture, message) in Self.hostile {
            let config = try JSONValue(parsing: architecture)
            XCTAssertThrowsError(try Model.fromConfig(config, source: "crafted.json"), name) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("crafted.json"), "\(name): \(text)")
                for part in message { XCTAssertTrue(text.contains(part), "\(name): '\(text)' lacks '\(part)'") }
            }
        }
    }

    /// A native file of format version 1 carries no checksum; the bounds hold all the same.
    func testAVersionOneNativeFileWithoutChecksumIsBoundedToo() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fovea-limits-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (index, entry) in Self.hostile.enumerated() {
            for version in ["1", nil] as [String?] {
                var metadata = ["format": "fovea", "architecture": entry.architecture]
                metadata["format_version"] = version
                let url = dir.appendingPathComponent("h\(index)-\(version ?? "none").safetensors")
                try SafeTensors.encode([], metadata: metadata).write(to: url)
                XCTAssertThrowsError(try Model.load(from: url), entry.name) { error in
                    for part in entry.message { XCTAssertTrue("\(error)".contains(part), "\(entry.name): '\(error)' lacks '\(part)'") }
                }
            }
        }
    }

    /// The same reader serves `.keras` archives: a crafted config.json is refused the same way.
    func testAKerasArchiveIsBoundedToo() throws {
        var zip = ZipWriter()
        try zip.add("config.json", Array(Self.hostile[0].architecture.utf8))
        try zip.add("metadata.json", Array("{\"keras_version\": \"3.15.1\"}".utf8))
        let bytes = try zip.finish()
        XCTAssertThrowsError(try Model.loadKeras(bytes: bytes, file: "crafted.keras")) { error in
            for part in Self.hostile[0].message { XCTAssertTrue("\(error)".contains(part), "'\(error)' lacks '\(part)'") }
        }
    }

    /// Each layer within the caps, the model not: the running parameter count of a model being read
    /// stops it before the layer that passes the cap is allocated. (The cap is lowered through its
    /// environment variable, the way a user raises it.)
    func testTheParameterCapCountsTheWholeModel() throws {
        setenv("FOVEA_MAX_PARAMETERS", "30000", 1)
        defer { unsetenv("FOVEA_MAX_PARAMETERS") }
        XCTAssertEqual(ArchitectureLimits.maxParameters, 30000)
        let layers = (0..<5).map { ("Dense", "{\"name\": \"d\($0)\", \"units\": 100}") }
        let config = try JSONValue(parsing: Self.sequential(inputShape: "[null, 100]", layers))
        assertFoveaError(containing: ["d2 (Dense)", "kernel of shape (100, 100)", "takes the model past 30,000 parameters",
                                      "20,200 before it", "FOVEA_MAX_PARAMETERS"]) { try Model.fromConfig(config) }
        // Built in code, a model is not held to the file cap (only to the one-tensor cap).
        XCTAssertEqual(try Sequential([Input(shape: [100]) as Layer] + (0..<5).map { _ in Dense(units: 100) as Layer }).parameterCount, 50500)
    }

    /// Legitimate architectures are untouched, through a config round trip.
    func testRealArchitecturesStayWithinTheCaps() throws {
        for architecture in [Architecture.seedCNN, Architecture(rawValue: "mobilenet_v2")!] {
            let model = try architecture.make(seed: 1)
            XCTAssertLessThan(model.parameterCount, ArchitectureLimits.maxParameters)
            let again = try Model.fromConfig(try model.kerasConfig())
            XCTAssertEqual(again.parameterCount, model.parameterCount)
        }
    }
}
