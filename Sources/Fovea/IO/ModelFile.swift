import Foundation

/// Fovea's model file: safetensors holding every variable under its name (`conv2d.kernel`), with
/// the architecture as Keras-style JSON in `__metadata__["architecture"]` and a format version.
///
/// Format version 2 adds, all optional:
/// - `compile`: the loss and metrics (`{"loss": {"class_name", "from_logits"}, "metrics": [...]}`);
/// - `optimizer`: its Keras config and step count (`{"class_name", "config", "iterations"}`), with
///   each state tensor stored as `optimizer/<variable>/<slot>` (`optimizer/dense.kernel/velocity`);
/// - `training`: the ``TrainingPosition`` (epoch, step, shuffle state, epoch tallies);
/// - `random_state`: each random layer's generator state (Dropout masks), by layer name;
/// - `checksum`: SHA-256 over every metadata entry, every tensor's header entry and the data, so
///   a flipped bit anywhere is an error rather than a silently different model.
/// Version 1 files (architecture and weights only) still load.
extension Model {
    /// The current format version written; files with a newer version are refused.
    public static let modelFormatVersion = 2

    /// The architecture as model files hold it: Keras 3's config (``kerasConfig()``) with the model's
    /// seed, so a model rebuilt from it initialises its layers as the original did.
    public var architecture: JSONValue {
        get throws { try kerasConfig(foveaSeeds: true) }
    }

    /// Rebuilds a model (freshly initialised) from ``architecture`` JSON (or a Keras config).
    public static func fromArchitecture(_ json: JSONValue) throws -> Model {
        try fromConfig(json, source: "architecture")
    }

    /// Saves architecture and weights to one file, atomically. With `includeOptimizer` (the
    /// default, as in Keras) a compiled model also saves its loss, metrics, optimizer config and
    /// state, where training stands (``trainingPosition``) and its layers' random states, so that
    /// ``load(from:compile:)`` returns a model that continues training exactly where it stopped.
    public func save(to url: URL, includeOptimizer: Bool = true) throws {
        _ = try builtGraph()
        var metadata = ["architecture": try architecture.text()]
        let paths = variablePaths
        var tensors = paths.map { ($0.path, $0.variable.value) }
        if let bad = tensors.first(where: { $0.0.hasPrefix(Self.optimizerPrefix) }) {
            throw FoveaError("cannot save model \(name): variable name '\(bad.0)' starts with '\(Self.optimizerPrefix)', which model files reserve for optimizer state")
        }
        let randomStates = layerPaths.compactMap { path, layer in layer.randomState.map { (path, $0) } }
        if !randomStates.isEmpty {
            metadata["random_state"] = try jsonString(Dictionary(randomStates.map { ($0.0, $0.1.map { String($0, radix: 16) }) },
                                                                 uniquingKeysWith: { a, _ in a }))
        }
        if includeOptimizer, let optimizer, let loss {
            metadata["compile"] = try jsonString(["loss": loss.serialized, "metrics": metrics.map(\.name)])
            var config = optimizer.serializedConfig
            config["iterations"] = optimizer.iterations
            metadata["optimizer"] = try jsonString(config)
            tensors += optimizer.slotTensors(for: paths).map { ("\(Self.optimizerPrefix)\($0.variable)/\($0.slot)", $0.tensor) }
            if let position = trainingPosition { metadata["training"] = try jsonString(position.json) }
        }
        try writeAtomically(try Self.encodeModelFile(tensors, metadata: metadata), to: url)
    }

    /// Loads a model saved by ``save(to:includeOptimizer:)``. With `compile` (the default) and a
    /// file that holds a compile config, the model comes back compiled with its optimizer state and
    /// ``trainingPosition``; otherwise uncompiled.
    public static func load(from url: URL, compile: Bool = true) throws -> Model {
        let file = try readModelFile(url)
        guard let arch = file.metadata["architecture"] else {
            throw FoveaError("\(url.path): holds weights but no architecture; load it into a model with loadWeights(from:)")
        }
        let json: JSONValue
        do { json = try JSONValue(parsing: arch) } catch { throw FoveaError("\(url.path): metadata 'architecture' is not JSON (corrupt?)") }
        let model = try fromConfig(json, source: url.path)
        try WeightSnapshot(tensors: file.weights).restore(into: model, strict: true, source: url.path)
        if let text = file.metadata["random_state"] {
            try model.restoreRandomStates(try jsonObject(text, key: "random_state", file: url.path), file: url.path)
        }
        guard compile else { return model }
        guard let compileText = file.metadata["compile"] else {
            if !file.optimizerSlots.isEmpty || file.metadata["optimizer"] != nil {
                throw FoveaError("\(url.path): holds optimizer state but no compile config (metadata 'compile')")
            }
            return model
        }
        let compileConfig = try jsonObject(compileText, key: "compile", file: url.path)
        guard let optimizerText = file.metadata["optimizer"] else {
            throw FoveaError("\(url.path): holds a compile config but no optimizer (metadata 'optimizer')")
        }
        let optimizerConfig = try jsonObject(optimizerText, key: "optimizer", file: url.path)
        let optimizer: Optimizer
        let loss: Loss
        let metrics: [Metric]
        do {
            optimizer = try Optimizer.fromConfig(optimizerConfig)
            loss = try Loss(serialized: compileConfig["loss"] ?? NSNull())
            metrics = try ((compileConfig["metrics"] as? [String]) ?? []).map { name in
                guard let metric = Metric(rawValue: name) else { throw FoveaError("unknown metric '\(name)'") }
                return metric
            }
        } catch {
            throw FoveaError("\(url.path): \(error)")
        }
        guard let iterations = integerValue(optimizerConfig["iterations"] ?? 0) else {
            throw FoveaError("\(url.path): optimizer 'iterations' must be an integer")
        }
        try optimizer.restoreState(iterations: iterations, slots: file.optimizerSlots, variables: model.variablePaths, file: url.path)
        model.compile(optimizer: optimizer, loss: loss, metrics: metrics)
        if let text = file.metadata["training"] {
            do {
                model.trainingPosition = try TrainingPosition(json: try jsonObject(text, key: "training", file: url.path))
            } catch let error as FoveaError where !error.message.hasPrefix(url.path) {
                throw FoveaError("\(url.path): \(error.message)")
            }
        }
        return model
    }

