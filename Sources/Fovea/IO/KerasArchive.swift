import Foundation

/// Keras 3 `.keras` archives: a zip of `config.json` (the architecture), `metadata.json` and the
/// weights, `model.weights.h5` (Keras's default) or `model.weights.npz`.
///
/// Keras stores each layer's variables under a path built from the layer's *class*, numbered in the
/// order of the model's `layers` list (`layers/conv2d/vars/0`, `layers/conv2d_1/vars/0`, …; see
/// `_save_container_state` in `keras/src/saving/saving_lib.py`). A Sequential model's `layers` omits
/// its InputLayer; a functional model's includes it.
///
/// Reading: Sequential models and functional models that are a single chain from one input to one
/// output, made of the layers Fovea has. Weights are read from `model.weights.h5` by Fovea's own
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

    /// The class names of Fovea's layers that Keras knows by the same name and configuration.
    static let kerasLayerClasses: Set<String> = [
        "InputLayer", "Conv1D", "Conv2D", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
        "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Dense", "Flatten", "Dropout", "Activation", "ReLU", "Softmax",
    ]

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

extension Sequential {
    /// Reads a Keras 3 `.keras` archive or a legacy Keras 2/3 `.h5` model file: architecture and weights.
    public static func loadKeras(from url: URL) throws -> Sequential {
        try loadKeras(bytes: NumPy.readBytes(url), file: url.path)
    }

    /// Reads a `.keras` archive, or a legacy Keras `.h5` model file (told apart by content), from
    /// its bytes (`file` names it in errors).
    public static func loadKeras(bytes: [UInt8], file: String) throws -> Sequential {
        if HDF5Reader.isHDF5(bytes) { return try loadKerasH5(bytes: bytes, file: file) }
        let zip = try ZipArchive(bytes: bytes, file: file)
        guard zip.entry(named: KerasArchive.configEntry) != nil else {
            throw FoveaError("\(file): not a .keras archive: it has no config.json (entries: \(zip.names.joined(separator: ", ")))")
        }
        let configBytes = try zip.read(KerasArchive.configEntry)
        guard let config = (try? JSONSerialization.jsonObject(with: Data(configBytes))) as? [String: Any] else {
            throw FoveaError("\(file): config.json is not a JSON object (corrupt?)")
        }
        let (model, paths) = try fromKerasConfig(config, file: file)
        let store = try KerasWeightStore(zip: zip, file: file)
        try store.assign(to: model, paths: paths)
        return model
    }

