import Foundation
import XCTest
import Fovea

/// Activations, merges, concatenation, padding, cropping and up-sampling against numbers Keras 3
/// (TensorFlow backend) computed: Tests/TensorTests/Fixtures/elementwise_references.json, made by
/// scripts/make_elementwise_references.py (never run in CI). Gradients are TensorFlow's of
/// `Σ output · upstream`, so they pin the conventions at kinks and ties.
final class KerasElementwiseReferenceTests: XCTestCase {
    /// Float32 values stored as base64 of their little-endian bytes.
    struct Floats: Decodable {
        let values: [Float]
        init(from decoder: Decoder) throws {
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let data = Data(base64Encoded: text), data.count % 4 == 0 else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not base64 float32 data"))
            }
            values = data.withUnsafeBytes { raw in
                (0..<data.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
            }
        }
    }

    struct Stored: Decodable {
        let shape: [Int]
        let values: Floats
        var tensor: Tensor { Tensor(shape: shape, scalars: values.values) }
    }

    struct ActivationCase: Decodable {
        struct Config: Decodable {
            let negative_slope: Float?
            let max_value: Float?
            let threshold: Float?
            let alpha: Float?
            let approximate: Bool?
        }
        let name: String
        let config: Config
        let note: String
        let x: Floats
        let y: Floats
        let dydx: Floats
    }

    struct PReLUCase: Decodable {
        let shared_axes: [Int]?
        let input: Stored
        let alpha: Stored
        let upstream: Floats
        let output: Stored
        let input_gradient: Floats
        let alpha_gradient: Floats
    }

    struct MergeCase: Decodable {
        let op: String
        let inputs: [Stored]
        let upstream: Floats
        let output: Stored
        let gradients: [Floats]
    }

    struct ConcatenateCase: Decodable {
        let axis: Int
        let inputs: [Stored]
        let upstream: Floats
        let output: Stored
        let gradients: [Floats]
    }

    struct SpatialCase: Decodable {
        struct Args: Decodable {
            let top, bottom, left, right: Int?
            let rows, columns: Int?
            let interpolation: String?
        }
        let op: String
        let args: Args
        let data_format: String
        let input: Stored
        let upstream: Floats
        let output: Stored
        let gradient: Floats
    }

    struct References: Decodable {
        let keras: String
        let activations: [ActivationCase]
        let prelu: [PReLUCase]
        let merges: [MergeCase]
        let concatenate: [ConcatenateCase]
        let spatial: [SpatialCase]
    }

    static let references: References = {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("elementwise_references.json")
        return try! JSONDecoder().decode(References.self, from: Data(contentsOf: url))
    }()

    /// The op's value and its gradients of `Σ f(inputs) · upstream`.
    func valueAndGradients(_ inputs: [Tensor], upstream: [Float], _ f: ([Tensor]) -> Tensor) -> (Tensor, [Tensor]) {
        let leaves = inputs.map { $0.requiringGradient() }
        let y = f(leaves)
        let objective = (y * Tensor(shape: y.shape, scalars: upstream)).sum()
        return (y.detached, gradients(of: objective, wrt: leaves))
    }

    /// Largest |a − b| / |b| over the elements (and where), values below Float's normal range
    /// counting as 0 (TensorFlow flushes subnormal results to zero).
    func worstRelative(_ a: [Float], _ b: [Float]) -> (Float, Int) {
        precondition(a.count == b.count, "comparing \(a.count) values with \(b.count)")
        var worst: Float = 0, at = -1
        for i in a.indices {
            let x = Swift.abs(a[i]) < .leastNormalMagnitude ? 0 : a[i], y = Swift.abs(b[i]) < .leastNormalMagnitude ? 0 : b[i]
            if x == y { continue }
            let r = Swift.abs(x - y) / Swift.max(Swift.abs(y), .leastNormalMagnitude)
            if r > worst { worst = r; at = i }
        }
        return (worst, at)
    }

    static func activation(_ c: ActivationCase) -> (Tensor) -> Tensor {
        let k = c.config
        switch c.name {
        case "relu":
            if k.negative_slope == nil && k.max_value == nil && k.threshold == nil { return { $0.relu() } }
            return { $0.relu(negativeSlope: k.negative_slope ?? 0, maxValue: k.max_value, threshold: k.threshold ?? 0) }
        case "relu6": return { $0.relu6() }
        case "leaky_relu": return { $0.leakyRelu(negativeSlope: k.negative_slope!) }
        case "elu": return { $0.elu(alpha: k.alpha!) }
        case "selu": return { $0.selu() }
        case "silu": return { $0.silu() }
        case "gelu": return { $0.gelu(approximate: k.approximate!) }
        case "hard_sigmoid": return { $0.hardSigmoid() }
        case "hard_silu": return { $0.hardSilu() }
        case "softplus": return { $0.softplus() }
        case "softsign": return { $0.softsign() }
        case "exponential": return { $0.exponential() }
        default: fatalError("no Fovea op for \(c.name)")
        }
    }

