import Foundation

/// A model's architecture as Keras 3's `config.json` object: the one writer and the one reader of
/// architectures, used by Fovea's native model files, `.keras` archives and legacy `.h5` files alike.
///
/// Writing follows Keras 3.15's `serialize_keras_object(model)`: a `Sequential` lists its layers
/// (`Input` first); a functional model lists every layer with its calls (`inbound_nodes`, each
/// input a `__keras_tensor__` whose `keras_history` is `[layer, node, tensor]`, node numbered among
/// this model's calls of that layer) and its `input_layers`/`output_layers`. Reading also takes
/// Keras 2's spellings (`batch_input_shape`, `[[layer, node, tensor, kwargs]]` nodes, a bare list of
/// layers for a Sequential).
extension Model {
    /// This model's architecture as Keras 3 writes it.
    public func kerasConfig() throws -> JSONValue { try kerasConfig(foveaSeeds: false) }

    /// The architecture, with (`foveaSeeds`, for Fovea's own files) each model's seed and the layers'
    /// 64-bit seeds, or (for Keras) without Fovea's seeds: Keras's are 32-bit.
    func kerasConfig(foveaSeeds: Bool) throws -> JSONValue {
        try ModelConfigWriter(foveaSeeds: foveaSeeds).entry(self)
    }

    /// Rebuilds a model, freshly initialised, from a Keras (or Fovea) architecture object.
    /// `source` names the file in errors.
    public static func fromConfig(_ json: JSONValue, source: String = "config") throws -> Model {
        // One parameter budget for the whole model, nested models included (ArchitectureLimits).
        do { return try ArchitectureLimits.withBudget { try ModelConfigReader().model(json) } } catch let error as FoveaError {
            throw FoveaError("\(source): \(error.message)")
        }
    }
}

private struct ModelConfigWriter {
    let foveaSeeds: Bool

    func entry(_ model: Model) throws -> JSONValue {
        guard case .object(var entry) = try plainEntry(model), case .object(var config) = entry["config"] else {
            preconditionFailure("a model entry is an object with a config object")
        }
        if foveaSeeds { config["seed"] = .unsigned(model.modelSeed) }
        entry["config"] = .object(config)
        return .object(entry)
    }

    private func plainEntry(_ model: Model) throws -> JSONValue {
        let graph = try model.builtGraph()
        if let sequential = model as? Sequential {
            guard let input = sequential.inputLayer else { throw FoveaError("model \(model.name) has no input shape") }
            let layers = try [layerEntry(input, in: graph)] + sequential.layers.map { try layerEntry($0, in: graph) }
            return [
                "module": "keras", "class_name": "Sequential", "registered_name": nil,
                "config": ["name": .string(model.name), "trainable": .bool(model.trainable), "dtype": LayerRegistry.float32Policy,
                           "layers": .array(layers), "build_input_shape": JSONValue(shape: graph.inputs[0].shape)],
                "build_config": ["input_shape": JSONValue(shape: graph.inputs[0].shape)],
            ]
        }
        var layers: [JSONValue] = []
        for layer in graph.allLayers {
            guard case .object(var entry) = try layerEntry(layer, in: graph) else { continue }
            entry["name"] = .string(layer.name)
            entry["inbound_nodes"] = .array(try graph.nodes(of: layer).filter { !$0.isInput }.map { try nodeEntry($0, graph) })
            layers.append(.object(entry))
        }
        func endpoints(_ tensors: [SymbolicTensor]) -> JSONValue {
            let refs = tensors.map { t -> JSONValue in
                // Keras counts a nested functional model's calls from 1 here (its node 0 links its own
                // inputs to outputs) and subtracts 1 when reading.
                let offset = t.layer is Model && !(t.layer is Sequential) ? 1 : 0
                return [.string(t.layer.name), .int(graph.localIndex(of: t.node) + offset), .int(t.index)]
            }
            return refs.count == 1 ? refs[0] : .array(refs)
        }
        return [
            "module": "keras.src.models.functional", "class_name": "Functional", "registered_name": "Functional",
            "config": ["name": .string(model.name), "trainable": .bool(model.trainable), "layers": .array(layers),
                       "input_layers": endpoints(graph.inputs), "output_layers": endpoints(graph.outputs)],
            "build_config": ["input_shape": nil],
        ]
    }

    func layerEntry(_ layer: Layer, in graph: Graph) throws -> JSONValue {
        if let model = layer as? Model { return try entry(model) }
        var config = try LayerRegistry.configuration(of: layer)
        if !foveaSeeds, case .object(var entries) = config, let seed = entries["seed"]?.uint64Value, seed > UInt64(Int32.max) {
            // Fovea derives 64-bit seeds per layer; they only matter to Fovea's own dropout masks.
            entries["seed"] = .null
            config = .object(entries)
        }
        var entry: [String: JSONValue] = [
            "module": "keras.layers", "class_name": .string(layer.typeName), "registered_name": nil, "config": config,
        ]
        if LayerRegistry.builtIn.allSatisfy({ $0 != type(of: layer) }) {
            entry["module"] = "fovea.custom"
            entry["registered_name"] = .string(layer.typeName)
        }
        if let shapes = layer.builtInputShapes, !(layer is Input) {
            entry["build_config"] = ["input_shape": shapes.count == 1 ? JSONValue(shape: shapes[0]) : .array(shapes.map(JSONValue.init(shape:)))]
        }
        return .object(entry)
    }