    /// Rebuilds a model (freshly initialised) from a Keras `config.json` object (or a legacy `.h5`
    /// file's `model_config`, named by `source` in errors), with the path under which Keras stores
    /// each layer's variables (`layers/conv2d`).
    static func fromKerasConfig(_ json: [String: Any], file: String, source: String = "config.json") throws -> (Sequential, [ObjectIdentifier: String]) {
        // Keras 2.0–2.2 wrote a Sequential's config as the bare list of its layers.
        let config = json["config"] as? [String: Any] ?? (json["config"] as? [[String: Any]]).map { ["layers": $0] }
        guard let className = json["class_name"] as? String, let config, let entries = config["layers"] as? [[String: Any]] else {
            throw FoveaError("\(file): \(source) does not describe a model (class_name and config.layers)")
        }
        let name = config["name"] as? String ?? "sequential"
        func entryName(_ e: [String: Any]) -> String { e["name"] as? String ?? (e["config"] as? [String: Any])?["name"] as? String ?? "?" }
        func makeLayer(_ e: [String: Any]) throws -> Layer {
            do { return try Layer.deserialize(e) } catch let error as FoveaError {
                throw FoveaError("\(file): layer '\(entryName(e))' (\(e["class_name"] as? String ?? "?")) cannot be loaded: \(error.message)")
            }
        }
        // Keras numbers the variable paths per class over its `layers` list.
        func kerasPaths(_ listed: [[String: Any]]) -> [String: String] {
            var used: [String: Int] = [:], paths: [String: String] = [:]
            for e in listed {
                let base = snakeCase(e["class_name"] as? String ?? "")
                let n = used[base, default: -1] + 1
                used[base] = n
                paths[entryName(e)] = n == 0 ? "layers/\(base)" : "layers/\(base)_\(n)"
            }
            return paths
        }

        let chain: [[String: Any]]
        let pathByName: [String: String]
        switch className {
        case "Sequential":
            chain = entries
            pathByName = kerasPaths(entries.filter { $0["class_name"] as? String != "InputLayer" })
        case "Functional", "Model":
            chain = try functionalChain(config, entries, file: file, entryName: entryName)
            pathByName = kerasPaths(entries)
        default:
            throw FoveaError("\(file): the model is a \(className); Fovea reads Sequential and functional models")
        }
        let layers = try chain.map(makeLayer)
        let model = try Sequential(layers, name: name)
        if model.inputShape == nil {
            // A Sequential built by calling it on data has no InputLayer but records the shape;
            // Keras 2 put it on the first layer when the model was declared with input_shape=.
            let shape = (config["build_input_shape"] as? [Any]) ?? ((json["build_config"] as? [String: Any])?["input_shape"] as? [Any])
                ?? ((chain.first?["config"] as? [String: Any])?["batch_input_shape"] as? [Any])
            let dims = shape?.dropFirst().map { ($0 as? NSNumber)?.intValue }
            guard let dims, dims.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw FoveaError("\(file): model '\(name)' has no InputLayer and no known input shape (it was never built in Keras)")
            }
            try model.build(inputShape: dims.map { $0! })
        }
        var paths: [ObjectIdentifier: String] = [:]
        for layer in model.layers { if let p = pathByName[layer.name] { paths[ObjectIdentifier(layer)] = p } }
        return (model, paths)
    }

    /// The layers of a functional model that is one path from its input to its output, in order.
    private static func functionalChain(_ config: [String: Any], _ entries: [[String: Any]], file: String,
                                        entryName: ([String: Any]) -> String) throws -> [[String: Any]] {
        func endpoints(_ key: String) -> [String] {
            guard let list = config[key] as? [Any] else { return [] }
            if let name = list.first as? String { return [name] }  // a single [name, 0, 0]
            return list.compactMap { ($0 as? [Any])?.first as? String }
        }
        let inputs = endpoints("input_layers"), outputs = endpoints("output_layers")
        guard inputs.count == 1, outputs.count == 1 else {
            throw FoveaError("\(file): the functional model has \(inputs.count) inputs and \(outputs.count) outputs; Fovea reads single-input, single-output chains")
        }
        let byName = Dictionary(entries.map { (entryName($0), $0) }, uniquingKeysWith: { a, _ in a })
        var chain: [[String: Any]] = []
        var current = outputs[0]
        while true {
            guard let entry = byName[current] else { throw FoveaError("\(file): the functional model refers to a missing layer '\(current)'") }
            chain.append(entry)
            guard chain.count <= entries.count else { throw FoveaError("\(file): the functional model's connections form a cycle") }
            if entry["class_name"] as? String == "InputLayer" { break }
            let nodes = entry["inbound_nodes"] as? [Any] ?? []
            guard nodes.count == 1 else {
                throw FoveaError("\(file): layer '\(current)' is called \(nodes.count) times; Fovea reads functional models whose layers are each used once")
            }
            // Keras 3: {"args": [keras_tensor], "kwargs": {}}; Keras 2: [[name, node, tensor, kwargs]].
            // A layer joining tensors (Add, Concatenate) gets them as one list argument.
            let args: [Any] = ((nodes[0] as? [String: Any])?["args"] as? [Any]) ?? (nodes[0] as? [Any]) ?? []
            let tensors: [Any] = args.flatMap { arg -> [Any] in
                if let list = arg as? [Any], !(list.first is String) { return list }
                return [arg]
            }
            let sources: [String] = tensors.compactMap { t in
                if let t = t as? [String: Any], let history = (t["config"] as? [String: Any])?["keras_history"] as? [Any] {
                    return history.first as? String
                }
                return (t as? [Any])?.first as? String
            }
            guard tensors.count == 1, sources.count == 1 else {
                throw FoveaError("\(file): layer '\(current)' takes \(tensors.count) inputs; Fovea reads functional models that are a single chain of layers")
            }
            current = sources[0]
        }
        guard current == inputs[0] else { throw FoveaError("\(file): the output does not lead back to the model's input '\(inputs[0])'") }
        guard chain.count == entries.count else {
            let onPath = Set(chain.map(entryName))
            let off = entries.map(entryName).filter { !onPath.contains($0) }
            throw FoveaError("\(file): the functional model has layers off the path from input to output (\(off.joined(separator: ", "))); Fovea reads single-chain models")
        }
        return chain.reversed()
    }

    /// This model's architecture as Keras 3's `config.json` object.
    public func kerasConfig() throws -> [String: Any] {
        guard let inputShape else { throw FoveaError("model \(name) is not built yet; call it on data or start it with Input(shape:) before saving") }
        let policy: [String: Any] = ["module": "keras", "class_name": "DTypePolicy", "config": ["name": "float32"], "registered_name": NSNull()]
        func shapeJSON(_ s: [Int?]) -> [Any] { s.map { $0.map { $0 as Any } ?? NSNull() } }
        var layerEntries: [[String: Any]] = []
        if !(layers.first is Input) {
            layerEntries.append(["module": "keras.layers", "class_name": "InputLayer", "registered_name": NSNull(),
                                 "config": ["name": "input_layer", "batch_shape": shapeJSON(inputShape), "dtype": "float32", "sparse": false]])
        }
        for layer in layers {
            guard KerasArchive.kerasLayerClasses.contains(layer.typeName), String(reflecting: type(of: layer)).hasPrefix("Fovea.") else {
                throw FoveaError("layer '\(layer.name)' (\(layer.typeName)) is not a built-in layer Keras knows; it cannot be written to a .keras archive")
            }
            if let input = layer as? Input {
                layerEntries.append(["module": "keras.layers", "class_name": "InputLayer", "registered_name": NSNull(),
                                     "config": ["name": input.name, "batch_shape": shapeJSON([nil] + input.shape.map { $0 }),
                                                "dtype": "float32", "sparse": false]])
                continue
            }
            var config = layer.configuration
            for (key, module) in [("initializer", "keras.initializers"), ("regularizer", "keras.regularizers"), ("constraint", "keras.constraints")] {
                for (k, v) in config where k.hasSuffix(key) {
                    if var object = v as? [String: Any] {
                        object["module"] = module
                        object["registered_name"] = NSNull()
                        config[k] = object
                    }
                }
            }
            // Keras seeds are 32-bit; Fovea's derived 64-bit seeds only matter to Fovea's own dropout.
            if let seed = config["seed"] as? UInt64, seed > UInt64(Int32.max) { config["seed"] = NSNull() }
            config["dtype"] = policy
            var entry: [String: Any] = ["module": "keras.layers", "class_name": layer.typeName, "config": config, "registered_name": NSNull()]
            if let built = layer.builtInputShape { entry["build_config"] = ["input_shape": shapeJSON(built)] }
            layerEntries.append(entry)
        }
        return ["module": "keras", "class_name": "Sequential", "registered_name": NSNull(),
                "config": ["name": name, "trainable": true, "dtype": policy, "layers": layerEntries,
                           "build_input_shape": shapeJSON(inputShape)],
                "build_config": ["input_shape": shapeJSON(inputShape)], "compile_config": NSNull()]
    }

    /// The bytes of a `.keras` archive of this model (weights in `model.weights.h5`).
    public func kerasArchive() throws -> [UInt8] {
        let config = try JSONSerialization.data(withJSONObject: try kerasConfig(), options: [.sortedKeys])
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd@HH:mm:ss"
        let metadata = try JSONSerialization.data(withJSONObject: [
            "keras_version": KerasArchive.kerasFormatVersion, "date_saved": formatter.string(from: Date()), "saved_by": "Fovea",
        ], options: [.sortedKeys])
        let paths = kerasVariablePaths()
        var arrays: [(path: String, shape: [Int], values: [Float])] = []
        for layer in layers {
            guard let path = paths[ObjectIdentifier(layer)] else { continue }
            for (i, v) in layer.variables.enumerated() { arrays.append(("\(path)/vars/\(i)", v.value.shape, v.value.scalars)) }
        }
        var zip = ZipWriter()
        try zip.add(KerasArchive.metadataEntry, Array(metadata))
        try zip.add(KerasArchive.configEntry, Array(config))
        try zip.add(KerasArchive.h5Entry, try HDF5Writer.encode(arrays))
        return try zip.finish()
    }

    /// The path under which Keras 3 stores each layer's variables when this model is saved as a
    /// Sequential (`layers/conv2d`): Sequential's `layers` omits the InputLayer, and paths are
    /// numbered per class over the rest.
    func kerasVariablePaths() -> [ObjectIdentifier: String] {
        var used: [String: Int] = [:]
        var paths: [ObjectIdentifier: String] = [:]
        for layer in layers where !(layer is Input) {
            let base = snakeCase(layer.typeName)
            let n = used[base, default: -1] + 1
            used[base] = n
            paths[ObjectIdentifier(layer)] = n == 0 ? "layers/\(base)" : "layers/\(base)_\(n)"
        }
        return paths
    }

    /// Writes a `.keras` archive that Keras 3 loads with `keras.saving.load_model`, atomically.
    public func saveKeras(to url: URL) throws {
        try writeAtomically(Data(try kerasArchive()), to: url)
    }

    /// Loads a model from a Fovea model file, a Keras `.keras` archive or a legacy Keras `.h5`
    /// model file, told apart by content.
    public static func load(fromAnyFormat url: URL) throws -> Sequential {
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

    /// Checks every layer's arrays against the model's variables, then sets them all.
    func assign(to model: Sequential, paths layerPaths: [ObjectIdentifier: String]) throws {
        let available = Set(paths)
        var consumed = Set<String>()
        var updates: [(Variable, Tensor)] = []
        for layer in model.layers {
            let vars = layer.variables
            guard let base = layerPaths[ObjectIdentifier(layer)] else {
                if vars.isEmpty { continue }
                throw FoveaError("\(file): no weight path is known for layer '\(layer.name)'")
            }
            // Keras 2.13–2.15 archives name the container `_layer_checkpoint_dependencies`.
            let legacy = base.replacingOccurrences(of: "layers/", with: "_layer_checkpoint_dependencies/")
            let prefix = available.contains("\(base)/vars/0") || !available.contains("\(legacy)/vars/0") ? base : legacy
            let stored = paths.filter { $0.hasPrefix("\(prefix)/vars/") }
            guard stored.count == vars.count else {
                throw FoveaError("\(file): layer '\(layer.name)' (\(layer.typeName)) has \(vars.count) variables but the file holds \(stored.count) arrays under \(prefix)/vars")
            }
            for (i, v) in vars.enumerated() {
                let key = "\(prefix)/vars/\(i)"
                guard available.contains(key) else { throw FoveaError("\(file): layer '\(layer.name)' is missing \(key)") }
                let array = try fetch(key)
                guard array.shape == v.value.shape else {
                    throw FoveaError("\(file): \(key) (\(v.name)) has shape \(formatShape(array.shape)) but layer '\(layer.name)' expects \(formatShape(v.value.shape))")
                }
                updates.append((v, array.tensor))
                consumed.insert(key)
            }
        }
        let unused = paths.filter { ($0.hasPrefix("layers/") || $0.hasPrefix("_layer_checkpoint_dependencies/")) && !consumed.contains($0) }.sorted()
        guard unused.isEmpty else {
            throw FoveaError("\(file): weights \(unused.prefix(5).joined(separator: ", "))\(unused.count > 5 ? ", …" : "") belong to no layer of the architecture")
        }
        for (v, t) in updates { v.value = t }
    }
}