    /// Piecewise-linear (and rational) activations: the same float operations as TensorFlow's, so
    /// values and derivatives, kinks included, equal Keras's exactly.
    static let exactActivations: Set<String> = ["relu", "relu6", "leaky_relu", "hard_sigmoid", "hard_silu", "softsign"]

    /// The absolute error a formula's own rounding allows beside 1e-6 relative: `exp(x) − 1` (elu,
    /// selu) loses the relative accuracy of exp near 0, and TensorFlow's exp is not correctly rounded
    /// (16% of a grid over [−8, 8] differ by an ulp from the correctly rounded value, which libm
    /// gives), so an ulp of exp(x) times the coefficient may differ; `1 + tanh(u)` (gelu's tanh
    /// form) is noise below x ≈ −4 where TensorFlow's tanh rounds to −1, two ulps of 1 times 0.5·|x|.
    static func roundingSlack(_ c: ActivationCase, x: Float) -> Float {
        switch c.name {
        case "elu": return x < 0 ? c.config.alpha! * 0x1p-23 : 0
        case "selu": return x < 0 ? 1.7580993 * 0x1p-23 : 0
        case "gelu" where c.config.approximate == true: return 0.5 * Swift.abs(x) * 0x1p-22
        default: return 0
        }
    }

    /// The same for derivatives: gelu's tanh form differentiates to 0.5·(1 + t) + 0.5·x·(1 − t²)·u'
    /// with t = tanh(u), u' = √(2/π)·(1 + 3·0.044715·x²); in its tail four ulps of t on each term.
    static func derivativeSlack(_ c: ActivationCase, x: Float) -> Float {
        guard c.name == "gelu" && c.config.approximate == true else { return 4 * roundingSlack(c, x: x) }
        let du = 0.7978846 * (1 + 0.134145 * x * x)
        return 0x1p-21 * (0.5 + Swift.abs(x) * du)
    }

    /// TensorFlow flushes subnormal results to zero; compare those as 0.
    static func flushed(_ v: Float) -> Float { Swift.abs(v) < .leastNormalMagnitude ? 0 : v }

    func testActivationsMatchKeras() {
        let cases = Self.references.activations
        XCTAssertEqual(cases.count, 22)
        for c in cases {
            let label = "\(c.name) \(c.config) \(c.note)"
            let x = Tensor(c.x.values)
            let (y, grads) = valueAndGradients([x], upstream: [Float](repeating: 1, count: x.count)) { Self.activation(c)($0[0]) }
            let xs = c.x.values, ys = y.scalars, ds = grads[0].scalars
            if Self.exactActivations.contains(c.name) {
                XCTAssertEqual(ys, c.y.values, "\(label): values differ from Keras")
                XCTAssertEqual(ds, c.dydx.values, "\(label): derivatives differ from TensorFlow's")
                continue
            }
            for i in xs.indices {
                let slack = Self.roundingSlack(c, x: xs[i])
                let (a, b) = (Self.flushed(ys[i]), Self.flushed(c.y.values[i]))
                if Swift.abs(a - b) > 1e-6 * Swift.abs(b) + slack {
                    XCTFail("\(label): at x = \(xs[i]) the value is \(a), Keras's \(b)")
                    break
                }
            }
            // Derivatives: 1e-6 of max(|d|, 1). Where a derivative is a difference of two larger terms
            // (gelu's near x = −0.75) an ulp of each term is a larger relative error.
            for i in xs.indices {
                let slack = Self.derivativeSlack(c, x: xs[i])
                let (a, b) = (Self.flushed(ds[i]), Self.flushed(c.dydx.values[i]))
                if Swift.abs(a - b) > 1e-6 * Swift.max(Swift.abs(b), 1) + slack {
                    XCTFail("\(label): at x = \(xs[i]) the derivative is \(a), TensorFlow's \(b)")
                    break
                }
            }
        }
    }

