import Foundation
import XCTest
import Fovea

/// Outputs and gradients of batch normalization and the depthwise, grouped and transposed
/// convolutions against numbers Keras 3 (TensorFlow backend) computed for the same inputs and
/// weights (scripts/make_conv_family_references.py; never run in CI). Gradients are of
/// `sum(output · probe)`.
final class ConvFamilyKerasTests: XCTestCase {
    struct Values: Decodable {
        let shape: [Int]
        let values: [Float]
        var tensor: Tensor { Tensor(shape: shape, scalars: values) }
    }

    struct Case: Decodable {
        struct Config: Decodable {
            let kernel_size: [Int]?, strides: [Int]?, dilation_rate: [Int]?, output_padding: [Int]?
            let padding: String?, depth_multiplier: Int?, groups: Int?, filters: Int?
            let epsilon: Double?, center: Bool?, scale: Bool?
        }
        let name: String, layer: String, config: Config
        let input: Values, weights: [String: Values], probe: Values, output: Values
        let input_gradient: Values, weight_gradients: [String: Values]
        let mean: Values?, variance: Values?
    }

    static func cases() throws -> [Case] {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
            .appendingPathComponent("keras_conv_family.json")
        struct File: Decodable { let cases: [Case] }
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    }

    /// |got − want| ≤ 1e-5 · max(1, |want|) element by element.
    func assertMatches(_ got: Tensor, _ want: Values, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.shape, want.shape, what, file: file, line: line)
        guard got.shape == want.shape else { return }
        let worst = zip(got.scalars, want.values).map { abs(Double($0) - Double($1)) / max(1, abs(Double($1))) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, 1e-5, "\(what): largest difference from Keras \(worst)", file: file, line: line)
    }

    func testEveryOpMatchesKeras() throws {
        let cases = try Self.cases()
        XCTAssertEqual(Set(cases.map(\.layer)), ["BatchNormalization", "DepthwiseConv2D", "Conv2D", "Conv2DTranspose"])
        for c in cases {
            let x = c.input.tensor.requiringGradient()
            let cfg = c.config
            // The op's trainable arguments, in the order their gradients are compared, by Keras name.
            var named: [(String, Tensor)] = []
            func weight(_ name: String) -> Tensor? {
                guard let w = c.weights[name] else { return nil }
                let t = w.tensor.requiringGradient()
                named.append((name, t))
                return t
            }
            let y: Tensor
            switch c.layer {
            case "BatchNormalization":
                let epsilon = Float(try XCTUnwrap(cfg.epsilon))
                let gamma = weight("gamma"), beta = weight("beta")
                if let mean = c.mean, let variance = c.variance {
                    let result = Tensor.batchNormalizationTraining(x, gamma: gamma, beta: beta, epsilon: epsilon)
                    assertMatches(result.mean, mean, "\(c.name) mean")
                    assertMatches(result.variance, variance, "\(c.name) variance")
                    y = result.output
                } else {
                    y = Tensor.batchNormalizationInference(x, mean: try XCTUnwrap(c.weights["moving_mean"]).tensor,
                                                           variance: try XCTUnwrap(c.weights["moving_variance"]).tensor,
                                                           gamma: gamma, beta: beta, epsilon: epsilon)
                }
            case "DepthwiseConv2D", "Conv2D":
                let k = try XCTUnwrap(weight("kernel")), b = weight("bias")
                let size = try XCTUnwrap(cfg.kernel_size), strides = try XCTUnwrap(cfg.strides)
                let dilation = try XCTUnwrap(cfg.dilation_rate), padding = try XCTUnwrap(Padding(rawValue: try XCTUnwrap(cfg.padding)))
                let window = Window2D(
                    rows: try XCTUnwrap(WindowAxis(input: x.shape[1], kernel: size[0], stride: strides[0], dilation: dilation[0], padding: padding)),
                    columns: try XCTUnwrap(WindowAxis(input: x.shape[2], kernel: size[1], stride: strides[1], dilation: dilation[1], padding: padding)))
                y = c.layer == "Conv2D"
                    ? Tensor.groupedConv2D(x, kernel: k, bias: b, window: window, groups: try XCTUnwrap(cfg.groups))
                    : Tensor.depthwiseConv2D(x, kernel: k, bias: b, window: window)
            case "Conv2DTranspose":
                let k = try XCTUnwrap(weight("kernel")), b = weight("bias")
                let size = try XCTUnwrap(cfg.kernel_size), strides = try XCTUnwrap(cfg.strides), dilation = try XCTUnwrap(cfg.dilation_rate)
                let padding = try XCTUnwrap(Padding(rawValue: try XCTUnwrap(cfg.padding)))
                for axis in 0..<2 {
                    XCTAssertEqual(try Tensor.conv2DTransposeOutputSize(input: x.shape[1 + axis], kernel: size[axis], stride: strides[axis],
                                                                        padding: padding, outputPadding: cfg.output_padding?[axis],
                                                                        dilation: dilation[axis]),
                                   c.output.shape[1 + axis], "\(c.name) output size, axis \(axis)")
                }
                y = Tensor.conv2DTranspose(x, kernel: k, bias: b, strides: (strides[0], strides[1]), padding: padding,
                                           outputPadding: cfg.output_padding.map { ($0[0], $0[1]) }, dilation: (dilation[0], dilation[1]))
            default:
                XCTFail("unknown layer \(c.layer)")
                continue
            }
            assertMatches(y, c.output, "\(c.name) output")
            let grads = gradients(of: (y * c.probe.tensor).sum(), wrt: [x] + named.map(\.1))
            assertMatches(grads[0], c.input_gradient, "\(c.name) input gradient")
            XCTAssertEqual(Set(named.map(\.0)), Set(c.weight_gradients.keys), c.name)
            for ((name, _), g) in zip(named, grads.dropFirst()) {
                assertMatches(g, try XCTUnwrap(c.weight_gradients[name]), "\(c.name) \(name) gradient")
            }
        }
    }
}
