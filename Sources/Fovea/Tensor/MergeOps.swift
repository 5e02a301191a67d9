import CFoveaKernels

/// The element-wise merges under Keras's merge layers (`Add`, `Subtract`, `Multiply`, `Average`,
/// `Maximum`, `Minimum`): each is one op on the gradient tape over any number of tensors.
///
/// Numbers: the inputs are folded left to right in Float, as Keras's layers call the backend
/// pairwise (`((x0 + x1) + x2)…`; the average divides that sum by n), so results equal Keras's bit
/// for bit. Maximum and minimum follow `tf.maximum`/`tf.minimum`: NaN wins, a tie keeps the earlier
/// input, and the gradient goes where TensorFlow's pairwise gradients send it (to the first input
/// holding the extreme value).
///
/// Shapes follow Keras's merge layers: an input of lower rank gets axes of size 1 inserted after
/// the first (batch) axis until the ranks agree, then each axis broadcasts (equal sizes, or 1).
/// Inputs of one shape take a single pass over memory (split over the thread pool when large);
/// broadcasting inputs are expanded first, and their gradients summed back.
extension Tensor {
    /// Keras `Add`: `x0 + x1 + …` over one or more tensors.
    public static func add(_ tensors: [Tensor]) -> Tensor { merge(FOVEA_MERGE_ADD, tensors, name: "add") }

    /// Keras `Subtract`: `a − b`.
    public static func subtract(_ a: Tensor, _ b: Tensor) -> Tensor { merge(FOVEA_MERGE_SUBTRACT, [a, b], name: "subtract") }

    /// Keras `Multiply`: `x0 · x1 · …` over one or more tensors.
    public static func multiply(_ tensors: [Tensor]) -> Tensor { merge(FOVEA_MERGE_MULTIPLY, tensors, name: "multiply") }

    /// Keras `Average`: `(x0 + x1 + …) / n` over one or more tensors.
    public static func average(_ tensors: [Tensor]) -> Tensor { merge(FOVEA_MERGE_AVERAGE, tensors, name: "average") }

    /// Keras `Maximum`: the element-wise maximum of one or more tensors.
    public static func maximum(_ tensors: [Tensor]) -> Tensor { merge(FOVEA_MERGE_MAXIMUM, tensors, name: "maximum") }

    /// Keras `Minimum`: the element-wise minimum of one or more tensors.
    public static func minimum(_ tensors: [Tensor]) -> Tensor { merge(FOVEA_MERGE_MINIMUM, tensors, name: "minimum") }

    /// The output shape of a Keras merge layer for these input shapes (`nil` for an unknown size,
    /// as layers write the batch axis), or a thrown error naming the shapes that do not broadcast.
    /// As Keras's `Merge.compute_output_shape`: the shapes without their first axis are aligned at
    /// the right and broadcast (an unknown size stays unknown); the first axis is the inputs' one
    /// batch size if they agree on one, else unknown (and two different known batch sizes are an
    /// error, as in Keras's `Merge.build`).
    public static func mergedShape(_ shapes: [[Int?]]) throws -> [Int?] {
        guard let first = shapes.first else { throw FoveaError("a merge needs at least one input; got none") }
        guard shapes.allSatisfy({ !$0.isEmpty }) else {
            throw FoveaError("a merge's inputs need a batch axis; got shapes \(shapes.map(formatShape))")
        }
        let batches = Set(shapes.compactMap { $0[0] })
        guard batches.count <= 1 else {
            throw FoveaError("cannot merge tensors with different batch sizes \(batches.sorted()); got shapes \(shapes.map(formatShape))")
        }
        var out = Array(first.dropFirst())
        for shape in shapes.dropFirst() {
            var (long, short) = (out, Array(shape.dropFirst()))
            if long.count < short.count { swap(&long, &short) }
            var merged = Array(long.prefix(long.count - short.count))
            for (i, j) in zip(long.suffix(short.count), short) {
                if i == nil || j == nil { merged.append(nil) }
                else if i == 1 { merged.append(j) }
                else if j == 1 || i == j { merged.append(i) }
                else {
                    throw FoveaError("merge inputs have incompatible shapes \(shapes.map(formatShape)): each axis after the batch axis (aligned at the right) must agree or be 1")
                }
            }
            out = merged
        }
        return [batches.first] + out
    }

    /// `shape` with axes of size 1 inserted after the first axis up to `rank` axes (Keras's merge
    /// layers expand a lower-rank input with `expand_dims(x, axis=1)`).
    static func mergeAligned(_ shape: [Int], rank: Int) -> [Int] {
        guard shape.count < rank else { return shape }
        let ones = [Int](repeating: 1, count: rank - shape.count)
        return shape.isEmpty ? ones : [shape[0]] + ones + shape.dropFirst()
    }

    /// Elements per chunk below which an element-wise pass stays on one thread.
    static let elementwiseMinimumChunk = 1 << 15

    /// Runs `body` over `0..<count` split into contiguous ranges over the pool.
    static func forEachElementRange(_ count: Int, minimumChunk: Int = elementwiseMinimumChunk,
                                    _ body: (_ begin: Int, _ end: Int) -> Void) {
        ThreadPool.parallelFor(count, minChunk: minimumChunk) { body($0.lowerBound, $0.upperBound) }
    }

