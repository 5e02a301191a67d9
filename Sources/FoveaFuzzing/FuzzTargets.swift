import Foundation
import Fovea
import FoveaServing

/// The fuzz harnesses' bodies: one entry point per input format or request decoder, each feeding
/// arbitrary bytes to the public decoder a user's file or a client's request reaches. A thrown
/// error is the expected answer to bad input; anything else (a trap, a sanitizer report, a hang,
/// memory past the fuzzer's limit) is a bug.
///
/// The libFuzzer executables in `Fuzz/` call ``run(_:_:)``; `FuzzRegressionTests` replays every
/// committed seed and regression input (`Fuzz/Corpus/<harness>/`, `Fuzz/Regressions/<harness>/`)
/// through the same entry points in the ordinary `swift test`.
public enum FuzzTargets {
    /// The harnesses, by name (the directory names under `Fuzz/Corpus`).
    public static let names: [String] = harnesses.map(\.name)

    /// Runs harness `name` on `bytes`. Returns false for an unknown name.
    @discardableResult
    public static func run(_ name: String, _ bytes: [UInt8]) -> Bool {
        guard let harness = harnesses.first(where: { $0.name == name }) else { return false }
        harness.body(bytes)
        return true
    }

    /// Caps the harnesses pass where a decoder takes one, so a fuzz input cannot legitimately ask
    /// for gigabytes (the decoders' own defaults are for real files).
    static let maxPixels = 1 << 22
    static let maxGzipBytes = 1 << 24

    static let harnesses: [(name: String, body: ([UInt8]) -> Void)] = [
        ("idx", idx),
        ("gzip", gzip),
        ("png", image),
        ("jpeg", image),
        ("model", modelFile),
        ("keras", keras),
        ("h5", h5),
        ("npy", npy),
        ("npz", npz),
        ("csv", csv),
        ("serving-json", servingJSON),
        ("serving-binary", servingBinary),
    ]

    /// MNIST's IDX files (rank 1 labels, rank 3 images, as `MNIST.load` parses them).
    static func idx(_ bytes: [UInt8]) {
        _ = try? IDX.parse(bytes, rank: 1, file: "fuzz")
        _ = try? IDX.parse(bytes, rank: 3, file: "fuzz")
    }

    /// gzip (MNIST's `.gz` files), then the IDX inside.
    static func gzip(_ bytes: [UInt8]) {
        guard let inflated = try? Gzip.decompress(bytes, maxOutputBytes: maxGzipBytes) else { return }
        idx(inflated)
    }

    /// PNG and JPEG (libpng, libjpeg-turbo and Fovea's C layer over them), then what `fovea
    /// predict` does with an image: resize and convert to a model's input.
    static func image(_ bytes: [UInt8]) {
        guard let image = try? Image.decode(bytes, name: "fuzz", maxPixels: maxPixels) else { return }
        _ = try? ImagePreparation().input(image, shape: [nil, 8, 8, 1])
    }

    /// Fovea's native model file (safetensors with an architecture), loaded as `fovea` loads one.
    static func modelFile(_ bytes: [UInt8]) {
        let url = scratchFile
        guard FileManager.default.createFile(atPath: url.path, contents: Data(bytes)) else { return }
        defer { try? FileManager.default.removeItem(at: url) }
        _ = try? Model.load(from: url)
        _ = try? SafeTensors.decode(Data(bytes), file: "fuzz")
    }

    /// A Keras `.keras` archive (zip, config.json, model.weights.h5/.npz) or legacy `.h5` model.
    static func keras(_ bytes: [UInt8]) {
        _ = try? Model.loadKeras(bytes: bytes, file: "fuzz")
        _ = try? KerasArchive.readWeights(bytes: bytes, file: "fuzz")
    }

    /// HDF5 (the subset h5py writes): every group, attribute and dataset, then as a Keras model.
    static func h5(_ bytes: [UInt8]) {
        if let file = try? HDF5File(bytes: bytes, file: "fuzz") {
            _ = try? file.attributes(of: "")
            if let paths = try? file.datasetPaths() {
                for path in paths.prefix(64) { _ = try? file.dataset(path) }
            }
            walk(file, "", depth: 0)
        }
        _ = try? Model.loadKeras(bytes: bytes, file: "fuzz")
    }

    private static func walk(_ file: HDF5File, _ path: String, depth: Int) {
        guard depth < 8, let members = try? file.members(of: path) else { return }
        for member in members.prefix(64) {
            let child = path.isEmpty ? member.name : path + "/" + member.name
            _ = try? file.attributes(of: child)
            if member.kind == .group { walk(file, child, depth: depth + 1) }
        }
    }

    /// NumPy `.npy`, and the tensor made from it.
    static func npy(_ bytes: [UInt8]) {
        guard let array = try? NumPy.decode(bytes, file: "fuzz") else { return }
        _ = array.tensor
    }

    /// NumPy `.npz` (zip of `.npy`).
    static func npz(_ bytes: [UInt8]) {
        _ = try? NumPy.decodeArchive(bytes, file: "fuzz")
    }

    /// The CSV training log (`CSVLogger`'s, `fovea plot`'s input), parsed. (Drawing the curves
    /// from extreme values is the plot's own range checking, not the parser's.)
    static func csv(_ bytes: [UInt8]) {
        _ = try? TrainingLog(csv: String(decoding: bytes, as: UTF8.self), file: "fuzz")
        _ = try? TrainingLog(csv: String(decoding: bytes, as: UTF8.self), file: "fuzz", separator: ";")
    }

    static let signature = TensorSignature(inputName: "input", inputShape: [2, 2, 1], outputName: "output", outputShape: [3],
                                           maxRequestBatch: 64)

    /// The server's JSON request bodies: Open Inference Protocol and TensorFlow Serving REST.
    static func servingJSON(_ bytes: [UInt8]) {
        _ = try? JSONReader.parse(bytes)
        _ = try? OpenInferenceCodec.decodeRequest(bytes, headerLength: nil, signature: signature)
        _ = try? TFServingCodec.decodePredict(bytes, signature: signature)
    }

    /// The server's binary request bodies: Open Inference Protocol's binary tensor extension (the
    /// first two bytes give `Inference-Header-Content-Length`), and the image route's body and
    /// multipart form (the third byte picks the content type).
    static func servingBinary(_ bytes: [UInt8]) {
        guard bytes.count >= 3 else { return }
        let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8
        let body = Array(bytes[3...])
        _ = try? OpenInferenceCodec.decodeRequest(body, headerLength: headerLength, signature: signature)
        let contentType = bytes[2] & 1 == 0 ? "application/octet-stream" : "multipart/form-data; boundary=fuzzboundary"
        if let image = try? ImageRequestDecoder.imageBytes(body: body, contentType: contentType) {
            _ = try? ImageRequestDecoder.prepare(image, inputShape: [2, 2, 1], maximumPixels: maxPixels)
        }
    }

    /// Where the model-file harness writes its input (`Model.load(from:)` reads a file): one
    /// file per process, in memory where the system has /dev/shm.
    static let scratchFile: URL = {
        let dir = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        return URL(fileURLWithPath: dir).appendingPathComponent("fovea-fuzz-\(getpid()).safetensors")
    }()
}
