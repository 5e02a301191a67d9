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
/// `layerNames(in:group:)` and `weights(in:group:)` read any such file without a model.
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

    /// Checks every stored layer's arrays against the model's layers with variables, paired in
    /// order, then sets them all: on any mismatch the model is left unchanged.
    static func assign(_ stored: [LayerWeights], from h5: HDF5Reader, to model: Sequential) throws {
        let targets = model.layers.filter { !$0.variables.isEmpty }
        guard stored.count == targets.count else {
            throw FoveaError("\(h5.file): holds weights for \(stored.count) layers (\(stored.map(\.name).joined(separator: ", "))) but model '\(model.name)' has \(targets.count) layers with weights (\(targets.map(\.name).joined(separator: ", "))); Keras pairs them in order")
        }
        var updates: [(Variable, Tensor)] = []
        for (layer, source) in zip(targets, stored) {
            let vars = layer.variables
            guard vars.count == source.weights.count else {
                throw FoveaError("\(h5.file): layer '\(source.name)' holds \(source.weights.count) weights (\(source.weights.map(\.name).joined(separator: ", "))) but layer '\(layer.name)' (\(layer.typeName)) has \(vars.count) variables")
            }
            for (v, weight) in zip(vars, source.weights) {
                let array = try h5.readDataset(at: weight.header, path: "\(source.name)/\(weight.name)")
                guard array.shape == v.value.shape else {
                    throw FoveaError("\(h5.file): weight '\(weight.name)' of layer '\(source.name)' has shape \(formatShape(array.shape)) but \(v.name) of layer '\(layer.name)' expects \(formatShape(v.value.shape))")
                }
                updates.append((v, array.tensor))
            }
        }
        for (v, t) in updates { v.value = t }
    }
}

extension Sequential {
    /// Reads a legacy Keras `.h5` model file (architecture and weights) from its bytes.
    static func loadKerasH5(bytes: [UInt8], file: String) throws -> Sequential {
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
        guard let config = (try? JSONSerialization.jsonObject(with: Data(configText.utf8))) as? [String: Any] else {
            throw FoveaError("\(file): model_config is not a JSON object (corrupt?)")
        }
        let (model, _) = try fromKerasConfig(config, file: file, source: "model_config")
        guard try h5.objectHeader(at: "model_weights") != nil else { throw FoveaError("\(file): has a model_config but no model_weights group (corrupt?)") }
        try KerasLegacyH5.assign(try KerasLegacyH5.layers(in: h5, group: "model_weights"), from: h5, to: model)
        return model
    }

    /// Loads Keras weights into this model: a legacy `.h5` weights file (`save_weights("w.h5")` in
    /// Keras 2) or the weights of a legacy `.h5` model file, paired with this model's layers that
    /// have variables in order, as Keras's `load_weights` does; or a Keras 3 `.weights.h5`, whose
    /// paths (`layers/conv2d/vars/0`) follow this model's layer types. The architecture must match:
    /// a difference in layer count, variable count or shape is an error and changes nothing.
    public func loadKerasWeights(from url: URL) throws {
        let bytes = try NumPy.readBytes(url)
        let h5 = try HDF5Reader(bytes: bytes, file: url.path)
        guard let root = try h5.objectHeader(at: "") else { throw FoveaError("\(url.path): has no root group (corrupt?)") }
        let attributes = try h5.attributes(ofObjectAt: root)
        if attributes["layer_names"] != nil || attributes["layer_names0"] != nil {
            try KerasLegacyH5.assign(try KerasLegacyH5.layers(in: h5, group: ""), from: h5, to: self)
        } else if try h5.objectHeader(at: "model_weights") != nil {
            try KerasLegacyH5.assign(try KerasLegacyH5.layers(in: h5, group: "model_weights"), from: h5, to: self)
        } else {
            try KerasWeightStore(h5: h5, file: url.path).assign(to: self, paths: kerasVariablePaths())
        }
    }
}

