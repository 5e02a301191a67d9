import Foundation

/// Legacy Keras HDF5 model files: what Keras 2 and tf.keras wrote with `model.save("m.h5")`, and
/// what Keras 3 still writes (its `legacy_h5_format`) when the name ends in `.h5`.
///
/// The root group's attributes hold the architecture (`model_config`, the same `class_name`/`config`
/// JSON as a `.keras` archive's `config.json`, in Keras 2's or Keras 3's spelling), `keras_version`,
/// `backend` and, for a compiled model, `training_config` (ignored: the model comes back uncompiled,
/// as from a `.keras` archive). The weights are in group `model_weights`: its attribute
/// `layer_names` lists the layers in order, and each layer's group lists its variables in the
/// attribute `weight_names` (`conv2d/kernel:0` in Keras 2, `model/conv2d/kernel` in Keras 3), paths
/// of datasets inside that group. A weights-only file (`save_weights("w.h5")` in Keras 2) has the
/// same layout on its root group.
///
/// As Keras's `load_weights_from_hdf5_group` does, the layers of the file that hold weights are
/// matched to the model's layers that have variables by position, not by name.
///
/// `layerNames(in:group:)` and `weights(in:group:)` read any such file without a model;
/// `encodeModel` and `encodeWeights` write one as Keras 3 does.
public enum KerasLegacyH5 {
    /// The weights of one layer in the file: its name and its datasets, in Keras's variable order.
    struct LayerWeights {
        let name: String
        let weights: [(name: String, header: Int)]
    }

    /// The string-list attribute `name` of the object at `header`, joined from the chunks
    /// `name0`, `name1`, … that Keras writes when the list is too large for an object header
    /// (`load_attributes_from_hdf5_group`); nil when absent. An empty numeric array is how h5py
    /// stores Keras's empty lists.
    static func stringList(_ attributes: [String: HDF5Reader.Attribute], _ name: String, in h5: HDF5Reader, object: String) throws -> [String]? {
        func strings(_ key: String) throws -> [String]? {
            switch attributes[key] {
            case nil: return nil
            case .strings(let s): return s
            case .numbers(let a) where a.values.count == 0: return []
            case .numbers: throw FoveaError("\(h5.file): attribute '\(key)' of \(object) holds numbers, not names (corrupt?)")
            }
        }
        if let whole = try strings(name) { return whole }
        var joined: [String]?
        var chunk = 0
        while let part = try strings("\(name)\(chunk)") {
            joined = (joined ?? []) + part
            chunk += 1
        }
        return joined
    }

    /// The text of a string attribute (a scalar), or nil when absent.
    static func text(_ attributes: [String: HDF5Reader.Attribute], _ name: String, file: String) throws -> String? {
        switch attributes[name] {
        case nil: return nil
        case .strings(let s) where s.count == 1: return s[0]
        default: throw FoveaError("\(file): attribute '\(name)' is not a single string (corrupt?)")
        }
    }

    /// The layers listed in the group at `group` ("" for the root) that hold weights, in order.
    static func layers(in h5: HDF5Reader, group: String) throws -> [LayerWeights] {
        let object = group.isEmpty ? "the root group" : "group '\(group)'"
        guard let header = try h5.objectHeader(at: group) else { throw FoveaError("\(h5.file): has no group '\(group)' (corrupt?)") }
        guard let names = try stringList(try h5.attributes(ofObjectAt: header), "layer_names", in: h5, object: object) else {
            throw FoveaError("\(h5.file): \(object) has no layer_names attribute, so it holds no Keras weights")
        }
        var result: [LayerWeights] = []
        for name in names {
            let layerPath = group.isEmpty ? name : "\(group)/\(name)"
            guard let layerHeader = try h5.objectHeader(at: layerPath) else {
                throw FoveaError("\(h5.file): layer_names lists '\(name)' but \(object) has no such member (corrupt?)")
            }
            let weightNames = try stringList(try h5.attributes(ofObjectAt: layerHeader), "weight_names", in: h5, object: "layer '\(name)'") ?? []
            guard !weightNames.isEmpty else { continue }
            let weights = try weightNames.map { weight -> (String, Int) in
                guard let at = try h5.objectHeader(at: "\(layerPath)/\(weight)") else {
                    throw FoveaError("\(h5.file): layer '\(name)' lists weight '\(weight)' but holds no dataset '\(layerPath)/\(weight)'")
                }
                return (weight, at)
            }
            result.append(LayerWeights(name: name, weights: weights))
        }
        return result
    }

