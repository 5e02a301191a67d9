import XCTest
import Fovea

/// The gradient check every op and layer goes through: the tape's gradients of
/// `Σ f(inputs) ⊙ probe` (a fixed random `probe`, so every output element's pullback is exercised
/// with its own weight) against central finite differences.
///
/// The differences are taken in Double: the objective is summed in Double from `f`'s Float outputs,
/// and each step is the distance actually travelled (`fl(x + ε) − fl(x − ε)`, not `2ε`, which Float
/// rounding would make wrong by up to 1e-4 relative). For every input and variable the check asks for
/// a norm-wise relative error `‖analytic − numeric‖ / ‖numeric‖ ≤ tolerance` and, element by element,
/// `|analytic − numeric| ≤ tolerance · max(|numeric|, 0.1 · max|numeric|)`; a gradient that is zero
/// everywhere fails unless `allowZero` names it (a check that compares nothing is no check).
///
/// Inputs must keep a margin of more than `epsilon` from kinks (ReLU's 0, a pool's tie), or the
/// difference straddles the kink.
public func assertGradients(of f: ([Tensor]) throws -> Tensor, at inputs: [Tensor], variables: [Variable] = [],
                            epsilon: Float = 1e-2, tolerance: Double = 1e-3, allowZero: Set<String> = [],
                            probeSeed: UInt64 = 99, file: StaticString = #filePath, line: UInt = #line) throws {
    let output = try f(inputs)
    let probe = Tensor.uniform(output.shape, low: 0.5, high: 1.5, seed: probeSeed)
    let probeValues = probe.scalars.map(Double.init)
    func objective(_ xs: [Tensor]) throws -> Double {
        let y = try f(xs)
        precondition(y.shape == probe.shape, "f changed its output shape from \(probe.shape) to \(y.shape)")
        return zip(y.scalars, probeValues).reduce(0) { $0 + Double($1.0) * $1.1 }
    }
    let leaves = inputs.map { $0.requiringGradient() }
    let recorded = (try f(leaves) * probe).sum()
    let inputGradients = gradients(of: recorded, wrt: leaves)
    let variableGradients = gradients(of: (try f(inputs) * probe).sum(), wrt: variables)

    /// Central difference of the objective along element `i` of a tensor that `set` puts in place.
    func numeric(_ value: Tensor, _ set: (Tensor) throws -> Double) throws -> [Double] {
        try (0..<value.count).map { i in
            var up = value, down = value
            up.withUnsafeMutableBufferPointer { $0[i] += epsilon }
            down.withUnsafeMutableBufferPointer { $0[i] -= epsilon }
            let step = Double(up.scalars[i]) - Double(down.scalars[i])
            return (try set(up) - (try set(down))) / step
        }
    }
    func compare(_ label: String, analytic: Tensor, numeric n: [Double]) {
        XCTAssertEqual(analytic.count, n.count, "\(label): gradient has \(analytic.count) elements, expected \(n.count)", file: file, line: line)
        let a = analytic.scalars.map(Double.init)
        guard a.count == n.count else { return }
        let numericNorm = n.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let largest = n.map(Swift.abs).max() ?? 0
        if numericNorm == 0 && a.allSatisfy({ $0 == 0 }) {
            XCTAssertTrue(allowZero.contains(label), "\(label): analytic and numeric gradients are both zero; the check compares nothing (pass allowZero: [\"\(label)\"] if that is the point)", file: file, line: line)
            return
        }
        let errorNorm = zip(a, n).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        let relative = errorNorm / Swift.max(numericNorm, .leastNormalMagnitude)
        XCTAssertLessThanOrEqual(relative, tolerance, "\(label): relative error \(relative) (‖analytic − numeric‖ / ‖numeric‖)", file: file, line: line)
        for i in a.indices {
            let bound = tolerance * Swift.max(Swift.abs(n[i]), 0.1 * largest)
            if Swift.abs(a[i] - n[i]) > bound {
                XCTFail("\(label) element \(i): analytic \(a[i]), numeric \(n[i])", file: file, line: line)
                break
            }
        }
    }
    for (index, input) in inputs.enumerated() {
        let n = try numeric(input) { t in var xs = inputs; xs[index] = t; return try objective(xs) }
        compare("input \(index)", analytic: inputGradients[index], numeric: n)
    }
    for (v, g) in zip(variables, variableGradients) {
        let original = v.value
        defer { v.value = original }
        let n = try numeric(original) { t in v.value = t; return try objective(inputs) }
        compare(v.name, analytic: g, numeric: n)
    }
}

/// Values in ±[0.2, 1]: no element near zero (the kink of relu, abs, max).
public func awayFromZero(_ shape: [Int], seed: UInt64) -> Tensor {
    let magnitude = Tensor.uniform(shape, low: 0.2, high: 1, seed: seed)
    let sign = Tensor.uniform(shape, seed: seed &+ 1)
    return Tensor(shape: shape, scalars: zip(magnitude.scalars, sign.scalars).map { $1 < 0.5 ? -$0 : $0 })
}

/// Distinct values (a shuffled ramp 0.1 apart), so maxima and argmaxes are unique with margin.
public func distinct(_ shape: [Int], seed: UInt64) -> Tensor {
    var g = SeededGenerator(seed: seed)
    let n = shape.reduce(1, *)
    return Tensor(shape: shape, scalars: (0..<n).map { Float($0) * 0.1 - Float(n) * 0.05 }.shuffled(using: &g))
}
