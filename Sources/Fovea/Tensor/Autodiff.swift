/// One node of the gradient graph: the op that produced a tensor, the nodes of its inputs, and the
/// pullback that maps the gradient of the output to the gradients of the inputs.
///
/// The graph is built as operations run (define-by-run) and freed with the last tensor that refers
/// to it. Leaves are the tensors gradients are taken with respect to.
final class GradNode {
    let inputs: [GradNode]
    let pullback: ((Tensor) -> [Tensor?])?
    /// The variable this leaf stands for (nil for inner nodes and for `requiringGradient()` leaves).
    weak var variable: Variable?

    init(leafFor variable: Variable?) {
        inputs = []
        pullback = nil
        self.variable = variable
    }

    init(inputs: [GradNode], pullback: @escaping (Tensor) -> [Tensor?]) {
        self.inputs = inputs
        self.pullback = pullback
    }
}

extension Tensor {
    /// Wraps the result of a differentiable op: when any input is in the gradient graph, the result
    /// gets a node whose pullback returns one gradient (or nil) per input, in order.
    static func recordOp(_ result: Tensor, inputs: [Tensor], pullback: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard inputs.contains(where: { $0.node != nil }) else { return result }
        let placeholders = inputs.map { $0.node ?? GradNode(leafFor: nil) }
        var out = result
        out.node = GradNode(inputs: placeholders, pullback: pullback)
        return out
    }
}

/// Reverse-mode differentiation: the gradients of the scalar `loss` with respect to each tensor
/// in `wrt` (each must be a graph leaf or any tensor on the path to `loss`). A tensor `loss` does
/// not depend on gets a zero gradient.
public func gradients(of loss: Tensor, wrt tensors: [Tensor]) -> [Tensor] {
    let grads = backpropagate(loss, keeping: Set(tensors.compactMap { $0.node.map(ObjectIdentifier.init) }))
    return tensors.map { t in
        guard let node = t.node, let g = grads[ObjectIdentifier(node)] else { return Tensor.zeros(t.shape) }
        return g
    }
}

/// The gradients of the scalar `loss` with respect to variables (zeros for ones it does not use).
public func gradients(of loss: Tensor, wrt variables: [Variable]) -> [Tensor] {
    let grads = backpropagate(loss, keeping: Set(variables.map { ObjectIdentifier($0.node) }))
    return variables.map { v in grads[ObjectIdentifier(v.node)] ?? Tensor.zeros(v.value.shape) }
}

/// The gradients of the scalar `loss` with respect to variables, reporting each one to `whenReady`
/// (with its index in `variables`) as soon as the backward pass has finished it, while the pass goes on
/// with the layers before: data-parallel training starts reducing a bucket of gradients across
/// processes while the rest are still being computed. Every variable is reported exactly once; a
/// variable `loss` does not depend on is reported last, with zeros. Returns the gradients as
/// ``gradients(of:wrt:)-([Variable])`` does.
public func gradients(of loss: Tensor, wrt variables: [Variable], whenReady: (_ index: Int, _ gradient: Tensor) throws -> Void) throws -> [Tensor] {
    var index: [ObjectIdentifier: Int] = [:]
    for (i, v) in variables.enumerated() { index[ObjectIdentifier(v.node)] = index[ObjectIdentifier(v.node)] ?? i }
    var result = [Tensor?](repeating: nil, count: variables.count)
    var failure: Error?
    let grads = withoutActuallyEscaping(whenReady) { whenReady in
        backpropagate(loss, keeping: Set(index.keys)) { key, gradient in
            guard failure == nil, let i = index[key] else { return }
            result[i] = gradient
            do { try whenReady(i, gradient) } catch { failure = error }
        }
    }
    if let failure { throw failure }
    for (i, v) in variables.enumerated() where result[i] == nil {
        let g = grads[ObjectIdentifier(v.node)] ?? Tensor.zeros(v.value.shape)
        result[i] = g
        if index[ObjectIdentifier(v.node)] == i { try whenReady(i, g) }
    }
    return result.map { $0! }
}

/// The value of `body` at `x` and its gradient with respect to `x`.
public func valueWithGradient(at x: Tensor, _ body: (Tensor) throws -> Tensor) rethrows -> (value: Tensor, gradient: Tensor) {
    let leaf = x.requiringGradient()
    let y = try body(leaf)
    return (y.detached, gradients(of: y, wrt: [leaf])[0])
}

