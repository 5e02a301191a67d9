import Foundation
import XCTest
import Fovea
import FoveaTestSupport

/// The C activations: forward against plain formulas, gradient checks away from the kinks, the
/// derivative at each kink, and the same numbers on one thread or two.
final class ActivationOpsTests: XCTestCase {
    typealias Case = (name: String, op: (Tensor) -> Tensor, formula: (Double) -> Double)

    static let cases: [Case] = [
        ("relu", { $0.relu() }, { Swift.max($0, 0) }),
        ("relu6", { $0.relu6() }, { Swift.min(Swift.max($0, 0), 6) }),
        ("leaky_relu", { $0.leakyRelu() }, { $0 > 0 ? $0 : 0.2 * $0 }),
        ("relu(maxValue: 6)", { $0.relu(maxValue: 6) }, { Swift.min(Swift.max($0, 0), 6) }),
        ("relu(slope 0.5, max 4)", { $0.relu(negativeSlope: 0.5, maxValue: 4) }, { $0 > 0 ? Swift.min($0, 4) : 0.5 * $0 }),
        ("relu(threshold 1.5)", { $0.relu(threshold: 1.5) }, { $0 > 1.5 ? $0 : 0 }),
        ("relu(slope 0.1, max 4, threshold 1)", { $0.relu(negativeSlope: 0.1, maxValue: 4, threshold: 1) },
         { $0 > 1 ? Swift.min($0, 4) : 0.1 * ($0 - 1) }),
        ("relu(slope 0.1, max 6)", { $0.relu(negativeSlope: 0.1, maxValue: 6) }, { $0 > 0 ? Swift.min($0, 6) : 0.1 * $0 }),
        ("elu", { $0.elu() }, { $0 > 0 ? $0 : Foundation.exp($0) - 1 }),
        ("elu(0.5)", { $0.elu(alpha: 0.5) }, { $0 > 0 ? $0 : 0.5 * (Foundation.exp($0) - 1) }),
        ("selu", { $0.selu() }, { 1.0507009873554805 * ($0 > 0 ? $0 : 1.6732632423543772 * (Foundation.exp($0) - 1)) }),
        ("silu", { $0.silu() }, { $0 / (1 + Foundation.exp(-$0)) }),
        ("swish", { $0.swish() }, { $0 / (1 + Foundation.exp(-$0)) }),
        ("gelu", { $0.gelu() }, { 0.5 * $0 * erfc(-$0 / 2.0.squareRoot()) }),
        ("gelu(approximate)", { $0.gelu(approximate: true) },
         { 0.5 * $0 * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * ($0 + 0.044715 * $0 * $0 * $0))) }),
        ("hard_sigmoid", { $0.hardSigmoid() }, { Swift.min(Swift.max($0 + 3, 0), 6) / 6 }),
        ("hard_silu", { $0.hardSilu() }, { $0 * Swift.min(Swift.max($0 + 3, 0), 6) / 6 }),
        ("hard_swish", { $0.hardSwish() }, { $0 * Swift.min(Swift.max($0 + 3, 0), 6) / 6 }),
        ("softplus", { $0.softplus() }, { Foundation.log1p(Foundation.exp($0)) }),
        ("softsign", { $0.softsign() }, { $0 / (Swift.abs($0) + 1) }),
        ("exponential", { $0.exponential() }, { Foundation.exp($0) }),
    ]

    /// Values from −7 to 8 (odd 8-lane tails included), none within 0.02 of a kink.
    static let grid: Tensor = {
        let kinks: [Float] = [0, 1, 1.5, 3, -3, 4, 6]
        let values = stride(from: Float(-7), through: 8, by: 0.0731).filter { v in kinks.allSatisfy { Swift.abs(v - $0) > 0.02 } }
        return Tensor(values)
    }()

    func testForwardEqualsPlainFormulas() {
        let x = Self.grid
        for c in Self.cases {
            let y = c.op(x)
            for (xi, yi) in zip(x.scalars, y.scalars) {
                let expected = c.formula(Double(xi))
                // 1e-6 relative, plus an ulp of exp(x) where exp(x) − 1 is near 0, and the float
                // tanh form's own noise (two ulps of 1 times 0.5·|x|).
                let slack = 2e-7 + (c.name.hasPrefix("gelu(") ? Double(Swift.abs(xi)) * 0x1p-22 : 0)
                XCTAssertLessThanOrEqual(Swift.abs(Double(yi) - expected), 1e-6 * Swift.abs(expected) + slack, "\(c.name) at \(xi)")
            }
        }
    }

    func testGradientsAwayFromKinks() throws {
        // Every kink is at least 0.02 away, more than the 0.01 step.
        let x = Tensor(stride(from: Float(-6.93), through: 7.5, by: 0.37).map { $0 })
        for c in Self.cases {
            XCTAssertNoThrow(try assertGradients(of: { c.op($0[0]) }, at: [x]), c.name)
        }
    }

    /// The derivative TensorFlow gives at each kink, through Keras's compositions.
    func testDerivativesAtKinksFollowTensorFlow() {
        func derivative(_ op: (Tensor) -> Tensor, at points: [Float]) -> [Float] {
            valueWithGradient(at: Tensor(points)) { op($0).sum() }.gradient.scalars
        }
        XCTAssertEqual(derivative({ $0.relu() }, at: [0]), [0])
        XCTAssertEqual(derivative({ $0.relu6() }, at: [0, 6]), [0, 0])
        XCTAssertEqual(derivative({ $0.relu(maxValue: 6) }, at: [0, 6]), [0, 0])
        XCTAssertEqual(derivative({ $0.leakyRelu(negativeSlope: 0.3) }, at: [0]), [0.3])
        XCTAssertEqual(derivative({ $0.relu(negativeSlope: 0.3) }, at: [0]), [0.3])
        // A clip passes a tie: 1 at max_value, except relu6, which has its own gradient.
        XCTAssertEqual(derivative({ $0.relu(maxValue: 2.5) }, at: [0, 2.5]), [0, 1])
        XCTAssertEqual(derivative({ $0.relu(negativeSlope: 0.1, maxValue: 6) }, at: [0, 6]), [0, 0])
        XCTAssertEqual(derivative({ $0.relu(negativeSlope: 0.5, maxValue: 10) }, at: [0, 10]), [0, 1])
        XCTAssertEqual(derivative({ $0.relu(threshold: 1.5) }, at: [1.5]), [0])
        XCTAssertEqual(derivative({ $0.relu(negativeSlope: 0.1, maxValue: 4, threshold: 1) }, at: [1, 4]), [0, 1])
        XCTAssertEqual(derivative({ $0.elu(alpha: 0.5) }, at: [0]), [0.5])
        XCTAssertEqual(derivative({ $0.selu() }, at: [0]), [1.0507010])
        XCTAssertEqual(derivative({ $0.hardSigmoid() }, at: [-3, 3]), [0, 0])
        XCTAssertEqual(derivative({ $0.hardSilu() }, at: [-3, 3]), [0, 1])
        XCTAssertEqual(derivative({ $0.reshaped([1, 1]).prelu(alpha: Tensor([0.25])) }, at: [0]), [0])
    }

    func testPReLU() throws {
        // NHWC with alpha shared over the spatial axes, and a per-element alpha.
        let x = awayFromZero([2, 3, 4, 5], seed: 1)
        for alphaShape in [[1, 1, 5], [3, 4, 5], [3, 1, 5]] {
            let alpha = Tensor.uniform(alphaShape, low: -0.5, high: 0.8, seed: 2)
            let y = x.prelu(alpha: alpha)
            for b in 0..<2 { for i in 0..<3 { for j in 0..<4 { for c in 0..<5 {
                let a = alpha[alphaShape[0] == 1 ? 0 : i, alphaShape[1] == 1 ? 0 : j, c]
                XCTAssertEqual(y[b, i, j, c], x[b, i, j, c] > 0 ? x[b, i, j, c] : a * x[b, i, j, c])
            } } } }
            try assertGradients(of: { $0[0].prelu(alpha: $0[1]) }, at: [x, alpha])
        }
        let fixedAlpha = Tensor.uniform([3, 4, 5], low: 0.1, high: 0.3, seed: 3)
        try assertGradients(of: { $0[0].prelu(alpha: fixedAlpha) }, at: [x])
        try assertGradients(of: { x.prelu(alpha: $0[0]) }, at: [fixedAlpha])
    }

    func testOneThreadAndTwoAgree() {
        let x = Tensor.uniform([70_003], low: -8, high: 8, seed: 4)
        let saved = ThreadPool.threadCount
        defer { ThreadPool.threadCount = saved }
        func run() -> [[Float]] {
            Self.cases.flatMap { c -> [[Float]] in
                let (y, g) = valueWithGradient(at: x) { (c.op($0) * c.op($0)).sum() }
                return [y.scalars, g.scalars]
            }
        }
        ThreadPool.threadCount = 1
        let one = run()
        ThreadPool.threadCount = 2
        XCTAssertEqual(run(), one)
    }
}
