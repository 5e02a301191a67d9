import Foundation

/// A stack of layers, each feeding the next (Keras `Sequential`).
///
/// Layers without an explicit name are numbered per model as Keras numbers them in a fresh
/// session: `conv2d`, `conv2d_1`, …. Weights are initialised from the model's seed and the layer's
/// position, so the same seed gives the same model.
open class Sequential {
    public let name: String
    public let seed: UInt64
    public private(set) var layers: [Layer] = []
    /// The input shape (batch axis `nil`) once known.
    public private(set) var inputShape: [Int?]?
    /// What `compile` set up (optimizer, loss, metrics); owned by the training layer.
    public var compiledState: AnyObject?
    /// Set by a callback to end `fit` after the current epoch (Keras `stop_training`).
    public var stopTraining = false

    /// Creates a model; with an ``Input`` first (or once called on data) its layers are built.
    public init(_ layers: [Layer] = [], name: String = "sequential", seed: UInt64? = nil) throws {
        self.name = name
        self.seed = seed ?? Seeds.default
        for layer in layers { try add(layer) }
    }

    /// Appends a layer, naming it and building it when the input shape is known.
    public func add(_ layer: Layer) throws {
        if layers.contains(where: { $0 === layer }) {
            throw FoveaError("\(layer.name) is already in model \(name); a layer can appear once")
        }
        if !layer.hasExplicitName {
            let base = type(of: layer).defaultName
            let used = layers.filter { type(of: $0).defaultName == base && !$0.hasExplicitName }.count
            layer.name = used == 0 ? base : "\(base)_\(used)"
        }
        if layers.contains(where: { $0.name == layer.name }) {
            throw FoveaError("model \(name) already has a layer named '\(layer.name)'; layer names must be unique")
        }
        if layer.seed == nil { layer.seed = SeededGenerator.derive(seed, UInt64(layers.count + 1)) }
        if let input = layer as? Input {
            guard layers.isEmpty else { throw FoveaError("Input must be the first layer of \(name)") }
            inputShape = [nil] + input.shape.map { Optional($0) }
        }
        layers.append(layer)
        if let shape = inputShape { _ = try buildLayers(from: shape, startingAt: layers.count - 1) }
    }

    /// Builds the layers from `index` on, given the input shape of the whole model; returns the output shape.
    @discardableResult
    func buildLayers(from shape: [Int?], startingAt index: Int = 0) throws -> [Int?] {
        var current = try outputShape(upTo: index, from: shape)
        for layer in layers[index...] {
            try layer.buildIfNeeded(inputShape: current)
            current = try layer.outputShape(for: current)
        }
        return current
    }

    func outputShape(upTo index: Int, from shape: [Int?]) throws -> [Int?] {
        var current = shape
        for layer in layers[..<index] { current = try layer.outputShape(for: current) }
        return current
    }

    /// Builds every layer for inputs of `shape` (batch axis excluded).
    public func build(inputShape shape: [Int]) throws {
        let full: [Int?] = [nil] + shape.map { Optional($0) }
        if let known = inputShape, known != full {
            throw FoveaError("model \(name) was built for inputs \(formatShape(known)); cannot rebuild for \(formatShape(full))")
        }
        inputShape = full
        try buildLayers(from: full)
    }

    /// The output shape for the model's input (batch axis `nil`).
    public var outputShape: [Int?]? {
        guard let shape = inputShape else { return nil }
        return try? outputShape(upTo: layers.count, from: shape)
    }

    /// Runs the model on a batch.
    public func callAsFunction(_ input: Tensor, training: Bool = false) throws -> Tensor {
        if inputShape == nil {
            var shape: [Int?] = input.shape
            if !shape.isEmpty { shape[0] = nil }
            inputShape = shape
            try buildLayers(from: shape)
        }
        return try run(layers[...], input, training: training)
    }

    /// Runs `layers` (a run of this model's) in order from `input`. A convolution and the max pool
    /// after it may run as one fused op (same result; the convolution's full output is never
    /// stored): in inference, and when gradients are needed for a one-channel 3×3 layer on data (a
    /// first layer; `Conv2D.forwardFused` says which pairs qualify).
    func run(_ layers: ArraySlice<Layer>, _ input: Tensor, training: Bool) throws -> Tensor {
        var x = input
        let fuse = input.node == nil
        var i = layers.startIndex
        while i < layers.endIndex {
            if fuse, i + 1 < layers.endIndex, let conv = layers[i] as? Conv2D, let pool = layers[i + 1] as? MaxPooling2D,
               let y = try conv.forwardFused(with: pool, x) {
                x = y
                i += 2
                continue
            }
            x = try layers[i](x, training: training)
            i += 1
        }
        return x
    }

    /// Every variable, in layer order.
    public var variables: [Variable] { layers.flatMap(\.variables) }
    public var trainableVariables: [Variable] { layers.flatMap(\.trainableVariables) }
    public var parameterCount: Int { layers.reduce(0) { $0 + $1.parameterCount } }
    public var trainableParameterCount: Int { trainableVariables.reduce(0) { $0 + $1.value.count } }

    /// The layer named `name`.
    public func layer(named name: String) throws -> Layer {
        guard let layer = layers.first(where: { $0.name == name }) else {
            throw FoveaError("model \(self.name) has no layer named '\(name)'; it has \(layers.map(\.name).joined(separator: ", "))")
        }
        return layer
    }

    /// A copy of every variable's value, in ``variables`` order (Keras `get_weights`).
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

    /// The regularisation penalties of every layer.
    public func regularizationLosses() -> [Tensor] { layers.flatMap { $0.regularizationLosses() } }
}
