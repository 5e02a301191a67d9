import XCTest
import Fovea

final class TensorBasicsTests: XCTestCase {
    func testCreationAndIndexing() {
        XCTAssertEqual(Tensor.zeros([2, 3]).scalars, [0, 0, 0, 0, 0, 0])
        XCTAssertEqual(Tensor.ones([2]).scalars, [1, 1])
        XCTAssertEqual(Tensor(repeating: 7, shape: [1, 2]).scalars, [7, 7])
        let m = Tensor([[1, 2, 3], [4, 5, 6]])
        XCTAssertEqual(m.shape, [2, 3])
        XCTAssertEqual(m[1, 2], 6)
        XCTAssertEqual(Tensor(3).scalar, 3)
        XCTAssertEqual(Tensor(3).rank, 0)
        XCTAssertTrue(m.description.contains("shape=[2, 3]"))
        XCTAssertTrue(Tensor.zeros([20, 20]).description.contains("..."))
    }

    func testCopyOnWrite() {
        let original = Tensor([1, 2, 3])
        var copy = original
        copy[1] = 20
        XCTAssertEqual(original.scalars, [1, 2, 3])
        XCTAssertEqual(copy.scalars, [1, 20, 3])
        var written = original.reshaped([3, 1])
        written.withUnsafeMutableBufferPointer { $0[0] = 9 }
        XCTAssertEqual(original.scalars, [1, 2, 3])
        XCTAssertEqual(written.scalars, [9, 2, 3])
    }

    func testSeededRandomness() {
        XCTAssertEqual(Tensor.uniform([5], seed: 3).scalars, Tensor.uniform([5], seed: 3).scalars)
        XCTAssertNotEqual(Tensor.uniform([5], seed: 3).scalars, Tensor.uniform([5], seed: 4).scalars)
        let u = Tensor.uniform([10000], low: -2, high: 2, seed: 5).scalars
        XCTAssertTrue(u.allSatisfy { $0 >= -2 && $0 < 2 })
        XCTAssertEqual(u.reduce(0, +) / 10000, 0, accuracy: 0.05)
        let n = Tensor.normal([20000], mean: 1, standardDeviation: 2, seed: 6).scalars
        let mean = n.reduce(0, +) / Float(n.count)
        let std = (n.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(n.count)).squareRoot()
        XCTAssertEqual(mean, 1, accuracy: 0.05)
        XCTAssertEqual(std, 2, accuracy: 0.05)
        XCTAssertTrue(Tensor.truncatedNormal([10000], standardDeviation: 0.5, seed: 7).scalars.allSatisfy { abs($0) <= 1 })
    }

    func testReshapeBroadcastReductionsAndArgmax() {
        let x = Tensor(shape: [2, 3], scalars: [1, 5, 2, 9, 0, 9])
        XCTAssertEqual(x.reshaped([-1]).shape, [6])
        XCTAssertEqual(x.reshaped([3, -1]).shape, [3, 2])
        XCTAssertEqual((x + Tensor([10, 20, 30])).scalars, [11, 25, 32, 19, 20, 39])
        XCTAssertEqual((Tensor(shape: [2, 1], scalars: [1, 2]) * Tensor([1, 10, 100])).scalars, [1, 10, 100, 2, 20, 200])
        XCTAssertEqual(x.argmax(alongAxis: 1), [1, 0], "ties go to the first maximum")
        XCTAssertEqual(x.argmax(alongAxis: 0), [1, 0, 1])
        XCTAssertEqual(x.transposed().scalars, [1, 9, 5, 0, 2, 9])
        XCTAssertEqual(x.sum(alongAxes: [0]).scalars, [10, 5, 11])
        XCTAssertEqual(x.sum(alongAxes: [1], keepDims: true).shape, [2, 1])
        XCTAssertEqual(x.max(alongAxes: [1]).scalars, [5, 9])
        XCTAssertEqual(x.mean().scalar, 26.0 / 6, accuracy: 1e-6)
        XCTAssertEqual(Tensor.concatenate([x, x], alongAxis: 1).scalars, [1, 5, 2, 1, 5, 2, 9, 0, 9, 9, 0, 9])
        XCTAssertEqual(x.expandingDims(at: -1).shape, [2, 3, 1])
        XCTAssertEqual(x.expandingDims(at: 0).squeezed().shape, [2, 3])
        XCTAssertEqual(x.gathering(batchIndices: [1, 1, 0]).scalars, [9, 0, 9, 9, 0, 9, 1, 5, 2])
        for row in x.softmax().sum(alongAxes: [1]).scalars { XCTAssertEqual(row, 1, accuracy: 1e-6) }
        let logSoftmax = x.logSoftmax().scalars, softmax = x.softmax().scalars
        for (l, s) in zip(logSoftmax, softmax) { XCTAssertEqual(exp(l), s, accuracy: 1e-6) }
    }