    /// Every layer listed in `layer_names` of the group at `group` ("" for the root, "model_weights"
    /// in a model file), with or without weights, in the file's order.
    public static func layerNames(in h5: HDF5File, group: String) throws -> [String] {
        let object = group.isEmpty ? "the root group" : "group '\(group)'"
        guard let header = try h5.reader.objectHeader(at: group) else { throw FoveaError("\(h5.file): has no group '\(group)'") }
        guard let names = try stringList(try h5.reader.attributes(ofObjectAt: header), "layer_names", in: h5.reader, object: object) else {
            throw FoveaError("\(h5.file): \(object) has no layer_names attribute, so it holds no Keras weights")
        }
        return names
    }

    /// The arrays of every layer with weights listed in the group at `group` ("" for a weights
    /// file's root, "model_weights" in a model file), in the file's order, each layer's arrays in
    /// the order of its `weight_names` (Keras's variable order), named as there (`conv1_conv/kernel`,
    /// or `conv1_conv/kernel:0` in Keras 2 files).
    public static func weights(in h5: HDF5File, group: String) throws -> [(layer: String, weights: [(name: String, array: NumPyArray)])] {
        try layers(in: h5.reader, group: group).map { layer in
            (layer.name, try layer.weights.map { weight in
                (weight.name, try h5.reader.readDataset(at: weight.header, path: "\(group.isEmpty ? "" : "\(group)/")\(layer.name)/\(weight.name)"))
            })
        }
    }

