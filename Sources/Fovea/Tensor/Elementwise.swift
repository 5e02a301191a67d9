import Foundation

/// The shape two shapes broadcast to (NumPy rules), or nil when they are incompatible.
func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = max(a.count, b.count)
    var out = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
        let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
        let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
        guard da == db || da == 1 || db == 1 else { return nil }
        out[i] = da == 1 ? db : da
    }
    return out
}

/// Row-major strides of `shape` aligned to an output of rank `rank`, with 0 on broadcast axes.
func broadcastStrides(_ shape: [Int], to out: [Int]) -> [Int] {
    var strides = [Int](repeating: 0, count: out.count)
    var step = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
        let o = i + out.count - shape.count
        strides[o] = shape[i] == 1 && out[o] != 1 ? 0 : step
        step *= shape[i]
    }
    return strides
}

extension Tensor {
    /// Applies `f` element-wise to two broadcast-compatible tensors (no gradient).
    static func zipBroadcast(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        guard let outShape = broadcastShape(a.shape, b.shape) else {
            preconditionFailure("shapes \(a.shape) and \(b.shape) cannot be broadcast together")
        }
        let out = Tensor(uninitializedShape: outShape)
        let pa = a.storage.pointer, pb = b.storage.pointer, po = out.storage.pointer
        let n = out.count
        if a.shape == b.shape {
            for i in 0..<n { po[i] = f(pa[i], pb[i]) }
        } else if b.count == 1 {
            let s = pb[0]; for i in 0..<n { po[i] = f(pa[i], s) }
        } else if a.count == 1 {
            let s = pa[0]; for i in 0..<n { po[i] = f(s, pb[i]) }
        } else if a.count == n && outShape.suffix(b.rank) == b.shape[...] {
            // b repeats along the leading axes (a bias added to every row).
            let inner = b.count
            for row in 0..<(n / inner) { let o = row * inner; for j in 0..<inner { po[o + j] = f(pa[o + j], pb[j]) } }
        } else if b.count == n && outShape.suffix(a.rank) == a.shape[...] {
            let inner = a.count
            for row in 0..<(n / inner) { let o = row * inner; for j in 0..<inner { po[o + j] = f(pa[j], pb[o + j]) } }
        } else {
            let sa = broadcastStrides(a.shape, to: outShape), sb = broadcastStrides(b.shape, to: outShape)
            var index = [Int](repeating: 0, count: outShape.count)
            var ia = 0, ib = 0
            for i in 0..<n {
                po[i] = f(pa[ia], pb[ib])
                var axis = outShape.count - 1
                while axis >= 0 {
                    index[axis] += 1; ia += sa[axis]; ib += sb[axis]
                    if index[axis] < outShape[axis] { break }
                    ia -= sa[axis] * outShape[axis]; ib -= sb[axis] * outShape[axis]
                    index[axis] = 0; axis -= 1
                }
            }
        }
        return out
    }

