import Foundation

/// Keras 3 `.keras` archives: a zip of `config.json` (the architecture), `metadata.json` and the
/// weights, `model.weights.h5` (Keras's default) or `model.weights.npz`.
///
/// Keras stores each layer's variables under a path built from the layer's *class*, numbered in the
/// order of its container's `layers` list (`layers/conv2d/vars/0`, `layers/conv2d_1/vars/0`, …; a
/// nested model's layers below its own path, `layers/functional/layers/conv2d/vars/0`; see
/// `_save_container_state` in `keras/src/saving/saving_lib.py`). A Sequential model's `layers` omits
/// its InputLayer; a functional model's includes it.
///
/// Reading: any Sequential or functional model of registered layers (architecture through
/// ``Model/fromConfig(_:source:)``). Weights are read from `model.weights.h5` by Fovea's own
/// reader for the classic HDF5 layout h5py writes (no libhdf5 needed), or from a
/// `model.weights.npz` of plain arrays keyed like the HDF5 paths (`layers/conv2d/vars/0`).
/// The npz that Keras itself writes (`weights_format="npz"`) holds pickled backend variables, which
/// Fovea refuses to unpickle, and which Keras 3.15 cannot load either. Legacy `.h5` model files go
/// through the same entry points (see `KerasLegacyH5`).
///
/// Writing: `config.json` in Keras 3's serialization format and `model.weights.h5`, which
/// `keras.saving.load_model` loads.
public enum KerasArchive {
    static let configEntry = "config.json"
    static let metadataEntry = "metadata.json"
    static let h5Entry = "model.weights.h5"
    static let npzEntry = "model.weights.npz"
    /// The Keras release whose archive format Fovea writes and was checked against.
    public static let kerasFormatVersion = "3.15.1"

    /// Every array in a `.keras` archive's weights file, by Keras path (`layers/conv2d/vars/0`),
    /// including any optimizer state; for inspecting an archive without rebuilding its model.
    public static func readWeights(bytes: [UInt8], file: String) throws -> [String: NumPyArray] {
        let store = try KerasWeightStore(zip: try ZipArchive(bytes: bytes, file: file), file: file)
        var arrays: [String: NumPyArray] = [:]
        for path in store.paths { arrays[path] = try store.fetch(path) }
        return arrays
    }

    /// The one line of Python that re-saves a `.keras` or legacy `.h5` model as a `.keras` archive.
    static func resaveHint(_ path: String) -> String {
        let out = (path as NSString).deletingPathExtension + "-resaved.keras"
        return "python -c \"import keras; keras.saving.load_model('\(path)', compile=False).save('\(out)')\""
    }
}

extension Model {
    /// Reads a Keras 3 `.keras` archive or a legacy Keras 2/3 `.h5` model file: architecture and weights.
    public static func loadKeras(from url: URL) throws -> Model {
        try loadKeras(bytes: NumPy.readBytes(url), file: url.path)
    }

    /// Reads a `.keras` archive, or a legacy Keras `.h5` model file (told apart by content), from
    /// its bytes (`file` names it in errors).
    public static func loadKeras(bytes: [UInt8], file: String) throws -> Model {
        if HDF5Reader.isHDF5(bytes) { return try loadKerasH5(bytes: bytes, file: file) }
        let zip = try ZipArchive(bytes: bytes, file: file)
        guard zip.entry(named: KerasArchive.configEntry) != nil else {
            throw FoveaError("\(file): not a .keras archive: it has no config.json (entries: \(zip.names.joined(separator: ", ")))")
        }
        let config: JSONValue
        do { config = try JSONValue(parsing: Data(try zip.read(KerasArchive.configEntry))) } catch {
            throw FoveaError("\(file): config.json is not JSON (corrupt?)")
        }
        let model = try fromConfig(config, source: "\(file) [config.json]")
        try KerasWeightStore(zip: zip, file: file).assign(to: model)
        return model
    }

    /// The bytes of a `.keras` archive of this model (weights in `model.weights.h5`).
    public func kerasArchive() throws -> [UInt8] {
        let config = try kerasConfig().data()
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd@HH:mm:ss"
        let metadata = try JSONSerialization.data(withJSONObject: [
            "keras_version": KerasArchive.kerasFormatVersion, "date_saved": formatter.string(from: Date()), "saved_by": "Fovea",
        ], options: [.sortedKeys])
        let arrays = kerasVariablePaths().map { (path: $0.path, shape: $0.variable.value.shape, values: $0.variable.value.scalars) }
        var zip = ZipWriter()
        try zip.add(KerasArchive.metadataEntry, Array(metadata))
        try zip.add(KerasArchive.configEntry, Array(config))
        try zip.add(KerasArchive.h5Entry, try HDF5Writer.encode(arrays))
        return try zip.finish()
    }

    /// Where Keras 3 stores each variable in `model.weights.h5`: `layers/<class>[_n]/vars/<i>`, a
    /// nested model's below its own path. Each variable once, at its first place.
    func kerasVariablePaths() -> [(path: String, variable: Variable)] {
        var seen = Set<ObjectIdentifier>()
        var result: [(String, Variable)] = []
        func visit(_ model: Model, prefix: String) {
            var used: [String: Int] = [:]
            for layer in model.layers {
                let base = snakeCase(layer.typeName)
                let n = used[base, default: -1] + 1
                used[base] = n
                let path = "\(prefix)layers/\(n == 0 ? base : "\(base)_\(n)")"
                for (i, v) in layer.namedVariables.map(\.variable).enumerated() where seen.insert(ObjectIdentifier(v)).inserted {
                    result.append(("\(path)/vars/\(i)", v))
                }
                if let inner = layer as? Model { visit(inner, prefix: path + "/") }
            }
        }
        visit(self, prefix: "")
        return result
    }

