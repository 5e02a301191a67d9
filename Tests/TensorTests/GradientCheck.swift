import XCTest
import Fovea

/// Compares the gradient graph's gradients of `f` with central finite differences, for every
/// element of every input. The scalar checked is `Σ f(inputs) ⊙ w` for a fixed random `w`, so every
/// output element's pullback is exercised with a different weight.
func checkGradients(_ inputs: [Tensor], epsilon: Float = 1e-2, tolerance: Float = 2e-2,
                    file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) -> Tensor) {
    let probe = f(inputs)
    let weights = Tensor.uniform(probe.shape, low: 0.5, high: 1.5, seed: 99)
    func objective(_ xs: [Tensor]) -> Tensor { (f(xs) * weights).sum() }
    let leaves = inputs.map { $0.requiringGradient() }
    let analytic = gradients(of: objective(leaves), wrt: leaves)
    for (index, input) in inputs.enumerated() {
        XCTAssertEqual(analytic[index].shape, input.shape, "gradient shape of input \(index)", file: file, line: line)
        for i in 0..<input.count {
            func value(_ delta: Float) -> Double {
                var xs = inputs
                xs[index].withUnsafeMutableBufferPointer { $0[i] += delta }
                return Double(objective(xs).scalar)
            }
            let numeric = Float((value(epsilon) - value(-epsilon)) / Double(2 * epsilon))
            let got = analytic[index].scalars[i]
            XCTAssertLessThanOrEqual(abs(numeric - got), tolerance * max(1, abs(numeric)),
                                     "input \(index) element \(i): analytic \(got), numeric \(numeric)", file: file, line: line)
        }
    }
}

/// Values in ±[0.2, 1], so no element sits near zero (the kink of relu, abs, max).
func awayFromZero(_ shape: [Int], seed: UInt64) -> Tensor {
    let magnitude = Tensor.uniform(shape, low: 0.2, high: 1, seed: seed)
    let sign = Tensor.uniform(shape, seed: seed &+ 1)
    return Tensor(shape: shape, scalars: zip(magnitude.scalars, sign.scalars).map { $1 < 0.5 ? -$0 : $0 })
}

/// Distinct values (a shuffled ramp), so maxima and argmaxes are unique with margin.
func distinct(_ shape: [Int], seed: UInt64) -> Tensor {
    var g = SeededGenerator(seed: seed)
    let n = shape.reduce(1, *)
    return Tensor(shape: shape, scalars: (0..<n).map { Float($0) * 0.1 - Float(n) * 0.05 }.shuffled(using: &g))
}