    func testMergesMatchKeras() {
        let cases = Self.references.merges
        XCTAssertGreaterThanOrEqual(cases.count, 40)
        for c in cases {
            let label = "\(c.op) of \(c.inputs.map(\.shape))"
            let (y, grads) = valueAndGradients(c.inputs.map(\.tensor), upstream: c.upstream.values) { xs in
                switch c.op {
                case "add": return Tensor.add(xs)
                case "subtract": return Tensor.subtract(xs[0], xs[1])
                case "multiply": return Tensor.multiply(xs)
                case "average": return Tensor.average(xs)
                case "maximum": return Tensor.maximum(xs)
                case "minimum": return Tensor.minimum(xs)
                default: fatalError(c.op)
                }
            }
            XCTAssertEqual(y.shape, c.output.shape, label)
            XCTAssertEqual(y.scalars, c.output.values.values, "\(label): output differs from Keras")
            // Gradients too are TensorFlow's to the bit: the same products in the same order, the
            // winners of ties where its pairwise gradients send them; a broadcast input's gradient is
            // a sum, whose order may differ.
            let broadcast = c.inputs.contains { $0.shape != c.output.shape }
            for (k, (g, expected)) in zip(grads, c.gradients).enumerated() {
                if broadcast {
                    let (worst, _) = worstRelative(g.scalars, expected.values)
                    XCTAssertLessThanOrEqual(worst, 1e-6, "\(label): gradient of input \(k) differs from TensorFlow's by \(worst)")
                } else {
                    XCTAssertEqual(g.scalars, expected.values, "\(label): gradient of input \(k) differs from TensorFlow's")
                }
            }
        }
    }

    func testConcatenateMatchesKeras() {
        for c in Self.references.concatenate {
            let (y, grads) = valueAndGradients(c.inputs.map(\.tensor), upstream: c.upstream.values) { Tensor.concatenate($0, alongAxis: c.axis) }
            XCTAssertEqual(y.shape, c.output.shape)
            XCTAssertEqual(y.scalars, c.output.values.values, "concatenate along \(c.axis)")
            for (g, expected) in zip(grads, c.gradients) { XCTAssertEqual(g.scalars, expected.values, "concatenate gradient along \(c.axis)") }
        }
    }

    func testPaddingCroppingUpsamplingMatchKeras() {
        let cases = Self.references.spatial
        XCTAssertGreaterThanOrEqual(cases.count, 20)
        for c in cases {
            let a = c.args
            let axes: SpatialAxes = c.data_format == "channels_first" ? .channelsFirst : .channelsLast
            let label = "\(c.op) \(c.data_format) \(a)"
            let (y, grads) = valueAndGradients([c.input.tensor], upstream: c.upstream.values) { xs in
                switch c.op {
                case "zero_padding2d": return xs[0].zeroPadded(top: a.top!, bottom: a.bottom!, left: a.left!, right: a.right!, axes: axes)
                case "cropping2d": return xs[0].cropped(top: a.top!, bottom: a.bottom!, left: a.left!, right: a.right!, axes: axes)
                case "up_sampling2d":
                    return xs[0].upsampled(rows: a.rows!, columns: a.columns!, interpolation: UpsamplingInterpolation(rawValue: a.interpolation!)!, axes: axes)
                default: fatalError(c.op)
                }
            }
            XCTAssertEqual(y.shape, c.output.shape, label)
            XCTAssertEqual(y.scalars, c.output.values.values, "\(label): output differs from Keras")
            // Exact but for the order of sums (a nearest-neighbour block's gradient).
            let (worst, _) = worstRelative(grads[0].scalars, c.gradient.values)
            XCTAssertLessThanOrEqual(worst, 1e-6, "\(label): gradient differs from TensorFlow's by \(worst)")
        }
    }

    func testPReLUMatchesKeras() {
        for c in Self.references.prelu {
            let (y, grads) = valueAndGradients([c.input.tensor, c.alpha.tensor], upstream: c.upstream.values) { $0[0].prelu(alpha: $0[1]) }
            let label = "prelu of \(c.input.shape) shared along \(c.shared_axes ?? [])"
            XCTAssertEqual(y.scalars, c.output.values.values, label)
            XCTAssertEqual(grads[0].scalars, c.input_gradient.values, "\(label): input gradient (0 at the kink)")
            let (worst, _) = worstRelative(grads[1].scalars, c.alpha_gradient.values)
            XCTAssertLessThanOrEqual(worst, 1e-6, "\(label): alpha gradient differs from TensorFlow's by \(worst)")
        }
    }
}
