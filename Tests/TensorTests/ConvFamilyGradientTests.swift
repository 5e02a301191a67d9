import XCTest
import Fovea
import FoveaTestSupport

/// The strict gradient check for batch normalization and the depthwise, grouped and transposed
/// convolutions: every argument, several shapes, strides 1 and 2, `same`/`valid`, dilation, depth
/// multipliers 1 and 2, groups 2 and 4, odd sizes, batch 1 and 3.
final class ConvFamilyGradientTests: XCTestCase {
    static func window(_ h: Int, _ w: Int, _ kh: Int, _ kw: Int, stride: (Int, Int) = (1, 1), dilation: (Int, Int) = (1, 1),
                       _ padding: Padding) -> Window2D {
        Window2D(rows: WindowAxis(input: h, kernel: kh, stride: stride.0, dilation: dilation.0, padding: padding)!,
                 columns: WindowAxis(input: w, kernel: kw, stride: stride.1, dilation: dilation.1, padding: padding)!)
    }

    /// Runs `body`, then names the case if it added failures (Linux's XCTest has no activities).
    func named(_ label: String, _ body: () -> Void) {
        let before = testRun?.totalFailureCount ?? 0
        body()
        if (testRun?.totalFailureCount ?? 0) > before { XCTFail("the failures above are from \(label)") }
    }

    /// At most 12 rows per channel: moving one input moves every output of its channel, and each of
    /// those outputs' Float rounding adds noise to the finite difference (about √rows units in the
    /// last place over the step), whatever the implementation; at 60 rows that noise alone exceeds
    /// the check's tolerance. Larger batches are checked against a Double reference
    /// (ConvFamilyReferenceTests).
    func testBatchNormalizationTraining() {
        for (shape, seed) in [([3, 2, 2, 6], 1), ([1, 3, 3, 4], 2), ([2, 3, 5], 3), ([7, 4], 4), ([3, 1, 3, 17], 5)] as [([Int], UInt64)] {
            let channels = shape.last!
            let x = Tensor.uniform(shape, low: -2, high: 2, seed: seed)
            let gamma = awayFromZero([channels], seed: seed + 10), beta = awayFromZero([channels], seed: seed + 20)
            checkGradients([x, gamma, beta]) { Tensor.batchNormalizationTraining($0[0], gamma: $0[1], beta: $0[2], epsilon: 1e-3).output }
            checkGradients([x, gamma]) { Tensor.batchNormalizationTraining($0[0], gamma: $0[1], beta: nil, epsilon: 1e-3).output }
            checkGradients([x, beta]) { Tensor.batchNormalizationTraining($0[0], gamma: nil, beta: $0[1], epsilon: 1e-2).output }
            checkGradients([x]) { Tensor.batchNormalizationTraining($0[0], gamma: nil, beta: nil, epsilon: 1e-3).output }
        }
        // A channel far from zero with a small spread (statistics through cancellation-prone sums).
        let offset = Tensor.uniform([3, 2, 2, 5], low: 9, high: 11, seed: 6)
        checkGradients([offset, awayFromZero([5], seed: 7), awayFromZero([5], seed: 8)]) {
            Tensor.batchNormalizationTraining($0[0], gamma: $0[1], beta: $0[2], epsilon: 1e-3).output
        }
    }

    func testBatchNormalizationInference() {
        for (shape, seed) in [([3, 4, 5, 6], 11), ([1, 2, 3, 4], 12), ([5, 3], 13)] as [([Int], UInt64)] {
            let channels = shape.last!
            let x = Tensor.uniform(shape, low: -2, high: 2, seed: seed)
            let mean = Tensor.uniform([channels], low: -1, high: 1, seed: seed + 1)
            let variance = Tensor.uniform([channels], low: 0.2, high: 2, seed: seed + 2)
            let gamma = awayFromZero([channels], seed: seed + 3), beta = awayFromZero([channels], seed: seed + 4)
            checkGradients([x, gamma, beta]) {
                Tensor.batchNormalizationInference($0[0], mean: mean, variance: variance, gamma: $0[1], beta: $0[2], epsilon: 1e-3)
            }
            checkGradients([x]) { Tensor.batchNormalizationInference($0[0], mean: mean, variance: variance, gamma: nil, beta: nil, epsilon: 1e-3) }
            checkGradients([x, beta]) {
                Tensor.batchNormalizationInference($0[0], mean: mean, variance: variance, gamma: nil, beta: $0[1], epsilon: 1e-3)
            }
        }
    }

