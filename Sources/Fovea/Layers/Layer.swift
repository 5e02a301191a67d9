import Foundation
import Synchronization

/// Keras's `data_format`: where the channel axis is.
public enum DataFormat: String, Sendable, Codable {
    /// `(batch, ..., channels)` — the default.
    case channelsLast = "channels_last"
    /// `(batch, channels, ...)`.
    case channelsFirst = "channels_first"
}

/// The base of every layer: a named, lazily built function of one or more tensors that owns variables.
///
/// A one-input layer overrides ``build(inputShape:)`` (create weights with
/// ``addWeight(_:shape:initializer:regularizer:constraint:trainable:)``), ``outputShape(for:)`` and
/// ``forward(_:training:)``; a layer of several inputs (`Add`, `Concatenate`) overrides the plural forms
/// ``build(inputShapes:)``, ``outputShapes(for:)`` and ``forward(_:training:)-([Tensor])``. Shapes include
/// the batch axis, `nil` when unknown.
///
/// A layer is called on data (`try layer(x)`: builds on first use from `x`'s shape, checks the shape,
/// runs) or on symbolic tensors (`try layer(inputs)` with an ``Input`` or a ``SymbolicTensor``: records a
/// node of a graph that ``Model`` turns into a network). A layer that files can hold conforms to
/// ``ConfigurableLayer`` and is listed once in ``LayerRegistry``.
open class Layer {
    /// The name shown by `summary()` and used in variable names (`conv2d_1.kernel`).
    public var name: String { didSet { for w in weights { w.variable.name = "\(name).\(w.shortName)" } } }
    /// Whether a name was given explicitly; models number the others as Keras does (`conv2d_1`).
    public internal(set) var hasExplicitName: Bool
    /// Whether a model has numbered this unnamed layer (it keeps that name in every later model).
    var autoNamed = false
    /// Seed for the weight initialisers and any randomness in the layer; set by the model when nil.
    public var seed: UInt64?
    /// The input shapes the layer was built for (batch axis `nil`), once built.
    public internal(set) var builtInputShapes: [[Int?]]?
    public var isBuilt: Bool { builtInputShapes != nil }
    /// The one input shape of a built one-input layer.
    public var builtInputShape: [Int?]? { builtInputShapes?.count == 1 ? builtInputShapes![0] : nil }
    /// The order layers were created in: models number unnamed layers in this order, as Keras numbers
    /// them in a fresh session.
    let creationIndex: Int
    private static let creationCounter = Atomic<Int>(0)

    struct Weight {
        let shortName: String
        let variable: Variable
        let regularizer: Regularizer?
        let constraint: Constraint?
        /// Whether the variable was created trainable (batch-norm statistics are not); freezing and
        /// unfreezing the layer never makes such a variable trainable.
        let createdTrainable: Bool
    }
    private(set) var weights: [Weight] = []

    /// Whether the layer's variables are updated by training. Freezing keeps the weights and moves them
    /// to the non-trainable count; a frozen batch-norm layer also runs in inference mode (Keras 3). A
    /// model propagates the flag to its layers. Optimizers see the change at the next `compile`.
    public var trainable = true { didSet { for w in weights { w.variable.trainable = trainable && w.createdTrainable } } }

    public init(name: String? = nil) {
        self.name = name ?? Self.defaultName
        hasExplicitName = name != nil
        creationIndex = Layer.creationCounter.add(1, ordering: .relaxed).oldValue
    }

    /// Keras's automatic base name: the class name in snake case (`Conv2D` → `conv2d`).
    open class var defaultName: String { snakeCase(typeName(of: self)) }
    /// The class name files and summaries use: a registered layer's ``ConfigurableLayer/className``
    /// (Keras's class name for Fovea's layers), else the Swift class name.
    public var typeName: String { Layer.typeName(of: type(of: self)) }

    static func typeName(of type: Layer.Type) -> String {
        if type == Model.self { return "Functional" }
        return (type as? any ConfigurableLayer.Type)?.className ?? String(describing: type)
    }