    func testInitializers() {
        let glorot = Initializer.glorotUniform.make(shape: [3, 3, 1, 32], seed: 1).scalars
        let limit = (6.0 / Float(9 + 288)).squareRoot()
        XCTAssertTrue(glorot.allSatisfy { abs($0) <= limit })
        XCTAssertGreaterThan(glorot.map(abs).max()!, 0.9 * limit)
        let he = Initializer.heNormal.make(shape: [3, 3, 16, 64], seed: 2).scalars
        let std = (he.map { $0 * $0 }.reduce(0, +) / Float(he.count)).squareRoot()
        XCTAssertEqual(std, (2.0 / 144).squareRoot(), accuracy: 0.01, "truncated normal rescaled to the target variance")
        XCTAssertTrue(he.allSatisfy { abs($0) <= 2 * (2.0 / 144).squareRoot() / 0.87962566 + 1e-6 })
        XCTAssertTrue(Initializer.heUniform.make(shape: [100, 10], seed: 3).scalars.allSatisfy { abs($0) <= (6.0 / 100).squareRoot() })
        XCTAssertEqual(Initializer.zeros.make(shape: [2], seed: 0).scalars, [0, 0])
        XCTAssertEqual(Initializer.constant(0.5).make(shape: [2], seed: 0).scalars, [0.5, 0.5])
        XCTAssertEqual(Initializer.glorotNormal.make(shape: [4, 4], seed: 9).scalars, Initializer.glorotNormal.make(shape: [4, 4], seed: 9).scalars)
    }

    func testRegularizersAndConstraints() {
        let w = Tensor([[3, -4], [0, 1]])
        XCTAssertEqual(Regularizer.l1(0.1).penalty(w).scalar, 0.8, accuracy: 1e-6)
        XCTAssertEqual(Regularizer.l2(0.1).penalty(w).scalar, 2.6, accuracy: 1e-6)
        XCTAssertEqual(Regularizer.l1l2(l1: 0.1, l2: 0.1).penalty(w).scalar, 3.4, accuracy: 1e-6)
        XCTAssertEqual(Constraint.nonNeg.apply(w).scalars, [3, 0, 0, 1])
        // Column norms over axis 0: 3 and sqrt(17); Keras scales by clip(n, 0, m) / (1e-7 + n).
        let n2 = Float(17).squareRoot()
        let expected: [Float] = [3 * 2 / (1e-7 + 3), -4 * 2 / (1e-7 + n2), 0, 1 * 2 / (1e-7 + n2)]
        for (a, b) in zip(Constraint.maxNorm(maxValue: 2, axes: [0]).apply(w).scalars, expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        for (a, b) in zip(Constraint.maxNorm(maxValue: 10, axes: [0]).apply(w).scalars, [3, -4, 0, 1] as [Float]) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        let unit = Constraint.unitNorm(axes: [1]).apply(w).scalars
        for (a, b) in zip(unit, [3 / (1e-7 + 5), -4 / (1e-7 + 5), 0, 1 / (1e-7 + 1)] as [Float]) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }
}