    /// Checks the stored layers' arrays against the model's layers with variables, then sets them all:
    /// on any mismatch that is not skipped the model is left unchanged. Layers pair in order (Keras's
    /// default, and how the weight files Keras publishes for its applications are matched) or, with
    /// `byName`, by name (stored layers the model lacks are ignored). Each layer's variables are in
    /// Keras's legacy order (trainable first). With `skipMismatch`, a layer whose weight count or
    /// shapes differ is left as it is and named in the result, as Keras's `skip_mismatch` does.
    @discardableResult
    static func assign(_ stored: [LayerWeights], from h5: HDF5Reader, to model: Model, byName: Bool = false,
                       skipMismatch: Bool = false) throws -> [String] {
        let targets = model.layers.filter { !$0.legacyOrderedVariables.isEmpty }
        var pairs: [(Layer, LayerWeights)] = []
        if byName {
            let byLayerName = Dictionary(targets.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            pairs = stored.compactMap { source in byLayerName[source.name].map { ($0, source) } }
        } else {
            guard stored.count == targets.count else {
                throw FoveaError("\(h5.file): holds weights for \(stored.count) layers (\(stored.map(\.name).joined(separator: ", "))) but model '\(model.name)' has \(targets.count) layers with weights (\(targets.map(\.name).joined(separator: ", "))); Keras pairs them in order (use byName: true to match by name)")
            }
            pairs = Array(zip(targets, stored))
        }
        var updates: [(Variable, Tensor)] = []
        var skipped: [String] = []
        layers: for (layer, source) in pairs {
            let vars = layer.legacyOrderedVariables
            guard vars.count == source.weights.count else {
                if skipMismatch { skipped.append(layer.name); continue }
                throw FoveaError("\(h5.file): layer '\(source.name)' holds \(source.weights.count) weights (\(source.weights.map(\.name).joined(separator: ", "))) but layer '\(layer.name)' (\(layer.typeName)) has \(vars.count) variables")
            }
            var layerUpdates: [(Variable, Tensor)] = []
            for (v, weight) in zip(vars, source.weights) {
                let array = try h5.readDataset(at: weight.header, path: "\(source.name)/\(weight.name)")
                guard array.shape == v.value.shape else {
                    if skipMismatch { skipped.append(layer.name); continue layers }
                    throw FoveaError("\(h5.file): weight '\(weight.name)' of layer '\(source.name)' has shape \(formatShape(array.shape)) but \(v.name) of layer '\(layer.name)' expects \(formatShape(v.value.shape))")
                }
                layerUpdates.append((v, array.tensor))
            }
            updates += layerUpdates
        }
        for (v, t) in updates { v.value = t }
        return skipped
    }
}

extension Model {
    /// Reads a legacy Keras `.h5` model file (architecture and weights) from its bytes.
    static func loadKerasH5(bytes: [UInt8], file: String) throws -> Model {
        let h5 = try HDF5Reader(bytes: bytes, file: file)
        guard let root = try h5.objectHeader(at: "") else { throw FoveaError("\(file): has no root group (corrupt?)") }
        let attributes = try h5.attributes(ofObjectAt: root)
        guard let configText = try KerasLegacyH5.text(attributes, "model_config", file: file) else {
            let hasKeras3Weights = try h5.objectHeader(at: "layers") != nil
            let weightsOnly = attributes["layer_names"] != nil || attributes["layer_names0"] != nil || hasKeras3Weights
            throw FoveaError(weightsOnly
                ? "\(file) is a Keras weights file (no model_config: saved with save_weights), not a model; build the model and load it with loadKerasWeights(from:)"
                : "\(file) is an HDF5 file but not a Keras model: it has no model_config attribute")
        }
        if let version = try KerasLegacyH5.text(attributes, "keras_version", file: file), version.hasPrefix("1.") {
            throw FoveaError("\(file) was written by Keras \(version), whose layer configurations predate Keras 2; Fovea reads .h5 files from Keras 2 and 3. Re-save it with: \(KerasArchive.resaveHint(file))")
        }
        let config: JSONValue
        do { config = try JSONValue(parsing: configText) } catch { throw FoveaError("\(file): model_config is not JSON (corrupt?)") }
        let model = try fromConfig(config, source: "\(file) [model_config]")
        guard try h5.objectHeader(at: "model_weights") != nil else { throw FoveaError("\(file): has a model_config but no model_weights group (corrupt?)") }
        try KerasLegacyH5.assign(try KerasLegacyH5.layers(in: h5, group: "model_weights"), from: h5, to: model)
        return model
    }

    /// Loads Keras weights into this model: a legacy `.h5` weights file (`save_weights("w.h5")` in
    /// Keras 2 — the form of the weight files Keras publishes for its applications) or the weights of
    /// a legacy `.h5` model file, paired with this model's layers that have variables in order (Keras's
    /// default) or, with `byName`, by layer name; or a Keras 3 `.weights.h5`, whose paths
    /// (`layers/conv2d/vars/0`) follow this model's structure. Shapes must match; with `skipMismatch`
    /// a legacy file's layer that does not fit is skipped instead (returned by name). Otherwise any
    /// difference is an error and changes nothing.
    @discardableResult
    public func loadKerasWeights(from url: URL, byName: Bool = false, skipMismatch: Bool = false) throws -> [String] {
        let bytes = try NumPy.readBytes(url)
        let h5 = try HDF5Reader(bytes: bytes, file: url.path)
        guard let root = try h5.objectHeader(at: "") else { throw FoveaError("\(url.path): has no root group (corrupt?)") }
        let attributes = try h5.attributes(ofObjectAt: root)
        if attributes["layer_names"] != nil || attributes["layer_names0"] != nil {
            return try KerasLegacyH5.assign(try KerasLegacyH5.layers(in: h5, group: ""), from: h5, to: self, byName: byName, skipMismatch: skipMismatch)
        } else if try h5.objectHeader(at: "model_weights") != nil {
            return try KerasLegacyH5.assign(try KerasLegacyH5.layers(in: h5, group: "model_weights"), from: h5, to: self, byName: byName, skipMismatch: skipMismatch)
        }
        guard !byName else { throw FoveaError("\(url.path) is a Keras 3 weights file, whose weights follow the model's structure; byName applies to legacy .h5 weight files") }
        try KerasWeightStore(h5: h5, file: url.path).assign(to: self)
        return []
    }
}

// MARK: - Writing

extension KerasLegacyH5 {
    /// One layer to write: its name and its weights, each named by its Keras path
    /// (`conv1_conv/kernel`), with its shape and row-major float32 values.
    public typealias LayerToWrite = (name: String, weights: [(name: String, shape: [Int], values: [Float])])