    private static func merge(_ op: Int, _ tensors: [Tensor], name: String) -> Tensor {
        precondition(!tensors.isEmpty, "\(name) needs at least one tensor")
        precondition(op != FOVEA_MERGE_SUBTRACT || tensors.count == 2, "subtract needs exactly 2 tensors, got \(tensors.count)")
        let rank = tensors.map(\.rank).max()!
        let aligned = tensors.map { mergeAligned($0.shape, rank: rank) }
        var outShape = aligned[0]
        for shape in aligned.dropFirst() {
            guard let merged = broadcastShape(outShape, shape) else {
                preconditionFailure("\(name): shapes \(tensors.map(\.shape)) cannot be merged (after inserting axes after the batch axis, each axis must agree or be 1)")
            }
            outShape = merged
        }
        // Same-shape operands are read in place; broadcasting ones are expanded first.
        let operands = zip(tensors, aligned).map { t, a in a == outShape ? t.detached : t.reshapedUnchecked(a).broadcastValues(to: outShape) }
        let count = outShape.reduce(1, *)
        let out = Tensor(uninitializedShape: outShape)
        let inputs: [UnsafePointer<Float>?] = operands.map { UnsafePointer($0.storage.pointer) }
        inputs.withUnsafeBufferPointer { list in
            forEachElementRange(count) { begin, end in
                fovea_merge(Int32(op), list.baseAddress, list.count, out.storage.pointer, begin, end)
            }
        }
        let shapes = tensors.map(\.shape)
        let wanted = tensors.map { $0.node != nil }
        let n = operands.count
        /// A full-shape gradient summed back to input k's own shape.
        func reduced(_ full: Tensor, _ k: Int) -> Tensor {
            full.shape == shapes[k] ? full : full.unbroadcast(to: aligned[k]).reshapedUnchecked(shapes[k])
        }
        // Each pullback captures only what it reads: a sum's keeps no input alive.
        let pullback: (Tensor) -> [Tensor?]
        switch op {
        case FOVEA_MERGE_ADD:
            pullback = { g in (0..<n).map { wanted[$0] ? reduced(g, $0) : nil } }
        case FOVEA_MERGE_SUBTRACT:
            pullback = { g in [wanted[0] ? reduced(g, 0) : nil, wanted[1] ? reduced(g.negatedValues(), 1) : nil] }
        case FOVEA_MERGE_AVERAGE:
            pullback = { g in
                let share = g.dividedValues(by: Float(n))
                return (0..<n).map { wanted[$0] ? reduced(share, $0) : nil }
            }
        default:
            pullback = { g in
                let grads = (0..<n).map { wanted[$0] ? Tensor(uninitializedShape: outShape) : nil }
                let targets: [UnsafeMutablePointer<Float>?] = grads.map { $0?.storage.pointer }
                let sources: [UnsafePointer<Float>?] = operands.map { UnsafePointer($0.storage.pointer) }
                sources.withUnsafeBufferPointer { list in
                    targets.withUnsafeBufferPointer { outs in
                        forEachElementRange(count) { begin, end in
                            if op == FOVEA_MERGE_MULTIPLY {
                                fovea_merge_multiply_backward(list.baseAddress, n, g.storage.pointer, outs.baseAddress, begin, end)
                            } else {
                                fovea_merge_extremum_backward(op == FOVEA_MERGE_MAXIMUM ? 1 : 0, list.baseAddress, n,
                                                              g.storage.pointer, outs.baseAddress, begin, end)
                            }
                        }
                    }
                }
                withExtendedLifetime(operands) {}
                return (0..<n).map { k in grads[k].map { reduced($0, k) } }
            }
        }
        return recordOp(out, inputs: tensors, pullback: pullback)
    }

    /// This tensor's values repeated along its size-1 axes to `target` (same rank; no gradient).
    func broadcastValues(to target: [Int]) -> Tensor {
        precondition(target.count == rank, "broadcastValues: rank \(rank) to \(target)")
        if shape == target { return detached }
        let out = Tensor(uninitializedShape: target)
        let strides = broadcastStrides(shape, to: target)
        let p = storage.pointer, o = out.storage.pointer
        let last = rank - 1, lastCount = target[last], lastStride = strides[last]
        var index = [Int](repeating: 0, count: rank)
        var src = 0, dst = 0
        for _ in 0..<(out.count / Swift.max(lastCount, 1)) {
            for j in 0..<lastCount { o[dst + j] = p[src + j * lastStride] }
            dst += lastCount
            var axis = last - 1
            while axis >= 0 {
                index[axis] += 1; src += strides[axis]
                if index[axis] < target[axis] { break }
                src -= strides[axis] * target[axis]; index[axis] = 0; axis -= 1
            }
        }
        return out
    }

    /// `−x` element-wise (no gradient).
    func negatedValues() -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        let p = storage.pointer, o = out.storage.pointer
        for i in 0..<count { o[i] = -p[i] }
        return out
    }

    /// `x / d` element-wise (no gradient): a division, as TensorFlow's gradient of `x / d` is.
    func dividedValues(by d: Float) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        let p = storage.pointer, o = out.storage.pointer
        for i in 0..<count { o[i] = p[i] / d }
        return out
    }
}
