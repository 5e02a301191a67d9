import Foundation

/// How a model runs its graph: the nodes in order, with the fusion pass's groups as single steps,
/// each tensor in a numbered slot that is released after its last reader (so inference holds only
/// the activations still needed, not every layer's).
///
/// The fusion pass decides by layer type and configuration, over the graph: a group forms only where
/// the first node's output is read by the second alone and is not a model output.
/// - `Conv2D` → `MaxPooling2D`: one fused op where ``Conv2D/forwardFused(with:_:)`` has a kernel
///   for the pair (the convolution's full output is never stored);
/// - `Conv2D` with a linear activation → a layer that only applies ReLU: the convolution with its
///   ReLU fused (one pass over the output instead of two);
/// - in inference without gradients, `Conv2D` or `DepthwiseConv2D` with a linear activation →
///   `BatchNormalization` over its channels (→ a ReLU-only layer for a Conv2D): the normalization
///   folded into the convolution's weights (computed once while the weights stay the same), the
///   ReLU in its kernel. ResNet's and MobileNet's conv–BN(–ReLU) triples become one convolution.
struct ExecutionPlan {
    enum Operation {
        case layer(Node)
        case convolutionPool(Node, Node)
        case convolutionReLU(Node, Node)
        case convolutionBatchNorm(Node, Node, relu: Node?, FoldedWeights)
    }

    struct Step {
        let operation: Operation
        let inputSlots: [Int]
        let outputSlots: [Int]
        /// Slots read for the last time by this step.
        var releases: [Int] = []
    }

    let steps: [Step]
    let inputSlots: [Int]
    let outputSlots: [Int]
    let slotCount: Int

    init(_ graph: Graph, inference: Bool) {
        var slotOf: [ObjectIdentifier: Int] = [:]
        // Tensors are keyed by identity: each is held here while the plan is made, so that an output
        // no node reads (recreated on demand) cannot die and hand its identity to another.
        var held: [SymbolicTensor] = []
        func slot(_ t: SymbolicTensor) -> Int {
            if let s = slotOf[ObjectIdentifier(t)] { return s }
            held.append(t)
            slotOf[ObjectIdentifier(t)] = slotOf.count
            return slotOf.count - 1
        }
        inputSlots = graph.inputs.map(slot)
        let outputIDs = Set(graph.outputs.map(ObjectIdentifier.init))
        var readers: [ObjectIdentifier: [Node]] = [:]
        for node in graph.nodes { for t in node.inputs { readers[ObjectIdentifier(t), default: []].append(node) } }
        /// The one node reading `node`'s only output, when that output is not a model output.
        func soleReader(_ node: Node) -> Node? {
            guard node.outputShapes.count == 1 else { return nil }
            let out = ObjectIdentifier(node.output(0))
            guard !outputIDs.contains(out), let r = readers[out], r.count == 1, r[0].inputs.count == 1 else { return nil }
            return r[0]
        }

        var steps: [Step] = []
        var absorbed = Set<ObjectIdentifier>()
        for node in graph.nodes where !node.isInput && !absorbed.contains(ObjectIdentifier(node)) {
            var operation = Operation.layer(node)
            var last = node
            if inference, let next = soleReader(node), let norm = next.layer as? BatchNormalization, Self.folds(node.layer, into: norm) {
                var relu: Node?
                if node.layer is Conv2D, let after = soleReader(next), after.layer.appliesReLUOnly { relu = after }
                operation = .convolutionBatchNorm(node, next, relu: relu, FoldedWeights())
                last = relu ?? next
                if relu != nil { absorbed.insert(ObjectIdentifier(next)) }
            } else if let conv = node.layer as? Conv2D, let next = soleReader(node) {
                if next.layer is MaxPooling2D {
                    operation = .convolutionPool(node, next)
                    last = next
                } else if conv.activation.kind == .linear, next.layer.appliesReLUOnly, next.training == node.training {
                    operation = .convolutionReLU(node, next)
                    last = next
                }
            }
            if last !== node { absorbed.insert(ObjectIdentifier(last)) }
            steps.append(Step(operation: operation, inputSlots: node.inputs.map(slot), outputSlots: last.outputs.map(slot)))
        }
        outputSlots = graph.outputs.map(slot)
        slotCount = slotOf.count
        withExtendedLifetime(held) {}
        // Release each slot after the last step reading it (model outputs are kept).
        var lastReader: [Int: Int] = [:]
        for (i, step) in steps.enumerated() { for s in step.inputSlots { lastReader[s] = i } }
        let kept = Set(outputSlots)
        for (s, i) in lastReader where !kept.contains(s) { steps[i].releases.append(s) }
        self.steps = steps
    }

