import Foundation

/// Fovea's model file: safetensors holding every variable under its name (`conv2d.kernel`), with
/// the architecture as Keras-style JSON in `__metadata__["architecture"]` and a format version.
extension Sequential {
    /// The current format version written; files with a newer version are refused.
    public static let modelFormatVersion = 1

    /// The architecture as Keras-style JSON: `{"class_name": "Sequential", "config": {"name", "layers"}}`.
    public var architecture: [String: Any] {
        var entries: [[String: Any]] = []
        if let shape = inputShape, !(layers.first is Input) {
            entries.append(["class_name": "InputLayer", "config": ["name": "input_layer", "batch_shape": shape.map { $0.map { $0 as Any } ?? NSNull() }]])
        }
        entries += layers.map(\.serialized)
        return ["class_name": "Sequential", "config": ["name": name, "seed": seed, "layers": entries]]
    }

    /// Rebuilds a model (freshly initialised) from ``architecture`` JSON.
    public static func fromArchitecture(_ json: [String: Any]) throws -> Sequential {
        guard json["class_name"] as? String == "Sequential", let config = json["config"] as? [String: Any],
              let entries = config["layers"] as? [[String: Any]] else {
            throw FoveaError("architecture is not a Sequential model config (class_name Sequential with config.layers)")
        }
        let layers = try entries.map(Layer.deserialize)
        return try Sequential(layers, name: config["name"] as? String ?? "sequential",
                              seed: (config["seed"] as? NSNumber)?.uint64Value)
    }

    /// Saves architecture and weights to one file, atomically.
    public func save(to url: URL) throws {
        guard inputShape != nil else { throw FoveaError("model \(name) is not built yet; call it on data or start it with Input(shape:) before saving") }
        let arch = String(decoding: try JSONSerialization.data(withJSONObject: architecture, options: [.sortedKeys]), as: UTF8.self)
        let data = try SafeTensors.encode(variables.map { ($0.name, $0.value) },
                                          metadata: ["format": "fovea", "format_version": String(Self.modelFormatVersion),
                                                     "architecture": arch])
        try writeAtomically(data, to: url)
    }

    /// Loads a model saved by ``save(to:)``.
    public static func load(from url: URL) throws -> Sequential {
        let (metadata, tensors) = try readModelFile(url)
        guard let arch = metadata["architecture"],
              let json = try? JSONSerialization.jsonObject(with: Data(arch.utf8)) as? [String: Any] else {
            throw FoveaError("\(url.path): holds weights but no architecture; load it into a model with loadWeights(from:)")
        }
        let model = try fromArchitecture(json)
        try model.assign(tensors, from: url.path, strict: true)
        return model
    }

    /// Saves only the weights (safetensors, no architecture).
    public func saveWeights(to url: URL) throws {
        try writeAtomically(try SafeTensors.encode(variables.map { ($0.name, $0.value) },
                                                   metadata: ["format": "fovea", "format_version": String(Self.modelFormatVersion)]), to: url)
    }

    /// Loads weights by name. `strict` requires the file and the model to hold exactly the same
    /// names; otherwise names missing on either side are skipped. Shapes must always match.
    public func loadWeights(from url: URL, strict: Bool = true) throws {
        try assign(try Self.readModelFile(url).tensors, from: url.path, strict: strict)
    }

    static func readModelFile(_ url: URL) throws -> (metadata: [String: String], tensors: [(name: String, tensor: Tensor)]) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw FoveaError("cannot read model file \(url.path): \(error.localizedDescription)")
        }
        let decoded = try SafeTensors.decode(data, file: url.path)
        if let v = decoded.metadata["format_version"], let version = Int(v), version > modelFormatVersion {
            throw FoveaError("\(url.path): format version \(version) is newer than this Fovea reads (\(modelFormatVersion)); upgrade Fovea")
        }
        return decoded
    }

    func assign(_ tensors: [(name: String, tensor: Tensor)], from file: String, strict: Bool) throws {
        let byName = Dictionary(tensors.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        let vars = variables
        if strict {
            let missing = vars.map(\.name).filter { byName[$0] == nil }
            let extra = Set(byName.keys).subtracting(vars.map(\.name)).sorted()
            if !missing.isEmpty || !extra.isEmpty {
                throw FoveaError("\(file): weights do not match model \(name): missing \(missing), unexpected \(extra); use strict: false to load the names both share")
            }
        }
        for v in vars {
            guard let t = byName[v.name] else { continue }
            guard t.shape == v.value.shape else {
                throw FoveaError("\(file): tensor '\(v.name)' has shape \(formatShape(t.shape)) but the model expects \(formatShape(v.value.shape))")
            }
        }
        for v in vars { if let t = byName[v.name] { v.value = t } }
    }
}