    func testDepthwiseConvolution() {
        // (batch, h, w, channels, multiplier, kh, kw, stride, dilation, padding)
        let cases: [(Int, Int, Int, Int, Int, Int, Int, (Int, Int), (Int, Int), Padding)] = [
            (3, 5, 6, 4, 1, 3, 3, (1, 1), (1, 1), .same),
            (1, 7, 6, 3, 2, 3, 3, (2, 2), (1, 1), .same),
            (3, 7, 7, 2, 2, 3, 3, (2, 2), (1, 1), .valid),
            (1, 7, 8, 5, 1, 3, 3, (1, 1), (2, 2), .valid),
            (2, 6, 7, 3, 1, 3, 3, (1, 1), (2, 1), .same),
            (1, 6, 9, 17, 1, 3, 3, (1, 1), (1, 1), .same),  // 16 + 1 channels: vector and one-by-one
            (1, 5, 6, 2, 1, 2, 3, (1, 2), (1, 1), .same),
            (1, 9, 10, 3, 1, 5, 5, (2, 2), (1, 1), .same),
        ]
        for (n, h, w, c, m, kh, kw, stride, dilation, padding) in cases {
            let win = Self.window(h, w, kh, kw, stride: stride, dilation: dilation, padding)
            let x = Tensor.uniform([n, h, w, c], low: -1, high: 1, seed: UInt64(h * 31 + w + c))
            let k = Tensor.uniform([kh, kw, c, m], low: -1, high: 1, seed: UInt64(kh * 7 + m))
            let b = Tensor.uniform([c * m], low: -1, high: 1, seed: 77)
            let label = "\(n)×\(h)×\(w)×\(c)·\(m) \(kh)×\(kw) s\(stride) d\(dilation) \(padding)"
            named(label) {
                checkGradients([x, k, b]) { Tensor.depthwiseConv2D($0[0], kernel: $0[1], bias: $0[2], window: win) }
                checkGradients([x, k]) { Tensor.depthwiseConv2D($0[0], kernel: $0[1], bias: nil, window: win) }
            }
        }
    }

    func testGroupedConvolution() {
        // (batch, h, w, channels, filters, groups, kernel, stride, dilation, padding)
        let cases: [(Int, Int, Int, Int, Int, Int, Int, Int, Int, Padding)] = [
            (3, 5, 6, 4, 6, 2, 3, 1, 1, .valid),
            (1, 7, 6, 8, 8, 4, 3, 2, 1, .same),
            (3, 6, 5, 4, 4, 2, 3, 2, 1, .valid),
            (1, 7, 7, 4, 8, 4, 3, 1, 2, .same),
            (3, 4, 5, 6, 4, 2, 1, 1, 1, .valid),   // 1×1: GEMMs on the input itself
            (1, 5, 5, 8, 4, 4, 1, 2, 1, .same),
        ]
        for (n, h, w, c, f, g, k, stride, dilation, padding) in cases {
            let win = Self.window(h, w, k, k, stride: (stride, stride), dilation: (dilation, dilation), padding)
            let x = Tensor.uniform([n, h, w, c], low: -1, high: 1, seed: UInt64(h * 13 + c))
            let kernel = Tensor.uniform([k, k, c / g, f], low: -1, high: 1, seed: UInt64(k + f))
            let b = Tensor.uniform([f], low: -1, high: 1, seed: 78)
            named("\(n)×\(h)×\(w)×\(c)→\(f) g\(g) \(k)×\(k) s\(stride) d\(dilation) \(padding)") {
                checkGradients([x, kernel, b]) { Tensor.groupedConv2D($0[0], kernel: $0[1], bias: $0[2], window: win, groups: g) }
                checkGradients([x, kernel]) { Tensor.groupedConv2D($0[0], kernel: $0[1], bias: nil, window: win, groups: g) }
            }
        }
    }

    func testTransposedConvolution() {
        // (batch, h, w, cin, filters, kh, kw, strides, padding, outputPadding, dilation)
        let cases: [(Int, Int, Int, Int, Int, Int, Int, (Int, Int), Padding, (Int, Int)?, (Int, Int))] = [
            (3, 3, 4, 2, 3, 3, 3, (2, 2), .same, nil, (1, 1)),
            (1, 3, 3, 3, 2, 3, 3, (2, 2), .same, (1, 0), (1, 1)),
            (3, 4, 3, 2, 2, 3, 3, (1, 1), .valid, nil, (1, 1)),
            (1, 3, 3, 2, 2, 4, 4, (2, 2), .valid, (1, 1), (1, 1)),
            (1, 4, 4, 3, 2, 3, 3, (1, 1), .valid, nil, (2, 2)),
            (3, 3, 4, 2, 2, 2, 3, (3, 1), .valid, nil, (1, 1)),
            (1, 4, 5, 3, 2, 2, 2, (2, 2), .same, nil, (1, 1)),
            (3, 3, 3, 4, 3, 1, 1, (1, 1), .valid, nil, (1, 1)),  // 1×1: a plain GEMM
            (1, 3, 4, 3, 2, 1, 1, (2, 2), .valid, nil, (1, 1)),
        ]
        for (n, h, w, cin, f, kh, kw, strides, padding, outputPadding, dilation) in cases {
            let x = Tensor.uniform([n, h, w, cin], low: -1, high: 1, seed: UInt64(h * 5 + w + cin))
            let k = Tensor.uniform([kh, kw, f, cin], low: -1, high: 1, seed: UInt64(kh * 3 + kw + f))
            let b = Tensor.uniform([f], low: -1, high: 1, seed: 79)
            named("\(n)×\(h)×\(w)×\(cin)→\(f) \(kh)×\(kw) s\(strides) \(padding) op\(String(describing: outputPadding)) d\(dilation)") {
                checkGradients([x, k, b]) {
                    Tensor.conv2DTranspose($0[0], kernel: $0[1], bias: $0[2], strides: strides, padding: padding,
                                           outputPadding: outputPadding, dilation: dilation)
                }
                checkGradients([x, k]) {
                    Tensor.conv2DTranspose($0[0], kernel: $0[1], bias: nil, strides: strides, padding: padding,
                                           outputPadding: outputPadding, dilation: dilation)
                }
            }
        }
    }
}
