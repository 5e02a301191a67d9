import Foundation

/// A network as a graph of layer calls (Keras's functional `Model`): from symbolic inputs to
/// symbolic outputs, any directed acyclic graph of layers — residual `Add`s, `Concatenate`d branches,
/// layers called more than once (sharing weights), models used as layers.
///
/// ```swift
/// let inputs = Input(shape: [28, 28, 1])
/// let x = try Conv2D(filters: 32, kernelSize: 3, activation: .relu)(inputs)
/// let y = try Add()([x, try Conv2D(filters: 32, kernelSize: 3, padding: .same)(x)])
/// let model = try Model(inputs: inputs, outputs: try Dense(10, activation: .softmax)(try Flatten()(y)))
/// ```
///
/// Layers called on symbolic tensors are built when the model is made, with weights seeded from the
/// model's seed and their position, and unnamed ones are numbered as Keras numbers them in a fresh
/// session (`conv2d`, `conv2d_1`, …). ``Sequential`` is a model whose graph is a chain.
open class Model: Layer {
    /// The graph's inputs and outputs (empty for a `Sequential` that does not know its input shape yet).
    public internal(set) var inputs: [SymbolicTensor] = []
    public internal(set) var outputs: [SymbolicTensor] = []
    /// The model's layers in Keras's order (inputs first, then by depth): what `summary()` lists and
    /// what files number weights by. A functional model lists its `Input` layers; a `Sequential` does not.
    public var layers: [Layer] { graph?.layers ?? [] }
    /// Seed for the weights of layers that do not have one, and for `fit`'s shuffling.
    public let modelSeed: UInt64
    /// What `compile` set up (optimizer, loss, metrics); owned by the training layer.
    public var compiledState: AnyObject?
    /// Set by a callback to end `fit` after the current epoch (Keras `stop_training`).
    public var stopTraining = false
    /// The processes this model trains with (data parallelism, see Training/DataParallel.swift): with
    /// more than one rank, `fit` and `evaluate` split every batch and the data across them. Nil: alone.
    public var communicator: Communicator?
    /// The gradient buffers and buckets of data-parallel steps.
    var dataParallelState: AnyObject?

    /// The graph's nodes, layers and execution plans; nil until the model has inputs.
    var graph: Graph?

    /// A functional model from `inputs` to `outputs`.
    public init(inputs: [any SymbolicTensorConvertible], outputs: [any SymbolicTensorConvertible], name: String? = nil,
                seed: UInt64? = nil) throws {
        self.modelSeed = seed ?? Seeds.default
        super.init(name: name)
        try setGraph(inputs: inputs.map(\.symbolic), outputs: outputs.map(\.symbolic))
    }

    /// A functional model with one input and one output.
    public convenience init(inputs: some SymbolicTensorConvertible, outputs: some SymbolicTensorConvertible, name: String? = nil,
                            seed: UInt64? = nil) throws {
        try self.init(inputs: [inputs], outputs: [outputs], name: name, seed: seed)
    }

    /// A functional model with one input and several outputs.
    public convenience init(inputs: some SymbolicTensorConvertible, outputs: [any SymbolicTensorConvertible], name: String? = nil,
                            seed: UInt64? = nil) throws {
        try self.init(inputs: [inputs], outputs: outputs, name: name, seed: seed)
    }

    /// A functional model with several inputs and one output.
    public convenience init(inputs: [any SymbolicTensorConvertible], outputs: some SymbolicTensorConvertible, name: String? = nil,
                            seed: UInt64? = nil) throws {
        try self.init(inputs: inputs, outputs: [outputs], name: name, seed: seed)
    }

    /// A model whose graph is set later (`Sequential`).
    init(name: String?, seed: UInt64?) {
        self.modelSeed = seed ?? Seeds.default
        super.init(name: name)
    }

    open override class var defaultName: String { "functional" }

    /// Makes `inputs` → `outputs` this model's graph: checks it, names, seeds and builds its layers.
    func setGraph(inputs: [SymbolicTensor], outputs: [SymbolicTensor]) throws {
        guard !inputs.isEmpty, !outputs.isEmpty else { throw FoveaError("model \(name) needs at least one input and one output") }
        let graph = try Graph(inputs: inputs, outputs: outputs, model: name, listsInputLayers: !(self is Sequential))
        try nameAndBuild(graph)
        self.inputs = inputs
        self.outputs = outputs
        self.graph = graph
    }