    /// The state of the layer's random number generator (Dropout's masks), saved with the model so
    /// that resuming a run draws the same numbers as the uninterrupted run; nil for layers that
    /// draw none. Setting a state the layer cannot use is ignored by layers without randomness.
    open var randomState: [UInt64]? {
        get { nil }
        set {}
    }

    // MARK: One input (override these, or the plural forms below)

    /// Creates the layer's weights for an input of `inputShape` (batch axis included, `nil`).
    open func build(inputShape: [Int?]) throws {}
    /// The output shape for an input shape (batch axis included, `nil`); throws when the input does not fit.
    open func outputShape(for inputShape: [Int?]) throws -> [Int?] { inputShape }
    /// The computation. `training` turns on training-only behaviour such as dropout.
    open func forward(_ input: Tensor, training: Bool) throws -> Tensor { input }

    // MARK: Any number of inputs

    /// How many inputs the layer takes: `1...1` unless a layer of several inputs says otherwise.
    open var inputCountRange: ClosedRange<Int> { 1...1 }

    /// Creates the weights for inputs of `inputShapes`.
    open func build(inputShapes: [[Int?]]) throws { try build(inputShape: inputShapes[0]) }
    /// The output shapes for `inputShapes` (one per output; Fovea's layers have one, models may have several).
    open func outputShapes(for inputShapes: [[Int?]]) throws -> [[Int?]] { [try outputShape(for: inputShapes[0])] }
    /// The computation on several inputs.
    open func forward(_ inputs: [Tensor], training: Bool) throws -> [Tensor] { [try forward(inputs[0], training: training)] }

    /// Forward arithmetic for one call (2 × multiply-adds for convolutions and dense layers, one
    /// operation per window cell for pooling, none for reshapes), for `fovea bench`'s per-layer GFLOP/s.
    open func forwardFLOPs(inputShapes: [[Int]], outputShapes: [[Int]]) -> Double { 0 }

    /// Whether the layer's image outputs put channels before the spatial axes (`channels_first`), for
    /// the feature-map report; layers with a `dataFormat` answer from it.
    open var channelsFirst: Bool { false }

    // MARK: Variables

    /// Layers inside this one (a model's layers), whose variables this layer also holds.
    open var sublayers: [Layer] { [] }

    /// Every variable: this layer's own, in creation order, then its sublayers', each once (Keras's `weights`).
    public var variables: [Variable] {
        var seen = Set<ObjectIdentifier>()
        var result: [Variable] = []
        func visit(_ layer: Layer) {
            for w in layer.weights where seen.insert(ObjectIdentifier(w.variable)).inserted { result.append(w.variable) }
            for sub in layer.sublayers { visit(sub) }
        }
        visit(self)
        return result
    }
    public var trainableVariables: [Variable] { variables.filter(\.trainable) }
    public var nonTrainableVariables: [Variable] { variables.filter { !$0.trainable } }
    /// The variables as Keras's legacy `.h5` files order them: trainable first, then the rest.
    var legacyOrderedVariables: [Variable] { trainableVariables + nonTrainableVariables }
    /// Number of scalars in all variables.
    public var parameterCount: Int { variables.reduce(0) { $0 + $1.value.count } }
    public var trainableParameterCount: Int { trainableVariables.reduce(0) { $0 + $1.value.count } }

    /// This layer's own variables with their short names (`kernel`, `moving_mean`), in creation order.
    public var namedVariables: [(shortName: String, variable: Variable)] { weights.map { ($0.shortName, $0.variable) } }