    func nodeEntry(_ node: Node, _ graph: Graph) throws -> JSONValue {
        let tensors: [JSONValue] = node.inputs.map { t in
            ["class_name": "__keras_tensor__",
             "config": ["shape": JSONValue(shape: t.shape), "dtype": "float32",
                        "keras_history": [.string(t.layer.name), .int(graph.localIndex(of: t.node)), .int(t.index)]]]
        }
        var kwargs: [String: JSONValue] = [:]
        if let training = node.training { kwargs["training"] = .bool(training) }
        let args: JSONValue = node.layer.inputCountRange.upperBound > 1 && !(node.layer is Model) ? [.array(tensors)] : .array(tensors)
        return ["args": args, "kwargs": .object(kwargs)]
    }
}

extension Graph {
    /// The number of `node` among this graph's calls of its layer (Keras's node index in a saved config).
    func localIndex(of node: Node) -> Int {
        nodes(of: node.layer).filter { !$0.isInput }.sorted { $0.indexInLayer < $1.indexInLayer }.firstIndex { $0 === node } ?? 0
    }
}

private struct ModelConfigReader {
    func model(_ json: JSONValue) throws -> Model {
        guard let className = json["class_name"]?.stringValue else {
            throw FoveaError("the architecture has no class_name")
        }
        // Keras 2.0–2.2 wrote a Sequential's config as the bare list of its layers.
        let config: [String: JSONValue]
        if let list = json["config"]?.arrayValue { config = ["layers": .array(list)] } else if let object = json["config"]?.objectValue {
            config = object
        } else { throw FoveaError("the \(className) architecture has no config object") }
        let seed = config["seed"]?.uint64Value
        let model: Model
        switch className {
        case "Sequential": model = try sequential(config, seed: seed)
        case "Functional", "Model": model = try functional(config, seed: seed)
        default: throw FoveaError("the architecture is a \(className); Fovea reads Sequential and functional (Functional, Model) models")
        }
        if let trainable = config["trainable"]?.boolValue, !trainable { model.trainable = false }
        return model
    }

    /// A layer entry: a nested model or a registered layer.
    func layer(_ entry: JSONValue) throws -> Layer {
        guard let className = entry["class_name"]?.stringValue else { throw FoveaError("a layer entry has no class_name") }
        if ["Sequential", "Functional", "Model"].contains(className) { return try model(entry) }
        let config = entry["config"] ?? [:]
        do { return try LayerRegistry.layer(className: className, config: config) } catch let error as FoveaError {
            let name = config["name"]?.stringValue ?? entry["name"]?.stringValue ?? "?"
            throw FoveaError(error.message.contains("'\(name)'") ? error.message : "layer '\(name)' (\(className)): \(error.message)")
        }
    }