    /// Saves only the weights (safetensors, no architecture).
    public func saveWeights(to url: URL) throws {
        try WeightSnapshot(of: self).save(to: url)
    }

    /// Loads weights by name. `strict` requires the file and the model to hold exactly the same
    /// names; otherwise names missing on either side are skipped. Shapes must always match.
    /// Optimizer state in the file is ignored.
    public func loadWeights(from url: URL, strict: Bool = true) throws {
        try WeightSnapshot(contentsOf: url).restore(into: self, strict: strict, source: url.path)
    }

    /// The tensor-name prefix of optimizer state.
    static let optimizerPrefix = "optimizer/"

    /// Encodes tensors and metadata as a Fovea model file: adds the format, the version and the
    /// checksum over everything. ``save(to:includeOptimizer:)`` writes through this; it is public
    /// for tools that assemble model files themselves.
    public static func encodeModelFile(_ tensors: [(name: String, tensor: Tensor)], metadata extra: [String: String]) throws -> Data {
        var metadata = extra
        metadata["format"] = "fovea"
        metadata["format_version"] = String(modelFormatVersion)
        let entries = try SafeTensors.layout(tensors)
        let section = SafeTensors.dataSection(tensors)
        metadata["checksum"] = modelChecksum(metadata: metadata, entries: entries, data: section, in: 0..<section.count)
        return try SafeTensors.encode(entries, section: section, metadata: metadata)
    }