/// Runs the graph backwards from `loss`, returning the accumulated gradients of the nodes in
/// `wanted`; every other gradient is dropped as soon as it has been passed on.
func backpropagate(_ loss: Tensor, keeping wanted: Set<ObjectIdentifier>,
                   whenFinal: ((ObjectIdentifier, Tensor) -> Void)? = nil) -> [ObjectIdentifier: Tensor] {
    precondition(loss.count == 1, "gradients are taken of a scalar loss; got shape \(loss.shape)")
    guard let root = loss.node else { return [:] }
    // Iterative post-order DFS gives a topological order without deep recursion.
    var order: [GradNode] = []
    var visited = Set<ObjectIdentifier>()
    var stack: [(GradNode, Int)] = [(root, 0)]
    visited.insert(ObjectIdentifier(root))
    while let (node, next) = stack.popLast() {
        if next < node.inputs.count {
            stack.append((node, next + 1))
            let child = node.inputs[next]
            if visited.insert(ObjectIdentifier(child)).inserted { stack.append((child, 0)) }
        } else {
            order.append(node)
        }
    }
    // For `whenFinal`: how many of its consumers still have to pass a wanted node its gradient.
    var pending: [ObjectIdentifier: Int] = [:]
    if whenFinal != nil {
        for node in order {
            for input in node.inputs where wanted.contains(ObjectIdentifier(input)) { pending[ObjectIdentifier(input), default: 0] += 1 }
        }
    }
    var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): Tensor(repeating: 1, shape: loss.shape)]
    for node in order.reversed() {
        if let pullback = node.pullback, let g = grads[ObjectIdentifier(node)] {
            let inputGrads = pullback(g)
            for (input, ig) in zip(node.inputs, inputGrads) {
                guard let ig else { continue }
                let key = ObjectIdentifier(input)
                if let existing = grads[key] { grads[key] = existing.adding(ig) } else { grads[key] = ig }
            }
        }
        if !wanted.contains(ObjectIdentifier(node)) { grads[ObjectIdentifier(node)] = nil }
        if let whenFinal {
            for input in node.inputs {
                let key = ObjectIdentifier(input)
                guard let count = pending[key] else { continue }
                if count > 1 { pending[key] = count - 1; continue }
                pending[key] = nil
                if let g = grads[key] { whenFinal(key, g) }
            }
        }
    }
    return grads
}

/// A named, mutable tensor that a layer owns (a kernel, a bias). Reading ``tracked`` inside a
/// gradient-recording scope puts it on the graph, so ``gradients(of:wrt:)`` can find its gradient.
public final class Variable {
    /// The current value. Optimizers and constraints replace it in place.
    public var value: Tensor
    /// The full name, e.g. `conv2d_1/kernel` once the layer has a name.
    public internal(set) var name: String
    /// Whether optimizers update it (a frozen layer's variables are not trainable).
    public var trainable: Bool
    let node: GradNode

    public init(_ value: Tensor, name: String, trainable: Bool = true) {
        self.value = value.detached
        self.name = name
        self.trainable = trainable
        node = GradNode(leafFor: nil)
        node.variable = self
    }

    /// The value, linked to this variable in the gradient graph while recording is on and the
    /// variable is trainable (during a training step: among the variables the model was compiled to train).
    public var tracked: Tensor {
        guard GradientRecording.isEnabled else { return value }
        if let trained = GradientRecording.trainedVariables {
            guard trained.contains(ObjectIdentifier(self)) else { return value }
        } else if !trainable {
            return value
        }
        return Tensor(shape: value.shape, storage: value.storage, node: node)
    }
}

/// Whether reading variables records them on the gradient graph (on by default).
public enum GradientRecording {
    @TaskLocal static var enabled = true
    public static var isEnabled: Bool { enabled }

    /// Runs `body` with recording off: inference builds no graph and keeps no activations alive.
    public static func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
        try $enabled.withValue(false) { try body() }
    }

    /// The variables a training step records (those the model was compiled to train); nil outside one,
    /// where each variable's own `trainable` decides.
    @TaskLocal static var trainedVariables: Set<ObjectIdentifier>?
}