    func sequential(_ config: [String: JSONValue], seed: UInt64?) throws -> Sequential {
        guard let entries = config["layers"]?.arrayValue else { throw FoveaError("the Sequential config has no layers list") }
        let layers = try entries.map(layer)
        let model = try Sequential(layers, name: config["name"]?.stringValue, seed: seed)
        if model.inputLayer == nil {
            // A Sequential built by calling it on data records its input shape; Keras 2 put it on the
            // first layer when the model was declared with input_shape=.
            let shape = config["build_input_shape"]?.shapeValue ?? (entries.first?["config"]?["batch_input_shape"])?.shapeValue
                ?? entries.first?["build_config"]?["input_shape"]?.shapeValue
            guard let shape, shape.count >= 1, shape.dropFirst().allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw FoveaError("model '\(model.name)' has no InputLayer and no known input shape (it was never built in Keras)")
            }
            try model.build(inputShape: shape.dropFirst().map { $0! })
        }
        return model
    }

    func functional(_ config: [String: JSONValue], seed: UInt64?) throws -> Model {
        guard let entries = config["layers"]?.arrayValue else { throw FoveaError("the functional config has no layers list") }
        var created: [String: Layer] = [:]
        var order: [String] = []
        var pending: [String: [JSONValue]] = [:]
        for entry in entries {
            guard let name = entry["name"]?.stringValue ?? entry["config"]?["name"]?.stringValue else {
                throw FoveaError("a layer entry of the functional model has no name")
            }
            guard created[name] == nil else { throw FoveaError("two layers are named '\(name)'; layer names must be unique") }
            created[name] = try layer(entry)
            order.append(name)
            pending[name] = entry["inbound_nodes"]?.arrayValue ?? []
        }
        // Each layer's calls in this model, in the order they are made.
        var calls: [String: [Node]] = [:]
        for name in order { if let input = created[name] as? Input { calls[name] = [input.symbolic.node] } }

        func tensor(_ ref: [JSONValue], context: String) throws -> SymbolicTensor? {
            guard ref.count >= 3, let layerName = ref[0].stringValue, let nodeIndex = ref[1].intValue, let tensorIndex = ref[2].intValue else {
                throw FoveaError("\(context): a tensor reference is not [layer, node, tensor]")
            }
            guard created[layerName] != nil else { throw FoveaError("\(context) refers to a missing layer '\(layerName)'") }
            let nodes = calls[layerName] ?? []
            guard nodeIndex >= 0 else { throw FoveaError("\(context): node index \(nodeIndex) of layer '\(layerName)' is negative") }
            guard nodeIndex < nodes.count else { return nil }
            let node = nodes[nodeIndex]
            guard tensorIndex >= 0, tensorIndex < node.outputShapes.count else {
                throw FoveaError("\(context): layer '\(layerName)' has no output \(tensorIndex)")
            }
            return node.output(tensorIndex)
        }

        /// Makes one call from its node data; false when an input does not exist yet.
        func call(_ name: String, _ data: JSONValue) throws -> Bool {
            let context = "layer '\(name)'"
            var refs: [[JSONValue]] = []
            var kwargs: [String: JSONValue] = [:]
            if let list = data.arrayValue {
                // Keras 2: [[layer, node, tensor, kwargs], ...]
                for item in list {
                    guard let ref = item.arrayValue else { throw FoveaError("\(context): a Keras 2 node entry is not a list") }
                    refs.append(ref)
                    if ref.count > 3, let k = ref[3].objectValue { kwargs.merge(k) { $1 } }
                }
            } else {
                guard let args = data["args"]?.arrayValue else { throw FoveaError("\(context): a node has no args") }
                kwargs = data["kwargs"]?.objectValue ?? [:]
                func collect(_ value: JSONValue) throws {
                    if let list = value.arrayValue { for v in list { try collect(v) }; return }
                    guard value["class_name"]?.stringValue == "__keras_tensor__", let history = value["config"]?["keras_history"]?.arrayValue else {
                        throw FoveaError("\(context): a call argument is not a tensor (\(try value.text())); Fovea reads layer calls on tensors only")
                    }
                    refs.append(history)
                }
                for arg in args { try collect(arg) }
            }
            var training: Bool?
            for (key, value) in kwargs.sorted(by: { $0.key < $1.key }) {
                switch key {
                case "training": training = value.boolValue
                case "mask" where value.isNull: break
                default:
                    guard value.isNull else { throw FoveaError("\(context): call argument '\(key)' = \(try value.text()) is not one Fovea implements") }
                }
            }
            var inputs: [SymbolicTensor] = []
            for ref in refs {
                guard let t = try tensor(ref, context: context) else { return false }
                inputs.append(t)
            }
            let layer = created[name]!
            let outputs: [SymbolicTensor]
            do { outputs = try layer.call(symbolic: inputs, training: training) } catch let error as FoveaError {
                throw FoveaError(error.message.contains(name) ? error.message : "\(context): \(error.message)")
            }
            calls[name, default: []].append(outputs[0].node)
            return true
        }

        // Calls whose inputs exist are made in list order, again and again, until all are made
        // (a layer shared at different depths waits for its inputs).
        while pending.values.contains(where: { !$0.isEmpty }) {
            var progress = false
            for name in order {
                while let data = pending[name]?.first, try call(name, data) {
                    pending[name]!.removeFirst()
                    progress = true
                }
            }
            if !progress {
                let stuck = order.filter { !(pending[$0]?.isEmpty ?? true) }
                throw FoveaError("the functional model's connections form a cycle or refer to calls that do not exist (layers \(stuck.joined(separator: ", ")) cannot be connected)")
            }
        }

        func endpoints(_ key: String) throws -> [SymbolicTensor] {
            guard let value = config[key]?.arrayValue else { throw FoveaError("the functional config has no \(key)") }
            let refs: [[JSONValue]] = value.first?.stringValue != nil ? [value] : try value.map {
                guard let ref = $0.arrayValue else { throw FoveaError("\(key) holds something that is not [layer, node, tensor]") }
                return ref
            }
            return try refs.map { ref in
                var ref = ref
                // A nested functional model's calls are counted from 1 here (see the writer).
                if ref.count >= 2, let name = ref[0].stringValue, let index = ref[1].intValue,
                   let layer = created[name], layer is Model && !(layer is Sequential) {
                    let count = calls[name]?.count ?? 0
                    ref[1] = .int(index >= 1 ? index - 1 : count - 1)
                }
                guard let t = try tensor(ref, context: key) else { throw FoveaError("\(key) refers to a call of '\(ref.first?.stringValue ?? "?")' that does not exist") }
                return t
            }
        }
        return try Model(inputs: try endpoints("input_layers"), outputs: try endpoints("output_layers"),
                         name: config["name"]?.stringValue, seed: seed)
    }
}