    /// Writes a `.keras` archive that Keras 3 loads with `keras.saving.load_model`, atomically.
    public func saveKeras(to url: URL) throws {
        try writeAtomically(Data(try kerasArchive()), to: url)
    }

    /// Loads a model from a Fovea model file, a Keras `.keras` archive or a legacy Keras `.h5`
    /// model file, told apart by content.
    public static func load(fromAnyFormat url: URL) throws -> Model {
        let bytes = try NumPy.readBytes(url)
        // Zip local-file or (empty archive) end-of-directory signature; a safetensors file starts
        // with its header length, which would have to be absurd to look like either.
        if bytes.starts(with: [0x50, 0x4B, 3, 4]) || bytes.starts(with: [0x50, 0x4B, 5, 6]) || HDF5Reader.isHDF5(bytes) { return try loadKeras(bytes: bytes, file: url.path) }
        return try load(from: url)
    }
}

/// The arrays of a `.keras` archive's weights file, by Keras path (`layers/conv2d/vars/0`).
struct KerasWeightStore {
    let file: String
    let paths: [String]
    let fetch: (String) throws -> NumPyArray

    init(zip: ZipArchive, file: String) throws {
        if zip.entry(named: KerasArchive.h5Entry) != nil {
            let name = "\(file) [\(KerasArchive.h5Entry)]"
            try self.init(h5: try HDF5Reader(bytes: try zip.read(KerasArchive.h5Entry), file: name), file: name)
        } else if zip.entry(named: KerasArchive.npzEntry) != nil {
            let name = "\(file) [\(KerasArchive.npzEntry)]"
            let npz = try ZipArchive(bytes: try zip.read(KerasArchive.npzEntry), file: name)
            let byPath = Dictionary(npz.entries.map { (String($0.name.dropLast($0.name.hasSuffix(".npy") ? 4 : 0)), $0) },
                                    uniquingKeysWith: { a, _ in a })
            if !byPath.isEmpty && !byPath.keys.contains(where: { $0.contains("/vars/") }) {
                throw FoveaError("\(name) is the npz Keras writes with weights_format='npz': one pickled Python object per layer (backend variables), which Fovea never unpickles and Keras 3.15 itself cannot load. Save with Keras's default .h5 weights instead: \(KerasArchive.resaveHint(file))")
            }
            self.init(file: name, paths: Array(byPath.keys)) { path in try NumPy.decode(try npz.read(byPath[path]!), file: "\(name) [\(path).npy]") }
        } else {
            throw FoveaError("\(file): the archive has no \(KerasArchive.h5Entry) or \(KerasArchive.npzEntry) (entries: \(zip.names.joined(separator: ", ")))")
        }
    }

    /// The datasets of a Keras 3 weights file (`model.weights.h5` in an archive, or a `.weights.h5`).
    init(h5: HDF5Reader, file: String) throws {
        let datasets = try h5.datasets()
        self.init(file: file, paths: Array(datasets.keys)) { path in try h5.readDataset(at: datasets[path]!, path: path) }
    }

    private init(file: String, paths: [String], fetch: @escaping (String) throws -> NumPyArray) {
        self.file = file
        self.paths = paths
        self.fetch = fetch
    }

    /// Checks every variable's array (shape and presence) against the model, then sets them all: on
    /// any mismatch the model is left unchanged.
    func assign(to model: Model) throws {
        let available = Set(paths)
        // Keras 2.13–2.15 archives name the container `_layer_checkpoint_dependencies`.
        let legacy = !available.contains(where: { $0.hasPrefix("layers/") }) && available.contains(where: { $0.hasPrefix("_layer_checkpoint_dependencies/") })
        var consumed = Set<String>()
        var updates: [(Variable, Tensor)] = []
        for (path, v) in model.kerasVariablePaths() {
            let key = legacy ? path.replacingOccurrences(of: "layers/", with: "_layer_checkpoint_dependencies/") : path
            guard available.contains(key) else {
                throw FoveaError("\(file): the weights of \(v.name) are missing (no array at \(key))")
            }
            let array = try fetch(key)
            guard array.shape == v.value.shape else {
                throw FoveaError("\(file): \(key) (\(v.name)) has shape \(formatShape(array.shape)) but the model expects \(formatShape(v.value.shape))")
            }
            updates.append((v, array.tensor))
            consumed.insert(key)
        }
        let unused = paths.filter { ($0.hasPrefix("layers/") || $0.hasPrefix("_layer_checkpoint_dependencies/")) && !consumed.contains($0) }.sorted()
        guard unused.isEmpty else {
            throw FoveaError("\(file): weights \(unused.prefix(5).joined(separator: ", "))\(unused.count > 5 ? ", …" : "") belong to no layer of the architecture")
        }
        for (v, t) in updates { v.value = t }
    }
}
