import XCTest
import Fovea
import FoveaTestSupport

/// The n-ary merges and concatenation: forward against plain loops, gradient checks, TensorFlow's
/// tie and NaN rules, Keras's shape rule, and the same numbers on one thread or two.
final class MergeOpsTests: XCTestCase {
    typealias Merge = (name: String, op: ([Tensor]) -> Tensor, fold: (Float, Float) -> Float)

    static let merges: [Merge] = [
        ("add", { Tensor.add($0) }, { $0 + $1 }),
        ("multiply", { Tensor.multiply($0) }, { $0 * $1 }),
        ("average", { Tensor.average($0) }, { $0 + $1 }),
        ("maximum", { Tensor.maximum($0) }, { $0 >= $1 || $0.isNaN ? $0 : $1 }),
        ("minimum", { Tensor.minimum($0) }, { $0 <= $1 || $0.isNaN ? $0 : $1 }),
    ]

    /// Left-to-right fold of same-shape inputs, element by element (the average divides by n).
    static func reference(_ merge: Merge, _ xs: [Tensor]) -> [Float] {
        (0..<xs[0].count).map { i in
            var acc = xs[0].scalars[i]
            for x in xs.dropFirst() { acc = merge.fold(acc, x.scalars[i]) }
            return merge.name == "average" ? acc / Float(xs.count) : acc
        }
    }

    /// Input k of up to 4: a shuffled ramp 0.1 apart shifted by 0.025·k, so no two inputs share a
    /// value at any element (maxima and minima stay unique with a margin wider than the gradient
    /// check's steps).
    static func separated(_ shape: [Int], _ k: Int, seed: UInt64) -> Tensor {
        distinct(shape, seed: seed) + Float(k) * 0.025
    }

    func testForwardEqualsPlainLoopsAcrossBlocks() {
        // 3 × 1100 elements: a full 1024-float kernel block and a ragged one with a vector tail.
        for merge in Self.merges {
            for n in 1...4 {
                let xs = (0..<n).map { Tensor.uniform([3, 1100], low: -2, high: 2, seed: UInt64(10 * n + $0)) }
                let y = merge.op(xs)
                XCTAssertEqual(y.shape, [3, 1100])
                XCTAssertEqual(y.scalars, Self.reference(merge, xs), "\(merge.name) of \(n)")
            }
        }
        let a = Tensor.uniform([5, 7], low: -1, high: 1, seed: 1), b = Tensor.uniform([5, 7], low: -1, high: 1, seed: 2)
        XCTAssertEqual(Tensor.subtract(a, b).scalars, zip(a.scalars, b.scalars).map { $0 - $1 })
    }

    func testGradients() {
        let xs = (0..<3).map { Self.separated([2, 3, 4], $0, seed: UInt64(20 + $0)) }
        for merge in Self.merges {
            for n in 1...3 {
                XCTAssertNoThrow(try assertGradients(of: { merge.op($0) }, at: Array(xs.prefix(n))), "\(merge.name) of \(n)")
            }
        }
        XCTAssertNoThrow(try assertGradients(of: { Tensor.subtract($0[0], $0[1]) }, at: Array(xs.prefix(2))))
    }

    func testGradientsWithBroadcasting() throws {
        // A size-1 axis, and a lower rank (Keras inserts axes after the batch axis: [2, 4] → [2, 1, 4]).
        let full = Self.separated([2, 3, 4], 0, seed: 30), column = Self.separated([2, 1, 4], 1, seed: 31)
        let low = Self.separated([2, 4], 2, seed: 32)
        for merge in Self.merges {
            try assertGradients(of: { merge.op($0) }, at: [full, column])
            try assertGradients(of: { merge.op($0) }, at: [low, full, column])
            XCTAssertEqual(merge.op([low, full]).shape, [2, 3, 4])
        }
        try assertGradients(of: { Tensor.subtract($0[0], $0[1]) }, at: [full, low])
        // The lower-rank input lines up with the axes after the batch axis, not NumPy's leading ones.
        let y = Tensor.add([full, low])
        for b in 0..<2 { for i in 0..<3 { for j in 0..<4 { XCTAssertEqual(y[b, i, j], full[b, i, j] + low[b, j]) } } }
    }

    func testGradientsReachOnlyTheInputsThatWantThem() throws {
        // Inputs 0 and 2 are constants: the multiply backward keeps its running prefix outside them.
        let c0 = awayFromZero([2, 5], seed: 40), c2 = awayFromZero([2, 5], seed: 41)
        let vs = [awayFromZero([2, 5], seed: 42), awayFromZero([2, 5], seed: 43)]
        try assertGradients(of: { Tensor.multiply([c0, $0[0], c2, $0[1]]) }, at: vs)
        try assertGradients(of: { Tensor.multiply([$0[0], c0, c2, $0[1]]) }, at: vs)
        try assertGradients(of: { Tensor.multiply([c0, c2, $0[0], $0[1]]) }, at: vs)
        let (m0, m2) = (Self.separated([2, 5], 0, seed: 44), Self.separated([2, 5], 2, seed: 45))
        try assertGradients(of: { Tensor.maximum([m0, $0[0], m2, $0[1]]) },
                            at: [Self.separated([2, 5], 1, seed: 46), Self.separated([2, 5], 3, seed: 47)])
        try assertGradients(of: { Tensor.concatenate([c0, $0[0], c2], alongAxis: -1) }, at: [vs[0]])
    }