    /// The layers of each step, in order: a group of several is one fused operation.
    var layerGroups: [[String]] {
        steps.map { step in
            switch step.operation {
            case .layer(let n): return [n.layer.name]
            case .convolutionPool(let a, let b), .convolutionReLU(let a, let b): return [a.layer.name, b.layer.name]
            case .convolutionBatchNorm(let a, let b, let r, _): return [a.layer.name, b.layer.name] + (r.map { [$0.layer.name] } ?? [])
            }
        }
    }

    /// Runs the plan on data.
    func run(_ inputs: [Tensor], training: Bool, logits: Node?) throws -> [Tensor] {
        var values = [Tensor?](repeating: nil, count: slotCount)
        for (slot, x) in zip(inputSlots, inputs) { values[slot] = x }
        try run(&values, training: training, logits: logits)
        return outputSlots.map { values[$0]! }
    }

    /// Runs the plan of a one-input, one-output model on data.
    func run(_ input: Tensor, training: Bool) throws -> Tensor {
        var values = [Tensor?](repeating: nil, count: slotCount)
        values[inputSlots[0]] = input
        try run(&values, training: training, logits: nil)
        return values[outputSlots[0]]!
    }

    private func run(_ values: inout [Tensor?], training: Bool, logits: Node?) throws {
        for step in steps {
            // A plain call of one input and one output (most steps) takes the layer's one-tensor path.
            if case .layer(let node) = step.operation, node !== logits, step.inputSlots.count == 1, step.outputSlots.count == 1 {
                values[step.outputSlots[0]] = try node.layer(values[step.inputSlots[0]]!, training: node.training ?? training)
            } else {
                let ys = try Self.run(step.operation, step.inputSlots.map { values[$0]! }, training: training, logits: logits)
                for (slot, y) in zip(step.outputSlots, ys) { values[slot] = y }
            }
            for slot in step.releases { values[slot] = nil }
        }
    }

    private static func run(_ operation: Operation, _ xs: [Tensor], training: Bool, logits: Node?) throws -> [Tensor] {
        switch operation {
        case .layer(let node):
            let mode = node.training ?? training
            if node === logits, let layer = node.layer as? SoftmaxOutput {
                try node.layer.buildIfNeeded(inputShapes: xs.map(\.optionalShape))
                return [try layer.logits(xs[0], training: mode)]
            }
            return try node.layer.call(xs, training: mode)
        case .convolutionPool(let convNode, let poolNode):
            let conv = convNode.layer as! Conv2D, pool = poolNode.layer as! MaxPooling2D
            // Fused only where no gradient reaches the input (inference, or a first layer on data).
            if xs[0].node == nil, let y = try conv.forwardFused(with: pool, xs[0]) { return [y] }
            let h = try conv(xs[0], training: convNode.training ?? training)
            return [try pool(h, training: poolNode.training ?? training)]
        case .convolutionReLU(let convNode, _):
            let conv = convNode.layer as! Conv2D
            try conv.buildIfNeeded(inputShapes: [xs[0].optionalShape])
            return [try conv.forward(xs[0], activation: .relu)]
        case .convolutionBatchNorm(let convNode, let normNode, let relu, let folded):
            let norm = normNode.layer as! BatchNormalization
            try convNode.layer.buildIfNeeded(inputShapes: [xs[0].optionalShape])
            switch convNode.layer {
            case let conv as Conv2D:
                let (kernel, bias) = folded.weights(kernel: conv.kernel!.value, bias: conv.bias?.value, norm: norm)
                return [try conv.forward(xs[0], activation: relu == nil ? .linear : .relu, kernel: kernel, bias: bias)]
            case let conv as DepthwiseConv2D:
                let (kernel, bias) = folded.weights(kernel: conv.kernel!.value, bias: conv.bias?.value, norm: norm)
                return [try conv.forward(xs[0], kernel: kernel, bias: bias)]
            default:
                preconditionFailure("the fusion pass folds batch normalization into Conv2D and DepthwiseConv2D only")
            }
        }
    }