    /// `sha256:` and the hex digest of every metadata entry but the checksum, every tensor's header
    /// entry (sorted by name) and the SHA-256 of the data section. Lengths prefix the strings so no
    /// two different headers read the same.
    static func modelChecksum(metadata: [String: String], entries: [SafeTensors.Entry], data: Data, in range: Range<Int>) -> String {
        var text = "fovea-checksum-1\n"
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) where key != "checksum" {
            text += "\(key.utf8.count):\(key)=\(value.utf8.count):\(value)\n"
        }
        for e in entries.sorted(by: { $0.name < $1.name }) {
            text += "\(e.name.utf8.count):\(e.name) F32 \(e.shape) \(e.start) \(e.end)\n"
        }
        text += "data " + data.withUnsafeBytes { SHA256.hexDigest(UnsafeRawBufferPointer(rebasing: $0[range])) }
        return "sha256:" + SHA256.hexDigest(Array(text.utf8))
    }

    /// A decoded model file, its tensors split into weights and optimizer state.
    struct ModelFileContents {
        var metadata: [String: String]
        var weights: [(name: String, tensor: Tensor)]
        var optimizerSlots: [OptimizerSlot]
    }

    /// Reads and checks a model file (or any float32 safetensors file): the version is known, the
    /// checksum (which Fovea files of version 2 on carry) matches, optimizer tensors are named
    /// `optimizer/<variable>/<slot>`.
    static func readModelFile(_ url: URL) throws -> ModelFileContents {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw FoveaError("cannot read model file \(url.path): \(error.localizedDescription)")
        }
        let decoded = try SafeTensors.decodeWithLayout(data, file: url.path)
        let metadata = decoded.metadata
        var version = 1
        if let v = metadata["format_version"] {
            guard let parsed = Int(v), parsed >= 1 else { throw FoveaError("\(url.path): format version '\(v)' is not a positive integer (corrupt?)") }
            guard parsed <= modelFormatVersion else {
                throw FoveaError("\(url.path): format version \(parsed) is newer than this Fovea reads (\(modelFormatVersion)); upgrade Fovea")
            }
            version = parsed
        }
        if let recorded = metadata["checksum"] {
            let actual = modelChecksum(metadata: metadata, entries: decoded.entries, data: data, in: decoded.body)
            guard recorded == actual else {
                throw FoveaError("\(url.path): checksum mismatch: the file is corrupt (its contents differ from what was written)")
            }
        } else if version >= 2 && metadata["format"] == "fovea" {
            throw FoveaError("\(url.path): format version \(version) file without its checksum (corrupt?)")
        }
        // The checksum only catches accidental corruption: a file of format version 1 (or none) has
        // none, and anyone can write a hostile file with a valid one. So it is not what keeps a
        // hostile architecture out: every model, whatever its file says, is built through
        // Model.fromConfig, whose layers are held to ArchitectureLimits (configuration values, shapes
        // and parameter counts checked before anything is multiplied or allocated).
        var contents = ModelFileContents(metadata: metadata, weights: [], optimizerSlots: [])
        for (name, tensor) in decoded.tensors {
            guard version >= 2, name.hasPrefix(optimizerPrefix) else { contents.weights.append((name, tensor)); continue }
            let rest = name.dropFirst(optimizerPrefix.count)
            guard let slash = rest.lastIndex(of: "/"), slash != rest.startIndex, rest.index(after: slash) != rest.endIndex else {
                throw FoveaError("\(url.path): optimizer tensor '\(name)' is not named optimizer/<variable>/<slot>")
            }
            contents.optimizerSlots.append(OptimizerSlot(variable: String(rest[..<slash]), slot: String(rest[rest.index(after: slash)...]), tensor: tensor))
        }
        return contents
    }

    /// Every layer with its path in the model (a nested model's layers under its name: `inner/dropout`).
    var layerPaths: [(path: String, layer: Layer)] {
        layers.flatMap { layer -> [(String, Layer)] in
            if let inner = layer as? Model { return inner.layerPaths.map { ("\(inner.name)/\($0.path)", $0.layer) } }
            return [(layer.name, layer)]
        }
    }

    /// Puts saved generator states back into the layers that draw random numbers.
    func restoreRandomStates(_ states: [String: Any], file: String) throws {
        let byPath = Dictionary(layerPaths.map { ($0.path, $0.layer) }, uniquingKeysWith: { a, _ in a })
        for (layerName, value) in states {
            guard let layer = byPath[layerName] else {
                throw FoveaError("\(file): random_state names layer '\(layerName)', which the model does not have")
            }
            let words = (value as? [String])?.compactMap { UInt64($0, radix: 16) }
            guard let words, words.count == (value as? [String])?.count, SeededGenerator(state: words) != nil else {
                throw FoveaError("\(file): random_state of layer '\(layerName)' is not four hexadecimal words, not all zero")
            }
            layer.randomState = words
        }
    }
}

extension WeightSnapshot {
    /// Reads the weights of a model file or of any float32 safetensors file (optimizer state skipped).
    public init(contentsOf url: URL) throws {
        self.init(tensors: try Model.readModelFile(url).weights)
    }

    /// Writes the weights alone (safetensors with Fovea's version and checksum), atomically.
    public func save(to url: URL) throws {
        try writeAtomically(try Model.encodeModelFile(tensors, metadata: [:]), to: url)
    }
}

extension Loss {
    /// Keras-style serialized loss: `{"class_name": "sparse_categorical_crossentropy", "from_logits": false}`.
    public var serialized: [String: Any] {
        switch self {
        case .categoricalCrossentropy(let logits), .sparseCategoricalCrossentropy(let logits), .binaryCrossentropy(let logits):
            return ["class_name": kerasName, "from_logits": logits]
        case .meanSquaredError:
            return ["class_name": kerasName]
        }
    }

    /// Reads ``serialized`` (or a bare loss name).
    public init(serialized json: Any) throws {
        if let name = json as? String { try self.init(named: name); return }
        guard let dict = json as? [String: Any], let name = dict["class_name"] as? String else {
            throw FoveaError("loss must be a name or {\"class_name\": …}, got \(json)")
        }
        let logits = dict["from_logits"] as? Bool ?? false
        switch try Loss(named: name) {
        case .categoricalCrossentropy: self = .categoricalCrossentropy(fromLogits: logits)
        case .sparseCategoricalCrossentropy: self = .sparseCategoricalCrossentropy(fromLogits: logits)
        case .binaryCrossentropy: self = .binaryCrossentropy(fromLogits: logits)
        case .meanSquaredError: self = .meanSquaredError
        }
    }
}

/// Compact JSON text with sorted keys.
func jsonString(_ object: Any) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
}

/// A metadata entry's JSON object, or an error naming the file and the entry.
func jsonObject(_ text: String, key: String, file: String) throws -> [String: Any] {
    guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
        throw FoveaError("\(file): metadata '\(key)' is not a JSON object (corrupt?)")
    }
    return object
}