    func testTiesAndNaNFollowTensorFlow() {
        // Equal values: TensorFlow's pairwise gradients send it to the first input holding the extreme.
        let a = Tensor([1, 2, 3, 3]), b = Tensor([1, 2, 4, 3]), c = Tensor([1, 5, 4, 3])
        for (op, winners) in [({ Tensor.maximum($0) } as ([Tensor]) -> Tensor, [0, 2, 1, 0]),
                              ({ Tensor.minimum($0) }, [0, 0, 0, 0])] {
            let leaves = [a, b, c].map { $0.requiringGradient() }
            let g = gradients(of: op(leaves).sum(), wrt: leaves)
            for i in 0..<4 {
                XCTAssertEqual((0..<3).map { g[$0].scalars[i] }, (0..<3).map { $0 == winners[i] ? 1 : 0 }, "element \(i)")
            }
        }
        // tf.maximum / tf.minimum: NaN on either side gives NaN; the gradient mask (x >= y) is false
        // for NaN, so it goes to the right-hand input.
        let nan = Float.nan
        let x = Tensor([nan, 1, nan]).requiringGradient(), y = Tensor([1, nan, nan]).requiringGradient()
        for op in [{ Tensor.maximum($0) } as ([Tensor]) -> Tensor, { Tensor.minimum($0) }] {
            let out = op([x, y])
            XCTAssertTrue(out.scalars.allSatisfy(\.isNaN))
            let g = gradients(of: (out * Tensor([1, 1, 1])).sum(), wrt: [x, y])
            XCTAssertEqual(g[0].scalars, [0, 0, 0])
            XCTAssertEqual(g[1].scalars, [1, 1, 1])
        }
    }

    func testOneThreadAndTwoAgree() {
        let xs = (0..<3).map { Tensor.uniform([70_001], low: -2, high: 2, seed: UInt64(50 + $0)) }
        let saved = ThreadPool.threadCount
        defer { ThreadPool.threadCount = saved }
        func run() -> [[Float]] {
            Self.merges.flatMap { merge -> [[Float]] in
                let leaves = xs.map { $0.requiringGradient() }
                let y = merge.op(leaves)
                return [y.scalars] + gradients(of: (y * y).sum(), wrt: leaves).map(\.scalars)
            } + [Tensor.concatenate(xs.map { $0.reshaped([1, -1]) }, alongAxis: 0).scalars]
        }
        ThreadPool.threadCount = 1
        let one = run()
        ThreadPool.threadCount = 2
        XCTAssertEqual(run(), one)
    }

    func testMergedShapeFollowsKeras() throws {
        XCTAssertEqual(try Tensor.mergedShape([[nil, 3, 4], [nil, 1, 4]]), [nil, 3, 4])
        XCTAssertEqual(try Tensor.mergedShape([[nil, 3, 4], [nil, 4]]), [nil, 3, 4])
        XCTAssertEqual(try Tensor.mergedShape([[8, 3, 4], [nil, 3, 4]]), [8, 3, 4])
        XCTAssertEqual(try Tensor.mergedShape([[nil, nil, 4], [nil, 3, 4]]), [nil, nil, 4])
        XCTAssertEqual(try Tensor.mergedShape([[nil, 5]]), [nil, 5])
        XCTAssertThrowsError(try Tensor.mergedShape([[nil, 3, 4], [nil, 2, 4]])) { error in
            XCTAssertTrue("\(error)".contains("(None, 3, 4)"), "\(error)")
        }
        XCTAssertThrowsError(try Tensor.mergedShape([[2, 3], [4, 3]]))
        XCTAssertThrowsError(try Tensor.mergedShape([]))
    }

    func testConcatenateAlongEveryAxis() throws {
        // Four NHWC branches on the channel axis (Inception), and the other axes.
        let shapes = [[2, 3, 3, 4], [2, 3, 3, 6], [2, 3, 3, 1], [2, 3, 3, 3]]
        let xs = shapes.enumerated().map { Tensor.uniform($0.element, low: -1, high: 1, seed: UInt64(60 + $0.offset)) }
        let y = Tensor.concatenate(xs, alongAxis: -1)
        XCTAssertEqual(y.shape, [2, 3, 3, 14])
        var offset = 0
        for x in xs {
            for b in 0..<2 { for h in 0..<3 { for w in 0..<3 { for c in 0..<x.shape[3] {
                XCTAssertEqual(y[b, h, w, offset + c], x[b, h, w, c])
            } } } }
            offset += x.shape[3]
        }
        try assertGradients(of: { Tensor.concatenate($0, alongAxis: 3) }, at: xs)
        let z = distinct([2, 3, 4], seed: 70)
        for axis in [0, 1, 2, -2] {
            try assertGradients(of: { Tensor.concatenate($0, alongAxis: axis) }, at: [z, distinct([2, 3, 4], seed: 71), z])
        }
        XCTAssertEqual(Tensor.concatenate([z], alongAxis: 1).scalars, z.scalars)
    }
}
