import Foundation
import CFoveaKernels

extension Tensor {
    /// Same storage viewed with another shape of the same count (no gradient bookkeeping).
    func reshapedUnchecked(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, storage: storage)
    }

    /// The same elements in a new shape; one dimension may be -1 and is then inferred.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let unknown = target.firstIndex(of: -1) {
            let known = target.enumerated().filter { $0.offset != unknown }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            target[unknown] = count / known
        }
        precondition(target.reduce(1, *) == count, "cannot reshape \(shape) (\(count) values) to \(newShape)")
        let original = shape
        return Tensor.recordOp(reshapedUnchecked(target), inputs: [self]) { g in [g.reshapedUnchecked(original)] }
    }

    /// Flattens all axes after the first: `[batch, ...] → [batch, rest]`.
    public func flattenedBatch() -> Tensor { reshaped([shape.first ?? 1, -1]) }

    /// Inserts an axis of size 1 at `axis` (negative counts from the end of the new shape).
    public func expandingDims(at axis: Int) -> Tensor {
        let a = axis < 0 ? axis + rank + 1 : axis
        precondition(a >= 0 && a <= rank, "axis \(axis) out of range for expanding a rank-\(rank) tensor")
        var s = shape; s.insert(1, at: a)
        return reshaped(s)
    }

    /// Removes axes of size 1 (all of them when `axes` is nil).
    public func squeezed(axes: [Int]? = nil) -> Tensor {
        let drop = axes.map { normalizedAxes($0) } ?? shape.indices.filter { shape[$0] == 1 }
        for a in drop { precondition(shape[a] == 1, "cannot squeeze axis \(a) of size \(shape[a])") }
        return reshaped(dropping(axes: drop))
    }

    /// Permutes the axes: result axis i is input axis `permutation[i]`.
    public func transposed(_ permutation: [Int]) -> Tensor {
        precondition(permutation.sorted() == Array(0..<rank), "\(permutation) is not a permutation of \(rank) axes")
        let out = permutedValues(permutation)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, p) in permutation.enumerated() { inverse[p] = i }
        return Tensor.recordOp(out, inputs: [self]) { g in [g.permutedValues(inverse)] }
    }

    /// Swaps the last two axes.
    public func transposed() -> Tensor {
        precondition(rank >= 2, "transpose needs rank ≥ 2, got \(shape)")
        var p = Array(0..<rank); p.swapAt(rank - 1, rank - 2)
        return transposed(p)
    }

    func permutedValues(_ permutation: [Int]) -> Tensor {
        if permutation == Array(0..<rank) { return self.detached }
        let outShape = permutation.map { shape[$0] }
        let out = Tensor(uninitializedShape: outShape)
        var inStrides = [Int](repeating: 1, count: rank)
        for i in stride(from: rank - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * shape[i + 1] }
        let strides = permutation.map { inStrides[$0] }
        let p = storage.pointer, o = out.storage.pointer
        let last = rank - 1, lastStride = strides[last], lastCount = outShape[last]
        var index = [Int](repeating: 0, count: rank)
        var src = 0, dst = 0
        let rows = out.count / Swift.max(lastCount, 1)
        for _ in 0..<rows {
            for j in 0..<lastCount { o[dst + j] = p[src + j * lastStride] }
            dst += lastCount
            var axis = last - 1
            while axis >= 0 {
                index[axis] += 1; src += strides[axis]
                if index[axis] < outShape[axis] { break }
                src -= strides[axis] * outShape[axis]; index[axis] = 0; axis -= 1
            }
        }
        return out
    }

    /// Rows `range` of the first (batch) axis.
    public func slice(batch range: Range<Int>) -> Tensor {
        precondition(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0],
                     "batch slice \(range) out of range for shape \(shape)")
        let inner = count / Swift.max(shape[0], 1)
        var outShape = shape; outShape[0] = range.count
        let out = Tensor(uninitializedShape: outShape)
        out.storage.pointer.update(from: storage.pointer + range.lowerBound * inner, count: range.count * inner)
        let full = shape
        return Tensor.recordOp(out, inputs: [self]) { g in
            let dx = Tensor.zeros(full)
            dx.storage.pointer.advanced(by: range.lowerBound * inner).update(from: g.storage.pointer, count: g.count)
            return [dx]
        }
    }

    /// The rows of the first axis at `indices`, in that order (for shuffled mini-batches).
    public func gathering(batchIndices indices: [Int]) -> Tensor {
        let inner = count / Swift.max(shape.first ?? 1, 1)
        var outShape = shape; outShape[0] = indices.count
        let out = Tensor(uninitializedShape: outShape)
        for (r, i) in indices.enumerated() {
            precondition(i >= 0 && i < shape[0], "row \(i) out of range for shape \(shape)")
            (out.storage.pointer + r * inner).update(from: storage.pointer + i * inner, count: inner)
        }
        let full = shape
        return Tensor.recordOp(out, inputs: [self]) { g in
            let dx = Tensor.zeros(full)
            for (r, i) in indices.enumerated() {
                for j in 0..<inner { dx.storage.pointer[i * inner + j] += g.storage.pointer[r * inner + j] }
            }
            return [dx]
        }
    }

    /// Joins tensors along `axis` (negative counts from the end); all other dimensions must agree.
    /// One op on the tape (Keras `Concatenate`): the forward copies each output row's pieces in one
    /// pass, split over the pool by rows; the pullback slices the gradient back into the inputs that
    /// need one.
    public static func concatenate(_ tensors: [Tensor], alongAxis axis: Int = 0) -> Tensor {
        precondition(!tensors.isEmpty, "concatenate needs at least one tensor")
        let first = tensors[0]
        let a = axis < 0 ? axis + first.rank : axis
        precondition(a >= 0 && a < first.rank, "axis \(axis) is out of range for concatenating rank-\(first.rank) tensors")
        for t in tensors {
            precondition(t.rank == first.rank && t.shape.enumerated().allSatisfy { $0.offset == a || $0.element == first.shape[$0.offset] },
                         "cannot concatenate shapes \(tensors.map(\.shape)) along axis \(axis)")
        }
        var outShape = first.shape
        outShape[a] = tensors.reduce(0) { $0 + $1.shape[a] }
        let out = Tensor(uninitializedShape: outShape)
        let rows = first.shape[..<a].reduce(1, *)
        let inner = first.shape[(a + 1)...].reduce(1, *)
        let widths = tensors.map { $0.shape[a] * inner }
        let rowFloats = Swift.max(1, outShape[a] * inner)
        let minimumRows = Swift.max(1, elementwiseMinimumChunk / rowFloats)
        let sources: [UnsafePointer<Float>?] = tensors.map { UnsafePointer($0.storage.pointer) }
        sources.withUnsafeBufferPointer { list in
            ThreadPool.parallelFor(rows, minChunk: minimumRows) { range in
                fovea_concat_rows(list.baseAddress, widths, widths.count, out.storage.pointer, range.lowerBound, range.upperBound)
            }
        }
        withExtendedLifetime(tensors) {}
        let shapes = tensors.map(\.shape)
        let wanted = tensors.map { $0.node != nil }
        return recordOp(out, inputs: tensors) { g in
            let pieces = zip(shapes, wanted).map { shape, w in w ? Tensor(uninitializedShape: shape) : nil }
            let targets: [UnsafeMutablePointer<Float>?] = pieces.map { $0?.storage.pointer }
            targets.withUnsafeBufferPointer { list in
                ThreadPool.parallelFor(rows, minChunk: minimumRows) { range in
                    fovea_split_rows(g.storage.pointer, widths, widths.count, list.baseAddress, range.lowerBound, range.upperBound)
                }
            }
            return pieces
        }
    }
}