    /// Numbers the unnamed layers (in creation order, each base name from its first free number), gives
    /// unseeded layers seeds derived from the model's, then builds every layer for its call's shapes.
    func nameAndBuild(_ graph: Graph) throws {
        var used = Set(graph.allLayers.filter { $0.hasExplicitName || $0.nameAssigned }.map(\.name))
        for layer in graph.allLayers.sorted(by: { $0.creationIndex < $1.creationIndex }) where !layer.hasExplicitName && !layer.nameAssigned {
            let base = type(of: layer).defaultName
            var n = 0
            while used.contains(n == 0 ? base : "\(base)_\(n)") { n += 1 }
            layer.name = n == 0 ? base : "\(base)_\(n)"
            layer.nameAssigned = true
            used.insert(layer.name)
        }
        try graph.checkUniqueNames(model: name)
        for (i, layer) in graph.allLayers.enumerated() where layer.seed == nil && !layer.isBuilt {
            layer.seed = SeededGenerator.derive(modelSeed, UInt64(i + 1))
        }
        for node in graph.nodes where !node.isInput {
            do { try node.layer.buildIfNeeded(inputShapes: node.inputs.map(\.shape)) } catch let error as FoveaError {
                throw FoveaError("model \(name): \(error.message)")
            }
        }
    }

    // MARK: Shapes

    /// The input shape of a one-input model (batch axis `nil`), once known.
    public var inputShape: [Int?]? { inputs.count == 1 ? inputs[0].shape : nil }
    /// The output shape of a one-output model (batch axis `nil`), once known.
    public var outputShape: [Int?]? { outputs.count == 1 ? outputs[0].shape : nil }

    // MARK: A model is a layer

    open override var sublayers: [Layer] { layers }
    open override var inputCountRange: ClosedRange<Int> { graph.map { $0.inputs.count...$0.inputs.count } ?? 1...Int.max }

    /// Freezing a model freezes every layer in it (and unfreezing unfreezes them all), as in Keras.
    open override var trainable: Bool {
        didSet { for layer in layers { layer.trainable = trainable } }
    }

    open override func outputShapes(for inputShapes: [[Int?]]) throws -> [[Int?]] {
        let graph = try builtGraph()
        for (given, expected) in zip(inputShapes, graph.inputs.map(\.shape)) {
            guard given.count == expected.count, zip(given.dropFirst(), expected.dropFirst()).allSatisfy({ $0 == nil || $1 == nil || $0 == $1 }) else {
                throw FoveaError("model \(name): input shape \(formatShape(given)) does not match the model's input \(formatShape(expected))")
            }
        }
        let batch = inputShapes.first?.first ?? nil
        return graph.outputs.map { output in
            var shape = output.shape
            if !shape.isEmpty { shape[0] = batch }
            return shape
        }
    }

    open override func build(inputShapes: [[Int?]]) throws { _ = try builtGraph() }

    // MARK: Training steps

    /// One training step on a batch (Keras `train_step`), which `fit` calls for every batch: forward,
    /// loss with regularisation, gradients, the optimizer's update, constraints, then the layers' own
    /// state updates (batch-norm moving statistics). Override it for a custom training step.
    open func trainStep(_ x: Tensor, _ y: Tensor) throws -> StepResult { try defaultTrainStep(x, y) }

    /// One evaluation step (Keras `test_step`), which `evaluate` and `fit`'s validation call for every
    /// batch: loss and metric counts in inference mode, without gradients or state updates.
    open func testStep(_ x: Tensor, _ y: Tensor) throws -> StepResult { try defaultTestStep(x, y) }

    open override func forward(_ inputs: [Tensor], training: Bool) throws -> [Tensor] {
        try run(inputs, training: training)
    }

    open override func forward(_ input: Tensor, training: Bool) throws -> Tensor {
        let outputs = try run([input], training: training)
        guard outputs.count == 1 else { throw FoveaError("model \(name) has \(outputs.count) outputs; use call(_:training:) for all of them") }
        return outputs[0]
    }

    func builtGraph() throws -> Graph {
        guard let graph else { throw FoveaError("model \(name) is not built yet; start it with Input(shape:) or call it on data") }
        return graph
    }

