import Foundation

extension Tensor {
    /// Matrix product of rank-2 tensors: `[m, k] · [k, n] → [m, n]`.
    public func matmul(_ other: Tensor) -> Tensor {
        precondition(rank == 2 && other.rank == 2 && shape[1] == other.shape[0],
                     "matmul needs [m, k] · [k, n]; got \(shape) · \(other.shape)")
        let out = Tensor.gemm(self, other, transA: false, transB: false)
        let a = self.detached, b = other.detached
        return Tensor.recordOp(out, inputs: [self, other]) { g in
            [self.node == nil ? nil : Tensor.gemm(g, b, transA: false, transB: true),
             other.node == nil ? nil : Tensor.gemm(a, g, transA: true, transB: false)]
        }
    }

    /// op(a) · op(b) with no recording.
    static func gemm(_ a: Tensor, _ b: Tensor, transA: Bool, transB: Bool) -> Tensor {
        let m = transA ? a.shape[1] : a.shape[0], k = transA ? a.shape[0] : a.shape[1]
        let n = transB ? b.shape[0] : b.shape[1]
        let out = Tensor(uninitializedShape: [m, n])
        Kernels.sgemm(transA: transA, transB: transB, m: m, n: n, k: k,
                      a: a.storage.pointer, lda: a.shape[1], b: b.storage.pointer, ldb: b.shape[1],
                      c: out.storage.pointer, ldc: n)
        return out
    }

    /// Softmax along the last axis.
    public func softmax() -> Tensor {
        let out = softmaxValues(log: false)
        return Tensor.recordOp(out, inputs: [self]) { g in
            // dx = y ⊙ (g − Σ g⊙y) per row.
            let n = out.shape.last ?? 1
            let dx = Tensor(uninitializedShape: g.shape)
            let py = out.storage.pointer, pg = g.storage.pointer, pd = dx.storage.pointer
            for r in 0..<(g.count / Swift.max(n, 1)) {
                let o = r * n
                var dot: Float = 0
                for j in 0..<n { dot += pg[o + j] * py[o + j] }
                for j in 0..<n { pd[o + j] = py[o + j] * (pg[o + j] - dot) }
            }
            return [dx]
        }
    }

    /// Log-softmax along the last axis (stable: shifts by the row maximum).
    public func logSoftmax() -> Tensor {
        let out = softmaxValues(log: true)
        return Tensor.recordOp(out, inputs: [self]) { g in
            // dx = g − softmax ⊙ Σ g per row.
            let n = out.shape.last ?? 1
            let dx = Tensor(uninitializedShape: g.shape)
            let py = out.storage.pointer, pg = g.storage.pointer, pd = dx.storage.pointer
            for r in 0..<(g.count / Swift.max(n, 1)) {
                let o = r * n
                var total: Float = 0
                for j in 0..<n { total += pg[o + j] }
                for j in 0..<n { pd[o + j] = pg[o + j] - Foundation.exp(py[o + j]) * total }
            }
            return [dx]
        }
    }

    func softmaxValues(log: Bool) -> Tensor {
        precondition(rank >= 1, "softmax needs rank ≥ 1")
        let n = shape[rank - 1]
        let out = Tensor(uninitializedShape: shape)
        let p = storage.pointer, o = out.storage.pointer
        for r in 0..<(count / Swift.max(n, 1)) {
            let base = r * n
            var m = -Float.infinity
            for j in 0..<n { m = Swift.max(m, p[base + j]) }
            var total: Float = 0
            for j in 0..<n { let e = Foundation.exp(p[base + j] - m); o[base + j] = e; total += e }
            if log {
                let lse = m + Foundation.log(total)
                for j in 0..<n { o[base + j] = p[base + j] - lse }
            } else {
                let inv = 1 / total
                for j in 0..<n { o[base + j] *= inv }
            }
        }
        return out
    }
}