    /// Keras's `HDF5_OBJECT_HEADER_LIMIT`: a list attribute whose numpy array (every string padded
    /// to the longest) takes more bytes is split into several attributes.
    static let objectHeaderLimit = 64_512

    /// A legacy Keras model file, exactly as Keras 3.15's `model.save("m.h5")` (its
    /// `legacy_h5_format`) writes one, without an optimizer:
    /// - root attributes `keras_version`, `backend` (variable-length UTF-8 strings) and
    ///   `model_config` (the JSON text, a variable-length ASCII string in the global heap, so any
    ///   length fits);
    /// - group `model_weights` with attributes `layer_names` (every layer, in order, weights or
    ///   not), `backend` and `keras_version` (variable-length ASCII strings);
    /// - in it one group per layer with attribute `weight_names` (the weights' paths as a list of
    ///   variable-length ASCII strings, or an empty float64 array when there are none) and a
    ///   float32 dataset at each path below the layer's group, and Keras 3's group
    ///   `top_level_model_weights` (no weights).
    ///
    /// A list too long for an object header is split into `layer_names0`, `layer_names1`, … of
    /// fixed-length strings, as Keras's `save_attributes_to_hdf5_group` does.
    /// `keras.saving.load_model` loads the file when `modelConfig` is a Keras model config
    /// (`{"class_name": …, "config": …}`) whose layers match `layers`.
    public static func encodeModel(modelConfig: String, kerasVersion: String, backend: String,
                                   layers: [LayerToWrite]) throws -> [UInt8] {
        guard (try? JSONSerialization.jsonObject(with: Data(modelConfig.utf8))) is [String: Any] else {
            throw FoveaError("Keras .h5: modelConfig is not a JSON object; pass the model's config as Keras writes it ({\"class_name\": …, \"config\": …})")
        }
        let root = HDF5Writer.Group()
        try root.setAttribute("keras_version", .string(kerasVersion, .utf8))
        try root.setAttribute("backend", .string(backend, .utf8))
        try root.setAttribute("model_config", .string(modelConfig, .ascii))
        try writeWeights(into: try root.group("model_weights"), kerasVersion: kerasVersion, backend: backend, layers: layers)
        return try HDF5Writer.encode(root)
    }

    /// A legacy Keras weights file: what Keras's `save_weights_to_hdf5_group` writes on a file's
    /// root (the `model_weights` group of `encodeModel` as the whole file: `layer_names`,
    /// `backend`, `keras_version`, one group per layer, `top_level_model_weights`). Keras's
    /// `model.load_weights("w.h5")` reads it, pairing the layers that have weights in order.
    public static func encodeWeights(kerasVersion: String, backend: String, layers: [LayerToWrite]) throws -> [UInt8] {
        let root = HDF5Writer.Group()
        try writeWeights(into: root, kerasVersion: kerasVersion, backend: backend, layers: layers)
        return try HDF5Writer.encode(root)
    }