    /// Runs the model on data (one input, one output).
    public override func callAsFunction(_ input: Tensor, training: Bool = false) throws -> Tensor {
        try prepare(for: input)
        let graph = try builtGraph()
        guard graph.inputs.count == 1, graph.outputs.count == 1 else {
            throw FoveaError("model \(name) has \(graph.inputs.count) inputs and \(graph.outputs.count) outputs; use call(_:training:)")
        }
        try checkInput(input, graph.inputs[0])
        return try graph.plan(inference: !training && !GradientRecording.isEnabled).run(input, training: training)
    }

    /// Checks that data fits a model input (samples first).
    func checkInput(_ x: Tensor, _ input: SymbolicTensor) throws {
        let expected = input.shape
        guard x.rank == expected.count else { throw inputError(x, expected) }
        for axis in 1..<Swift.max(1, x.rank) where expected[axis] != nil && expected[axis] != x.shape[axis] { throw inputError(x, expected) }
    }

    private func inputError(_ x: Tensor, _ expected: [Int?]) -> FoveaError {
        FoveaError("model \(name): input of shape \(formatShape(x.optionalShape)) does not match \(formatShape(expected)) (samples first)")
    }

    /// Called before the model runs on data whose first input is `x`: a `Sequential` builds itself
    /// from the first data it sees.
    func prepare(for x: Tensor) throws {}

    /// Runs the graph on data. `logits`: the output node whose softmax the loss fuses; that node
    /// returns its logits instead.
    func run(_ inputs: [Tensor], training: Bool, logits: Node? = nil) throws -> [Tensor] {
        let graph = try builtGraph()
        guard inputs.count == graph.inputs.count else {
            throw FoveaError("model \(name) takes \(graph.inputs.count) input\(graph.inputs.count == 1 ? "" : "s"), got \(inputs.count)")
        }
        for (x, input) in zip(inputs, graph.inputs) { try checkInput(x, input) }
        let plan = graph.plan(inference: !training && !GradientRecording.isEnabled)
        return try plan.run(inputs, training: training, logits: logits)
    }

    /// How the model runs: each step's layer calls, in order, as the fusion pass grouped them (a
    /// group of several runs as one operation), for inference without gradients or for training.
    public func executionSteps(inference: Bool = true) throws -> [[String]] {
        try builtGraph().plan(inference: inference).layerGroups
    }

    // MARK: Layers and weights

    /// The layer named `name`.
    public func layer(named name: String) throws -> Layer {
        guard let layer = layers.first(where: { $0.name == name }) else {
            throw FoveaError("model \(self.name) has no layer named '\(name)'; it has \(layers.map(\.name).joined(separator: ", "))")
        }
        return layer
    }

    /// Every variable with its path in the model: `conv2d.kernel`, and for a nested model's layers
    /// the model's name first (`resnet50/conv1_conv.kernel`). Model files key weights by these paths.
    public var variablePaths: [(path: String, variable: Variable)] {
        var seen = Set<ObjectIdentifier>()
        var result: [(String, Variable)] = []
        func visit(_ model: Model, prefix: String) {
            for layer in model.layers {
                if let inner = layer as? Model {
                    visit(inner, prefix: prefix + inner.name + "/")
                    continue
                }
                for (short, v) in layer.namedVariables where seen.insert(ObjectIdentifier(v)).inserted {
                    result.append(("\(prefix)\(layer.name).\(short)", v))
                }
            }
        }
        visit(self, prefix: "")
        return result
    }

    /// A copy of every variable's value, in ``Layer/variables`` order (Keras `get_weights`).
    public func weightValues() -> [Tensor] { variables.map(\.value) }

    /// Restores values taken by ``weightValues()`` (Keras `set_weights`).
    public func setWeightValues(_ values: [Tensor]) throws {
        let vars = variables
        guard values.count == vars.count else {
            throw FoveaError("model \(name) has \(vars.count) variables; got \(values.count) values")
        }
        for (v, t) in zip(vars, values) {
            guard v.value.shape == t.shape else {
                throw FoveaError("\(v.name): expected shape \(formatShape(v.value.shape)), got \(formatShape(t.shape))")
            }
        }
        for (v, t) in zip(vars, values) { v.value = t.detached }
    }
}

extension Layer {
    /// Whether the layer's name is fixed: given explicitly, or numbered by a model.
    var nameAssigned: Bool {
        get { hasExplicitName || autoNamed }
        set { autoNamed = newValue }
    }
}