    /// Applies `f` to every element (no gradient).
    func map(_ f: (Float) -> Float) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        let p = storage.pointer, o = out.storage.pointer
        for i in 0..<count { o[i] = f(p[i]) }
        return out
    }

    /// The sum of this gradient over the axes that broadcasting added, reshaped to `shape`.
    func unbroadcast(to target: [Int]) -> Tensor {
        if shape == target { return self }
        let lead = rank - target.count
        var axes = Array(0..<lead)
        for (i, d) in target.enumerated() where d == 1 && shape[lead + i] != 1 { axes.append(lead + i) }
        return sumValues(alongAxes: axes).reshapedUnchecked(target)
    }

    /// Element-wise sum without recording (used when accumulating gradients).
    func adding(_ other: Tensor) -> Tensor {
        if shape == other.shape {
            let out = Tensor(uninitializedShape: shape)
            let a = storage.pointer, b = other.storage.pointer, o = out.storage.pointer
            for i in 0..<count { o[i] = a[i] + b[i] }
            return out
        }
        return Tensor.zipBroadcast(self, other, +)
    }

    // MARK: Differentiable arithmetic

    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let out = zipBroadcast(a, b, +)
        let (sa, sb) = (a.shape, b.shape)
        return recordOp(out, inputs: [a, b]) { g in [g.unbroadcast(to: sa), g.unbroadcast(to: sb)] }
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let out = zipBroadcast(a, b, -)
        let (sa, sb) = (a.shape, b.shape)
        return recordOp(out, inputs: [a, b]) { g in [g.unbroadcast(to: sa), g.map { -$0 }.unbroadcast(to: sb)] }
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let out = zipBroadcast(a, b, *)
        return recordOp(out, inputs: [a, b]) { g in
            [a.node == nil ? nil : zipBroadcast(g, b.detached, *).unbroadcast(to: a.shape),
             b.node == nil ? nil : zipBroadcast(g, a.detached, *).unbroadcast(to: b.shape)]
        }
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let out = zipBroadcast(a, b, /)
        return recordOp(out, inputs: [a, b]) { g in
            [a.node == nil ? nil : zipBroadcast(g, b.detached, /).unbroadcast(to: a.shape),
             b.node == nil ? nil : zipBroadcast(zipBroadcast(g, out.detached, *), b.detached, { -$0 / $1 }).unbroadcast(to: b.shape)]
        }
    }

    public static prefix func - (a: Tensor) -> Tensor {
        recordOp(a.map { -$0 }, inputs: [a]) { g in [g.map { -$0 }] }
    }

    public static func + (a: Tensor, s: Float) -> Tensor { a + Tensor(s) }
    public static func - (a: Tensor, s: Float) -> Tensor { a - Tensor(s) }
    public static func * (a: Tensor, s: Float) -> Tensor { a * Tensor(s) }
    public static func / (a: Tensor, s: Float) -> Tensor { a / Tensor(s) }
    public static func + (s: Float, a: Tensor) -> Tensor { Tensor(s) + a }
    public static func - (s: Float, a: Tensor) -> Tensor { Tensor(s) - a }
    public static func * (s: Float, a: Tensor) -> Tensor { Tensor(s) * a }
    public static func / (s: Float, a: Tensor) -> Tensor { Tensor(s) / a }

    // MARK: Differentiable unary functions

    /// A unary op whose derivative is computed from the input `x` and the output `y`.
    func unary(_ f: (Float) -> Float, derivative: @escaping (_ x: Float, _ y: Float) -> Float) -> Tensor {
        let out = map(f)
        let input = self.detached
        return Tensor.recordOp(out, inputs: [self]) { g in
            let dx = Tensor(uninitializedShape: g.shape)
            let pg = g.storage.pointer, px = input.storage.pointer, py = out.storage.pointer, pd = dx.storage.pointer
            for i in 0..<g.count { pd[i] = pg[i] * derivative(px[i], py[i]) }
            return [dx]
        }
    }

    public func exp() -> Tensor { unary({ Foundation.exp($0) }, derivative: { _, y in y }) }
    public func log() -> Tensor { unary({ Foundation.log($0) }, derivative: { x, _ in 1 / x }) }
    public func sqrt() -> Tensor { unary({ $0.squareRoot() }, derivative: { _, y in 0.5 / y }) }
    public func squared() -> Tensor { unary({ $0 * $0 }, derivative: { x, _ in 2 * x }) }
    public func abs() -> Tensor { unary({ Swift.abs($0) }, derivative: { x, _ in x > 0 ? 1 : (x < 0 ? -1 : 0) }) }
    public func relu() -> Tensor { relu(negativeSlope: 0) }
    public func tanh() -> Tensor { unary({ Foundation.tanh($0) }, derivative: { _, y in 1 - y * y }) }
    public func sigmoid() -> Tensor {
        unary({ 1 / (1 + Foundation.exp(-$0)) }, derivative: { _, y in y * (1 - y) })
    }
    /// `x` raised to a constant power.
    public func pow(_ p: Float) -> Tensor {
        unary({ Foundation.pow($0, p) }, derivative: { x, _ in p * Foundation.pow(x, p - 1) })
    }
    /// Values limited to [low, high]; the gradient is zero where the value was clipped (as in Keras).
    public func clipped(min low: Float, max high: Float) -> Tensor {
        unary({ Swift.min(Swift.max($0, low), high) }, derivative: { x, _ in x >= low && x <= high ? 1 : 0 })
    }
    /// Element-wise maximum with another tensor (broadcasting); the gradient goes to the larger one.
    public func maximum(_ other: Tensor) -> Tensor {
        let out = Tensor.zipBroadcast(self, other, { Swift.max($0, $1) })
        let a = self.detached, b = other.detached
        return Tensor.recordOp(out, inputs: [self, other]) { g in
            [Tensor.zipBroadcast(g, Tensor.zipBroadcast(a, b, { $0 >= $1 ? 1 : 0 }), *).unbroadcast(to: a.shape),
             Tensor.zipBroadcast(g, Tensor.zipBroadcast(a, b, { $0 >= $1 ? 0 : 1 }), *).unbroadcast(to: b.shape)]
        }
    }
}
