import Foundation

/// A value that stands for a symbolic tensor: a ``SymbolicTensor`` itself, or an ``Input`` layer
/// (whose output it is), so that `Conv2D(...)(inputs)` and `Model(inputs: inputs, ...)` take either.
public protocol SymbolicTensorConvertible {
    var symbolic: SymbolicTensor { get }
}

/// A tensor in a graph of layer calls (Keras's `KerasTensor`): its shape (batch axis `nil`) and the
/// call that produces it. Calling a layer on symbolic tensors records that call as a node and
/// returns the node's outputs; ``Model`` turns the graph between inputs and outputs into a network.
public final class SymbolicTensor: SymbolicTensorConvertible, CustomStringConvertible {
    /// The shape, batch axis included (`nil` where unknown).
    public let shape: [Int?]
    /// The call that produces this tensor.
    let node: Node
    /// Which of the node's outputs this is.
    let index: Int

    init(shape: [Int?], node: Node, index: Int) {
        self.shape = shape; self.node = node; self.index = index
    }

    public var symbolic: SymbolicTensor { self }
    /// The layer whose call produces this tensor.
    public var layer: Layer { node.layer }
    public var description: String { "<SymbolicTensor shape=\(formatShape(shape)), from \(node.layer.name)>" }
}

/// One call of a layer in a graph: the layer, its input tensors and its outputs. Tensors hold their
/// node strongly and a node holds its inputs strongly, so a graph lives as long as its outputs; a node
/// keeps its outputs weakly (a tensor no one holds is recreated on demand).
final class Node {
    let layer: Layer
    let inputs: [SymbolicTensor]
    /// The number of this call among the layer's calls (Keras's node index in `keras_history`).
    let indexInLayer: Int
    /// The `training` argument given at the call (`base(x, training: false)`), overriding the model's.
    let training: Bool?
    let outputShapes: [[Int?]]
    private var weakOutputs: [WeakTensor]

    init(layer: Layer, inputs: [SymbolicTensor], outputShapes: [[Int?]], training: Bool?) {
        self.layer = layer; self.inputs = inputs; self.outputShapes = outputShapes; self.training = training
        indexInLayer = layer.nodeCount
        layer.nodeCount += 1
        weakOutputs = outputShapes.map { _ in WeakTensor() }
        layer.inboundNodes.removeAll { $0.node == nil }
        layer.inboundNodes.append(WeakNode(self))
    }

    /// Output `i`, created when no one holds it.
    func output(_ i: Int) -> SymbolicTensor {
        if let t = weakOutputs[i].tensor { return t }
        let t = SymbolicTensor(shape: outputShapes[i], node: self, index: i)
        weakOutputs[i].tensor = t
        return t
    }

    var outputs: [SymbolicTensor] { outputShapes.indices.map(output) }
    /// Whether this is an ``Input``'s node (a graph source).
    var isInput: Bool { layer is Input }

    private struct WeakTensor { weak var tensor: SymbolicTensor? }
}

struct WeakNode {
    weak var node: Node?
    init(_ node: Node) { self.node = node }
}

extension Layer {
    /// Calls the layer on a symbolic tensor: builds it for the tensor's shape if needed, checks the
    /// shape, and records the call. `training` fixes the mode of this call whatever mode the model runs
    /// in (`base(inputs, training: false)` keeps a pretrained base in inference mode).
    public func callAsFunction(_ input: some SymbolicTensorConvertible, training: Bool? = nil) throws -> SymbolicTensor {
        try callAsFunction([input.symbolic], training: training)
    }

    /// Calls a layer of several inputs (`Add()([a, b])`) on symbolic tensors.
    public func callAsFunction(_ inputs: [any SymbolicTensorConvertible], training: Bool? = nil) throws -> SymbolicTensor {
        let outputs = try call(symbolic: inputs.map(\.symbolic), training: training)
        guard outputs.count == 1 else {
            throw FoveaError("\(name) (\(typeName)) has \(outputs.count) outputs; use call(symbolic:training:) for all of them")
        }
        return outputs[0]
    }

    /// Calls the layer on symbolic tensors and returns every output.
    public func call(symbolic inputs: [SymbolicTensor], training: Bool? = nil) throws -> [SymbolicTensor] {
        guard !(self is Input) else { throw FoveaError("\(name) (InputLayer) is a graph's input; it cannot be called on tensors") }
        try checkInputCount(inputs.count)
        let shapes = inputs.map(\.shape)
        try buildIfNeeded(inputShapes: shapes)
        let outputShapes = try self.outputShapes(for: shapes)
        return Node(layer: self, inputs: inputs, outputShapes: outputShapes, training: training).outputs
    }
}