    /// Keras's `save_weights_to_hdf5_group`.
    static func writeWeights(into group: HDF5Writer.Group, kerasVersion: String, backend: String, layers: [LayerToWrite]) throws {
        try setStringList(group, "layer_names", layers.map(\.name))
        try group.setAttribute("backend", .string(backend, .ascii))
        try group.setAttribute("keras_version", .string(kerasVersion, .ascii))
        var seen = Set<String>()
        for layer in layers + [(name: "top_level_model_weights", weights: [])] {
            guard !layer.name.isEmpty, !layer.name.contains("/") else {
                throw FoveaError("Keras .h5: invalid layer name '\(layer.name)' (empty or containing '/')")
            }
            guard seen.insert(layer.name).inserted else {
                throw FoveaError(layer.name == "top_level_model_weights"
                    ? "Keras .h5: a layer may not be named 'top_level_model_weights', the group Keras 3 keeps for a model's own weights"
                    : "Keras .h5: two layers are named '\(layer.name)'; Keras's layer names are unique within a model")
            }
            let layerGroup = try group.group(layer.name)
            try setStringList(layerGroup, "weight_names", layer.weights.map(\.name))
            for weight in layer.weights {
                do {
                    try layerGroup.addDataset(weight.name, shape: weight.shape, values: weight.values)
                } catch let error as FoveaError {
                    throw FoveaError("Keras .h5: weight '\(weight.name)' of layer '\(layer.name)': \(error.message)")
                }
            }
        }
    }

    /// Keras's `save_attributes_to_hdf5_group`: a list of names as one attribute (variable-length
    /// ASCII strings, an empty float64 array for an empty list), or, when the list as a numpy
    /// array of fixed-length strings would exceed `objectHeaderLimit` bytes, split as
    /// `np.array_split` splits it into the fewest pieces that fit, stored as `name0`, `name1`, …
    /// of fixed-length strings (each padded to the longest name of the whole list).
    static func setStringList(_ group: HDF5Writer.Group, _ name: String, _ list: [String]) throws {
        if list.isEmpty { return try group.setAttribute(name, .emptyList) }
        if let long = list.first(where: { $0.utf8.count > objectHeaderLimit }) {
            throw FoveaError("Keras .h5: the name '\(long.prefix(40))…' in \(name) has \(long.utf8.count) bytes; Keras stores names of at most \(objectHeaderLimit) bytes")
        }
        let itemSize = max(1, list.map(\.utf8.count).max()!)
        var pieces = 1
        while (list.count + pieces - 1) / pieces * itemSize > objectHeaderLimit { pieces += 1 }
        guard pieces > 1 else { return try group.setAttribute(name, .strings(list, .ascii)) }
        // np.array_split: the first count % pieces pieces hold one more element.
        var start = 0
        for piece in 0..<pieces {
            let size = list.count / pieces + (piece < list.count % pieces ? 1 : 0)
            try group.setAttribute("\(name)\(piece)", .fixedLengthStrings(Array(list[start..<(start + size)]), itemSize: itemSize))
            start += size
        }
    }
}

extension Model {
    /// The bytes of a legacy Keras `.h5` model file of this model, as Keras 3's `model.save("m.h5")`
    /// writes one (architecture in `model_config`, weights per layer in Keras's legacy order, trainable
    /// first); `keras.saving.load_model` and Keras 2 load it.
    public func kerasH5() throws -> [UInt8] {
        let names = Dictionary(variablePaths.map { (ObjectIdentifier($0.variable), $0.path.replacingOccurrences(of: ".", with: "/")) },
                               uniquingKeysWith: { a, _ in a })
        let layers: [KerasLegacyH5.LayerToWrite] = self.layers.map { layer in
            (layer.name, layer.legacyOrderedVariables.map { v in (names[ObjectIdentifier(v)] ?? v.name, v.value.shape, v.value.scalars) })
        }
        return try KerasLegacyH5.encodeModel(modelConfig: try kerasConfig().text(), kerasVersion: KerasArchive.kerasFormatVersion,
                                             backend: "tensorflow", layers: layers)
    }

    /// Writes a legacy Keras `.h5` model file, atomically.
    public func saveKerasH5(to url: URL) throws {
        try writeAtomically(Data(try kerasH5()), to: url)
    }
}