    /// Creates a variable owned by this layer, initialised from the layer's seed. `trainable: false`
    /// makes state that training never updates through gradients (batch-norm statistics). Throws,
    /// before allocating, when the weight would pass ``ArchitectureLimits/maxTensorElements`` (or, while
    /// a model is read from a file, take it past ``ArchitectureLimits/maxParameters``).
    @discardableResult
    public func addWeight(_ shortName: String, shape: [Int], initializer: Initializer,
                          regularizer: Regularizer? = nil, constraint: Constraint? = nil,
                          trainable: Bool = true) throws -> Variable {
        try ArchitectureLimits.checkWeight(shape, layer: self, name: shortName)
        let seed = SeededGenerator.derive(self.seed ?? Seeds.default, UInt64(weights.count + 1))
        let variable = Variable(initializer.make(shape: shape, seed: seed), name: "\(name).\(shortName)",
                                trainable: trainable && self.trainable)
        weights.append(Weight(shortName: shortName, variable: variable, regularizer: regularizer, constraint: constraint,
                              createdTrainable: trainable))
        return variable
    }

    /// The regularisation penalties of this layer's and its sublayers' weights, on the gradient graph;
    /// training adds them to the loss.
    public func regularizationLosses() -> [Tensor] {
        weights.compactMap { w in w.regularizer.map { $0.penalty(w.variable.tracked) } } + sublayers.flatMap { $0.regularizationLosses() }
    }

    /// Applies each weight's constraint (after an optimizer step, as Keras does).
    public func applyConstraints() {
        for w in weights { if let c = w.constraint { w.variable.value = c.apply(w.variable.value) } }
        for sub in sublayers { sub.applyConstraints() }
    }

    /// Applies the state updates a training forward pass prepared (batch-norm moving statistics). The
    /// training step calls it once the optimizer has stepped, so a failed step changes no state; a layer
    /// that keeps such state overrides this and ``discardStateUpdates()``.
    open func commitStateUpdates() { for sub in sublayers { sub.commitStateUpdates() } }
    /// Drops prepared state updates without applying them.
    open func discardStateUpdates() { for sub in sublayers { sub.discardStateUpdates() } }

    // MARK: Building and calling on data

    /// Builds the layer for `inputShape` if it is not built yet; checks the shape if it is.
    public func buildIfNeeded(inputShape: [Int?]) throws { try buildIfNeeded(inputShapes: [inputShape]) }

    /// Builds the layer for `inputShapes` if it is not built yet; checks the shapes if it is.
    public func buildIfNeeded(inputShapes: [[Int?]]) throws {
        try checkInputCount(inputShapes.count)
        if let built = builtInputShapes {
            for (shape, expected) in zip(inputShapes, built) { try checkCompatible(shape, with: expected) }
            return
        }
        // Shapes are bounded before anything is built or allocated for them (ArchitectureLimits).
        for shape in inputShapes { try ArchitectureLimits.checkShape(shape, "\(name) (\(typeName)): input shape") }
        for shape in try outputShapes(for: inputShapes) { try ArchitectureLimits.checkShape(shape, "\(name) (\(typeName)): output shape") }
        try build(inputShapes: inputShapes)
        builtInputShapes = inputShapes.map { shape in
            var s = shape
            if !s.isEmpty { s[0] = nil }
            return s
        }
    }

    func checkInputCount(_ count: Int) throws {
        guard inputCountRange.contains(count) else {
            let expected = inputCountRange.lowerBound == inputCountRange.upperBound ? "\(inputCountRange.lowerBound)"
                : inputCountRange.upperBound == Int.max ? "at least \(inputCountRange.lowerBound)" : "\(inputCountRange)"
            throw FoveaError("\(name) (\(typeName)) takes \(expected) input\(expected == "1" ? "" : "s"), got \(count)")
        }
    }

    /// The one-tensor check of the hot path: no `[Int?]` copy of the shape unless it fails.
    func checkCompatible(_ shape: [Int], with built: [Int?]) throws {
        guard shape.count == built.count else { return try checkCompatible(shape.map { Optional($0) }, with: built) }
        for axis in 1..<Swift.max(1, shape.count) where built[axis] != nil && built[axis] != shape[axis] {
            return try checkCompatible(shape.map { Optional($0) }, with: built)
        }
    }