    /// Whether `norm` can be folded into `layer`: a channels-last convolution (or channels-first over
    /// the same axis) without an activation of its own, normalised over its output channels.
    static func folds(_ layer: Layer, into norm: BatchNormalization) -> Bool {
        let format: DataFormat
        switch layer {
        case let conv as Conv2D where conv.activation.kind == .linear: format = conv.dataFormat
        case let conv as DepthwiseConv2D where conv.activation.kind == .linear: format = conv.dataFormat
        default: return false
        }
        return format == .channelsLast ? (norm.axis == -1 || norm.axis == 3) : norm.axis == 1
    }
}

/// A convolution's weights with a batch normalization folded in, kept while neither changes (a
/// weight that changes gets new storage: copy-on-write), shared by the threads of one inference.
final class FoldedWeights: @unchecked Sendable {
    private let lock = NSLock()
    private var sources: [TensorStorage?] = []
    private var folded: (kernel: Tensor, bias: Tensor)?

    func weights(kernel: Tensor, bias: Tensor?, norm: BatchNormalization) -> (kernel: Tensor, bias: Tensor) {
        let (mean, variance, gamma, beta) = norm.inferenceAffine
        let current = [kernel.storage, bias?.storage, mean.storage, variance.storage, gamma?.storage, beta?.storage]
        lock.lock()
        defer { lock.unlock() }
        if let folded, current.count == sources.count, zip(current, sources).allSatisfy({ $0 === $1 }) { return folded }
        let result = Tensor.foldingBatchNorm(kernel: kernel, bias: bias, mean: mean, variance: variance, gamma: gamma, beta: beta,
                                             epsilon: norm.epsilon)
        (sources, folded) = (current, result)
        return result
    }
}

/// A layer whose output is the softmax of something over the last axis: training with a
/// cross-entropy loss runs it to its logits and fuses softmax with the loss.
protocol SoftmaxOutput: Layer {
    /// The output before the softmax, or the plain output when the layer does not end in one.
    func logits(_ input: Tensor, training: Bool) throws -> Tensor
    /// Whether the layer's output is a softmax over the last axis.
    var endsInSoftmax: Bool { get }
}

extension Dense: SoftmaxOutput {
    var endsInSoftmax: Bool { activation.kind == .softmax }
    func logits(_ input: Tensor, training: Bool) throws -> Tensor {
        try forward(input, applyingActivation: !endsInSoftmax)
    }
}

extension ActivationLayer: SoftmaxOutput {
    var endsInSoftmax: Bool { activation.kind == .softmax }
    func logits(_ input: Tensor, training: Bool) throws -> Tensor { endsInSoftmax ? input : try forward(input, training: training) }
}

extension Layer {
    /// Whether the layer does nothing but a plain ReLU (`Activation("relu")`, a `ReLU()` without a cap,
    /// slope or threshold — not MobileNet's `ReLU(maxValue: 6)`), so a convolution before it can apply
    /// it in its kernel.
    var appliesReLUOnly: Bool {
        switch self {
        case let a as ActivationLayer: return a.activation.kind == .relu
        case let r as ReLU: return r.maxValue == nil && r.negativeSlope == 0 && r.threshold == 0
        default: return false
        }
    }
}
