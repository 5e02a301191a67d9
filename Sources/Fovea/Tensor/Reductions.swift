import Foundation

extension Tensor {
    func normalizedAxes(_ axes: [Int]) -> [Int] {
        let result = Set(axes.map { a -> Int in
            let axis = a < 0 ? a + rank : a
            precondition(axis >= 0 && axis < rank, "axis \(a) is out of range for a tensor of rank \(rank)")
            return axis
        })
        return result.sorted()
    }

    /// Folds the reduced axes with `combine`, starting from `initial` (no gradient). The result keeps
    /// reduced axes as size 1.
    func reduce(alongAxes axes: [Int], initial: Float, _ combine: (Float, Float) -> Float) -> Tensor {
        let axes = normalizedAxes(axes)
        var outShape = shape
        for a in axes { outShape[a] = 1 }
        let out = Tensor(repeating: initial, shape: outShape)
        let p = storage.pointer, o = out.storage.pointer
        // Fast paths: reducing a contiguous leading block (column sums) or trailing block (row sums).
        let lead = axes.isEmpty ? 0 : (axes == Array(0..<axes.count) ? axes.count : 0)
        let trail = axes.isEmpty ? 0 : (axes == Array((rank - axes.count)..<rank) ? axes.count : 0)
        if lead > 0 {
            let outer = shape[0..<lead].reduce(1, *), inner = count / Swift.max(outer, 1)
            for r in 0..<outer { let base = r * inner; for j in 0..<inner { o[j] = combine(o[j], p[base + j]) } }
        } else if trail > 0 {
            let inner = shape[(rank - trail)...].reduce(1, *), outer = count / Swift.max(inner, 1)
            for r in 0..<outer {
                var acc = initial
                let base = r * inner
                for j in 0..<inner { acc = combine(acc, p[base + j]) }
                o[r] = acc
            }
        } else if !axes.isEmpty {
            let strides = broadcastStrides(outShape, to: shape)
            var index = [Int](repeating: 0, count: rank)
            var io = 0
            for i in 0..<count {
                o[io] = combine(o[io], p[i])
                var axis = rank - 1
                while axis >= 0 {
                    index[axis] += 1; io += strides[axis]
                    if index[axis] < shape[axis] { break }
                    io -= strides[axis] * shape[axis]; index[axis] = 0; axis -= 1
                }
            }
        } else {
            for i in 0..<count { o[i] = combine(o[i], p[i]) }
        }
        return out
    }

    /// Sum over `axes` without recording; reduced axes are kept as size 1.
    func sumValues(alongAxes axes: [Int]) -> Tensor { reduce(alongAxes: axes, initial: 0, +) }

    func dropping(axes: [Int]) -> [Int] {
        shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
    }

    /// Sum over `axes` (all axes when nil).
    public func sum(alongAxes axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let axes = normalizedAxes(axes ?? Array(0..<rank))
        let kept = sumValues(alongAxes: axes)
        let out = keepDims ? kept : kept.reshapedUnchecked(dropping(axes: axes))
        let inShape = shape, keptShape = kept.shape
        return Tensor.recordOp(out, inputs: [self]) { g in
            [Tensor.zipBroadcast(g.reshapedUnchecked(keptShape), Tensor.zeros(inShape), +)]
        }
    }

    /// Mean over `axes` (all axes when nil).
    public func mean(alongAxes axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let axes = normalizedAxes(axes ?? Array(0..<rank))
        let n = axes.reduce(1) { $0 * shape[$1] }
        return sum(alongAxes: axes, keepDims: keepDims) * (1 / Float(Swift.max(n, 1)))
    }

    /// Maximum over `axes` (all axes when nil); the gradient flows to the first maximal element.
    public func max(alongAxes axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let axes = normalizedAxes(axes ?? Array(0..<rank))
        let kept = reduce(alongAxes: axes, initial: -Float.infinity) { Swift.max($0, $1) }
        let out = keepDims ? kept : kept.reshapedUnchecked(dropping(axes: axes))
        let input = self.detached, keptShape = kept.shape
        return Tensor.recordOp(out, inputs: [self]) { g in
            // Route each gradient to one winner per reduced group.
            var mask = Tensor.zipBroadcast(input, kept, { $0 == $1 ? 1 : 0 })
            let firstOnly = mask.cumulativeFirstMask(alongAxes: axes, groupShape: keptShape)
            mask = firstOnly
            return [Tensor.zipBroadcast(mask, g.reshapedUnchecked(keptShape), *)]
        }
    }

    /// Keeps only the first 1 of each reduced group of a 0/1 mask.
    private func cumulativeFirstMask(alongAxes axes: [Int], groupShape: [Int]) -> Tensor {
        let seen = Tensor.zeros(groupShape)
        var out = self
        out.makeUnique()
        let strides = broadcastStrides(groupShape, to: shape)
        var index = [Int](repeating: 0, count: rank)
        var io = 0
        let p = out.storage.pointer, s = seen.storage.pointer
        for i in 0..<count {
            if p[i] != 0 { if s[io] != 0 { p[i] = 0 } else { s[io] = 1 } }
            var axis = rank - 1
            while axis >= 0 {
                index[axis] += 1; io += strides[axis]
                if index[axis] < shape[axis] { break }
                io -= strides[axis] * shape[axis]; index[axis] = 0; axis -= 1
            }
        }
        return out
    }

    /// Index of the largest element along `axis` (first one on ties); the axis is removed.
    public func argmax(alongAxis axis: Int = -1) -> [Int] {
        let axis = normalizedAxes([axis])[0]
        let n = shape[axis], inner = shape[(axis + 1)...].reduce(1, *), outer = shape[..<axis].reduce(1, *)
        var result = [Int](repeating: 0, count: outer * inner)
        let p = storage.pointer
        for o in 0..<outer {
            for i in 0..<inner {
                var best = 0
                var bestValue = p[o * n * inner + i]
                for k in 1..<Swift.max(n, 1) where p[(o * n + k) * inner + i] > bestValue {
                    best = k; bestValue = p[(o * n + k) * inner + i]
                }
                result[o * inner + i] = best
            }
        }
        return result
    }
}
