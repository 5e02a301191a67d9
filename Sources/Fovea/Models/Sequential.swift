import Foundation

/// A stack of layers, each feeding the next (Keras `Sequential`): a ``Model`` whose graph is a chain,
/// built as soon as the input shape is known (an ``Input`` first, ``build(inputShape:)``, or the first
/// data it is called on).
///
/// Layers without an explicit name are numbered per model as Keras numbers them in a fresh
/// session: `conv2d`, `conv2d_1`, …. Weights are initialised from the model's seed and the layer's
/// position, so the same seed gives the same model. As in Keras, ``layers`` leaves out the `Input`.
open class Sequential: Model {
    /// The `Input` the chain starts from, once known.
    public private(set) var inputLayer: Input?
    private var chain: [Layer] = []

    /// Creates a model; with an ``Input`` first (or once called on data) its layers are built.
    public init(_ layers: [Layer] = [], name: String? = nil, seed: UInt64? = nil) throws {
        super.init(name: name, seed: seed)
        for layer in layers { try add(layer) }
    }

    open override class var defaultName: String { "sequential" }

    /// The layers in order, without the `Input`.
    public override var layers: [Layer] { chain }

    /// Appends a layer, naming it and building it when the input shape is known.
    public func add(_ layer: Layer) throws {
        if layer === inputLayer || chain.contains(where: { $0 === layer }) {
            throw FoveaError("\(layer.name) is already in model \(name); a layer can appear once")
        }
        if let input = layer as? Input {
            guard chain.isEmpty && inputLayer == nil else { throw FoveaError("Input must be the first layer of \(name)") }
            try start(from: input)
            return
        }
        number(layer)
        if layer.seed == nil { layer.seed = SeededGenerator.derive(modelSeed, UInt64(chain.count + (inputLayer == nil ? 1 : 2))) }
        chain.append(layer)
        guard let last = chainOutputs.last else { return }
        do {
            chainOutputs.append(try layer(last))
            try setGraph(inputs: [chainOutputs[0]], outputs: [chainOutputs.last!])
        } catch let error as FoveaError {
            chain.removeLast()
            chainOutputs.removeLast(chainOutputs.count - chain.count - 1)
            throw error.message.hasPrefix("model ") ? error : FoveaError("model \(name): \(error.message)")
        }
    }

    /// The chain's tensors once the input is known: the input's, then each layer's output.
    private var chainOutputs: [SymbolicTensor] = []

    /// Starts the chain from `input` and calls every layer added so far on it.
    private func start(from input: Input) throws {
        number(input)
        let layers = chain
        chain = []
        inputLayer = input
        chainOutputs = [input.symbolic]
        do {
            for layer in layers {
                chain.append(layer)
                chainOutputs.append(try layer(chainOutputs.last!))
            }
            if !chain.isEmpty { try setGraph(inputs: [chainOutputs[0]], outputs: [chainOutputs.last!]) }
        } catch let error as FoveaError {
            (chain, inputLayer, chainOutputs) = (layers, nil, [])
            throw FoveaError("model \(name): \(error.message)")
        }
    }

    /// Numbers an unnamed layer after the ones of its kind already here.
    private func number(_ layer: Layer) {
        guard !layer.nameAssigned else { return }
        let base = type(of: layer).defaultName
        let used = Set(([inputLayer].compactMap { $0 } + chain).map(\.name))
        var n = 0
        while used.contains(n == 0 ? base : "\(base)_\(n)") { n += 1 }
        layer.name = n == 0 ? base : "\(base)_\(n)"
        layer.nameAssigned = true
    }

    /// Builds every layer for inputs of `shape` (batch axis excluded).
    public func build(inputShape shape: [Int]) throws {
        if let input = inputLayer {
            guard input.shape == shape else {
                throw FoveaError("model \(name) was built for inputs \(formatShape([nil] + input.shape.map { $0 })); cannot rebuild for \(formatShape([nil] + shape.map { $0 }))")
            }
            return
        }
        try start(from: Input(shape: shape))
    }

    override func prepare(for x: Tensor) throws {
        guard inputLayer == nil, x.rank >= 1 else { return }
        try build(inputShape: Array(x.shape.dropFirst()))
    }

    public override var inputShape: [Int?]? { inputLayer.map { [nil] + $0.shape.map { Optional($0) } } }
}