    func checkCompatible(_ shape: [Int?], with built: [Int?]) throws {
        let matches = shape.count == built.count && zip(shape.dropFirst(), built.dropFirst()).allSatisfy { a, b in
            a == nil || b == nil || a == b
        }
        if !matches {
            throw FoveaError("\(name) (\(typeName)): input shape \(formatShape(shape)) does not match the shape it was built for, \(formatShape(built))")
        }
    }

    /// Runs the layer on `input`, building it first if needed.
    public func callAsFunction(_ input: Tensor, training: Bool = false) throws -> Tensor {
        // The concrete shape (batch included) so errors show exactly what was passed.
        if let built = builtInputShapes, built.count == 1 {
            try checkCompatible(input.shape, with: built[0])
        } else {
            try buildIfNeeded(inputShapes: [input.optionalShape])
        }
        return try forward(input, training: training)
    }

    /// Runs a layer of several inputs (or a model of several inputs and one output) on data.
    public func callAsFunction(_ inputs: [Tensor], training: Bool = false) throws -> Tensor {
        let outputs = try call(inputs, training: training)
        guard outputs.count == 1 else { throw FoveaError("\(name) (\(typeName)) has \(outputs.count) outputs; use call(_:training:) for all of them") }
        return outputs[0]
    }

    /// Runs the layer on data and returns every output.
    public func call(_ inputs: [Tensor], training: Bool = false) throws -> [Tensor] {
        try buildIfNeeded(inputShapes: inputs.map(\.optionalShape))
        return try forward(inputs, training: training)
    }

    /// Describes the input expected, for error messages.
    func shapeError(_ input: [Int?], _ expectation: String) -> FoveaError {
        FoveaError("\(name) (\(typeName)): expected \(expectation), got input shape \(formatShape(input))")
    }

    // MARK: The graph

    /// The calls of this layer on symbolic tensors, each numbered in call order (Keras's node index).
    /// Held weakly: the graphs (tensors and models) own their nodes.
    var inboundNodes: [WeakNode] = []
    var nodeCount = 0

    /// The output of this layer's call in a graph (Keras `layer.output`): for a layer called once, or
    /// whose other calls are gone; an error otherwise.
    public var output: SymbolicTensor {
        get throws { try singleNode("output").outputs[0] }
    }

    /// The input of this layer's call in a graph (Keras `layer.input`).
    public var input: SymbolicTensor {
        get throws {
            let node = try singleNode("input")
            guard node.inputs.count == 1 else { throw FoveaError("layer '\(name)' has \(node.inputs.count) inputs; read them from its node") }
            return node.inputs[0]
        }
    }

    func singleNode(_ what: String) throws -> Node {
        let nodes = inboundNodes.compactMap(\.node)
        guard let node = nodes.first, nodes.count == 1 else {
            throw FoveaError(nodes.isEmpty ? "layer '\(name)' has not been called on a symbolic tensor, so it has no \(what)"
                : "layer '\(name)' is called \(nodes.count) times in graphs; its \(what) is ambiguous")
        }
        return node
    }
}

/// Keras's `to_snake_case`: `Conv2D` → `conv2d`, `MaxPooling2D` → `max_pooling2d`, `ReLU` → `re_lu`.
func snakeCase(_ s: String) -> String {
    func sub(_ re: NSRegularExpression, _ template: String, _ text: String) -> String {
        re.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: template)
    }
    return sub(SnakeCasePatterns.lowerUpper, "$1_$2", sub(SnakeCasePatterns.word, "$1_$2", sub(SnakeCasePatterns.nonWord, "", s))).lowercased()
}

/// Compiled once: compiling them on every call made adding a layer to a model cost milliseconds
/// (Sequential names each layer by comparing class names, quadratic in the layer count).
private enum SnakeCasePatterns {
    static let nonWord = try! NSRegularExpression(pattern: "\\W+")
    static let word = try! NSRegularExpression(pattern: "(.)([A-Z][a-z]+)")
    static let lowerUpper = try! NSRegularExpression(pattern: "([a-z])([A-Z])")
}
