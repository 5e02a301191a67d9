import Foundation
import XCTest
import Fovea
import FoveaTestSupport

/// Forward values of batch normalization and the depthwise, grouped and transposed convolutions
/// against plain loops in Double, thread-count independence where the kernels promise it, batch-norm
/// folding, and the transposed convolution's output-size rule.
final class ConvFamilyReferenceTests: XCTestCase {
    typealias Window = ConvFamilyGradientTests

    /// Largest |got − want| / max(1, |want|).
    func assertClose(_ got: [Float], _ want: [Double], _ tolerance: Double = 1e-5, _ what: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, what, file: file, line: line)
        guard got.count == want.count else { return }
        let worst = zip(got, want).map { abs(Double($0) - $1) / max(1, abs($1)) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, tolerance, "\(what): largest difference \(worst)", file: file, line: line)
    }

    /// Runs `body` with the pool at `threads` threads, restoring the previous count.
    func withThreads<R>(_ threads: Int, _ body: () -> R) -> R {
        let saved = ThreadPool.threadCount
        ThreadPool.threadCount = threads
        defer { ThreadPool.threadCount = saved }
        return body()
    }

    // MARK: Batch normalization

    func testBatchNormalizationMatchesPlainLoops() {
        for (shape, low, high) in [([3, 4, 5, 6], -2.0, 2.0), ([700, 3], 100.0, 100.5), ([2, 9, 9, 300], -1.0, 3.0), ([1, 1, 1, 5], -1, 1)]
            as [([Int], Float, Float)] {
            let c = shape.last!, rows = shape.reduce(1, *) / c
            let x = Tensor.uniform(shape, low: low, high: high, seed: 3)
            let gamma = Tensor.uniform([c], low: -1, high: 1, seed: 4), beta = Tensor.uniform([c], low: -1, high: 1, seed: 5)
            let (y, mean, variance) = Tensor.batchNormalizationTraining(x, gamma: gamma, beta: beta, epsilon: 1e-3)
            let xs = x.scalars.map(Double.init), gs = gamma.scalars, bs = beta.scalars
            var m = [Double](repeating: 0, count: c), v = [Double](repeating: 0, count: c)
            for i in xs.indices { m[i % c] += xs[i] }
            m = m.map { $0 / Double(rows) }
            for i in xs.indices { v[i % c] += (xs[i] - m[i % c]) * (xs[i] - m[i % c]) }
            v = v.map { $0 / Double(rows) }
            assertClose(mean.scalars, m, 1e-6, "mean \(shape)")
            assertClose(variance.scalars, v, 1e-5, "variance \(shape)")
            let expected = xs.indices.map { i in (xs[i] - m[i % c]) / (v[i % c] + 1e-3).squareRoot() * Double(gs[i % c]) + Double(bs[i % c]) }
            // Inputs at 100 ± 0.25: Float x itself carries 4e-6 of error relative to the spread.
            assertClose(y.scalars, expected, low == 100 ? 2e-4 : 1e-5, "output \(shape)")

            let movingMean = Tensor.uniform([c], low: -1, high: 1, seed: 6), movingVariance = Tensor.uniform([c], low: 0.1, high: 2, seed: 7)
            let inference = Tensor.batchNormalizationInference(x, mean: movingMean, variance: movingVariance, gamma: gamma, beta: beta, epsilon: 1e-3)
            let mm = movingMean.scalars.map(Double.init), mv = movingVariance.scalars.map(Double.init)
            assertClose(inference.scalars, xs.indices.map { i in
                (xs[i] - mm[i % c]) / (mv[i % c] + 1e-3).squareRoot() * Double(gs[i % c]) + Double(bs[i % c])
            }, low == 100 ? 1e-4 : 1e-5, "inference \(shape)")
        }
    }

    /// Gradients of a batch normalization over many rows (several reduction blocks) against central
    /// differences of a Double implementation written out here: some input elements, all of gamma
    /// and beta.
    func testBatchNormalizationGradientsMatchDoubleDifferences() {
        let shape = [4, 30, 30, 40], c = 40, rows = 3600
        let x = Tensor.uniform(shape, low: -1, high: 3, seed: 50)
        let gamma = Tensor.uniform([c], low: -2, high: 2, seed: 51), beta = Tensor.uniform([c], seed: 52)
        let probe = Tensor.uniform(shape, low: 0.5, high: 1.5, seed: 53)
        let leaves = [x, gamma, beta].map { $0.requiringGradient() }
        let y = Tensor.batchNormalizationTraining(leaves[0], gamma: leaves[1], beta: leaves[2], epsilon: 1e-3).output
        let analytic = gradients(of: (y * probe).sum(), wrt: leaves).map(\.scalars)

        let xs = x.scalars.map(Double.init), ps = probe.scalars.map(Double.init)
        let gs = gamma.scalars.map(Double.init), bs = beta.scalars.map(Double.init)
        /// Σ probe · BN(x) over channel `ch`, in Double.
        func objective(_ ch: Int, _ xs: [Double], _ g: Double, _ b: Double) -> Double {
            var mean = 0.0, variance = 0.0, total = 0.0
            for r in 0..<rows { mean += xs[r * c + ch] }
            mean /= Double(rows)
            for r in 0..<rows { variance += (xs[r * c + ch] - mean) * (xs[r * c + ch] - mean) }
            variance /= Double(rows)
            let inv = 1 / (variance + 1e-3).squareRoot()
            for r in 0..<rows { total += ps[r * c + ch] * ((xs[r * c + ch] - mean) * inv * g + b) }
            return total
        }
        let h = 1e-4
        var numericX: [Double] = [], analyticX: [Float] = []
        for i in Swift.stride(from: 7, to: xs.count, by: 7919) {
            var up = xs, down = xs
            up[i] += h; down[i] -= h
            let ch = i % c
            numericX.append((objective(ch, up, gs[ch], bs[ch]) - objective(ch, down, gs[ch], bs[ch])) / (2 * h))
            analyticX.append(analytic[0][i])
        }
        let numericGamma = (0..<c).map { (objective($0, xs, gs[$0] + h, bs[$0]) - objective($0, xs, gs[$0] - h, bs[$0])) / (2 * h) }
        let numericBeta = (0..<c).map { (objective($0, xs, gs[$0], bs[$0] + h) - objective($0, xs, gs[$0], bs[$0] - h)) / (2 * h) }
        XCTAssertGreaterThan(numericX.count, 15)
        assertClose(analyticX, numericX, 1e-5, "input gradient")
        assertClose(analytic[1], numericGamma, 1e-5, "gamma gradient")
        assertClose(analytic[2], numericBeta, 1e-5, "beta gradient")
    }

    /// The statistics and gradients are reduced in blocks fixed by the shape: one thread or two,
    /// the same bits.
    func testBatchNormalizationIsThreadCountIndependent() {
        let x = Tensor.uniform([4, 30, 30, 40], low: -1, high: 2, seed: 8)
        let gamma = Tensor.uniform([40], low: 0.5, high: 1.5, seed: 9), beta = Tensor.uniform([40], seed: 10)
        let probe = Tensor.uniform(x.shape, low: -1, high: 1, seed: 11)
        func run() -> [[Float]] {
            let leaves = [x, gamma, beta].map { $0.requiringGradient() }
            let (y, mean, variance) = Tensor.batchNormalizationTraining(leaves[0], gamma: leaves[1], beta: leaves[2], epsilon: 1e-3)
            let inference = Tensor.batchNormalizationInference(leaves[0], mean: mean, variance: variance, gamma: leaves[1],
                                                               beta: leaves[2], epsilon: 1e-3)
            let g = gradients(of: (y * probe).sum() + (inference * probe).sum(), wrt: leaves)
            return [y.scalars, mean.scalars, variance.scalars, inference.scalars] + g.map(\.scalars)
        }
        let one = withThreads(1, run), two = withThreads(2, run)
        XCTAssertEqual(one, two)
    }

    func testBatchNormalizationStatisticsAreDetachedAndEmptyBatchesAreZero() {
        let x = Tensor.uniform([3, 4], seed: 12).requiringGradient()
        let (_, mean, variance) = Tensor.batchNormalizationTraining(x, gamma: nil, beta: nil, epsilon: 1e-3)
        XCTAssertFalse(mean.requiresGradient)
        XCTAssertFalse(variance.requiresGradient)
        let empty = Tensor.batchNormalizationTraining(Tensor.zeros([0, 5]), gamma: nil, beta: nil, epsilon: 1e-3)
        XCTAssertEqual(empty.output.shape, [0, 5])
        XCTAssertEqual(empty.mean.scalars, [0, 0, 0, 0, 0])
        XCTAssertEqual(empty.variance.scalars, [0, 0, 0, 0, 0])
    }

    /// conv(x, k′) + b′ equals BN(conv(x, k) + b), for a convolution, a grouped convolution, a
    /// depthwise convolution with multiplier 2 and a convolution without bias.
    func testFoldingBatchNormIntoTheConvolutionBefore() {
        let x = Tensor.uniform([2, 7, 6, 4], low: -1, high: 1, seed: 13)
        let win = Window.window(7, 6, 3, 3, stride: (2, 1), .same)
        typealias Conv = (Tensor, Tensor, Tensor?) -> Tensor
        let convolutions: [(String, [Int], Conv)] = [
            ("conv2D", [3, 3, 4, 6], { Tensor.conv2D($0, kernel: $1, bias: $2, window: win) }),
            ("grouped", [3, 3, 2, 6], { Tensor.groupedConv2D($0, kernel: $1, bias: $2, window: win, groups: 2) }),
            ("depthwise", [3, 3, 4, 2], { Tensor.depthwiseConv2D($0, kernel: $1, bias: $2, window: win) }),
        ]
        for (name, kernelShape, conv) in convolutions {
            let channels = name == "depthwise" ? 8 : 6
            let k = Tensor.uniform(kernelShape, low: -1, high: 1, seed: 14)
            let mean = Tensor.uniform([channels], low: -1, high: 1, seed: 15)
            let variance = Tensor.uniform([channels], low: 0.1, high: 2, seed: 16)
            let gamma = Tensor.uniform([channels], low: -2, high: 2, seed: 17), beta = Tensor.uniform([channels], seed: 18)
            for bias in [Tensor.uniform([channels], low: -1, high: 1, seed: 19), nil] {
                let expected = Tensor.batchNormalizationInference(conv(x, k, bias), mean: mean, variance: variance,
                                                                  gamma: gamma, beta: beta, epsilon: 1e-3)
                let folded = Tensor.foldingBatchNorm(kernel: k, bias: bias, mean: mean, variance: variance,
                                                     gamma: gamma, beta: beta, epsilon: 1e-3)
                XCTAssertEqual(folded.kernel.shape, k.shape)
                XCTAssertEqual(folded.bias.shape, [channels])
                assertClose(conv(x, folded.kernel, folded.bias).scalars, expected.scalars.map(Double.init), 1e-5,
                            "\(name), bias \(bias != nil)")
            }
            // gamma and beta absent (scale=False, center=False).
            let expected = Tensor.batchNormalizationInference(conv(x, k, nil), mean: mean, variance: variance, gamma: nil, beta: nil, epsilon: 1e-3)
            let folded = Tensor.foldingBatchNorm(kernel: k, bias: nil, mean: mean, variance: variance, gamma: nil, beta: nil, epsilon: 1e-3)
            assertClose(conv(x, folded.kernel, folded.bias).scalars, expected.scalars.map(Double.init), 1e-5, "\(name) without gamma, beta")
        }
    }

    // MARK: Depthwise convolution

    /// output[b][oy][ox][c·M + m] = bias + Σ x · kernel, in Double.
    func naiveDepthwise(_ x: Tensor, _ k: Tensor, _ b: Tensor?, _ win: Window2D) -> [Double] {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (kh, kw, m) = (k.shape[0], k.shape[1], k.shape[3])
        let (oh, ow) = (win.rows.output, win.columns.output)
        var out = [Double](repeating: 0, count: n * oh * ow * c * m)
        for bi in 0..<n { for oy in 0..<oh { for ox in 0..<ow { for ci in 0..<c { for mi in 0..<m {
            var s = b.map { Double($0[ci * m + mi]) } ?? 0
            for ky in 0..<kh { for kx in 0..<kw {
                let iy = oy * win.rows.stride - win.rows.padBefore + ky * win.rows.dilation
                let ix = ox * win.columns.stride - win.columns.padBefore + kx * win.columns.dilation
                if iy >= 0 && iy < h && ix >= 0 && ix < w { s += Double(x[bi, iy, ix, ci]) * Double(k[ky, kx, ci, mi]) }
            } }
            out[(((bi * oh + oy) * ow + ox) * c + ci) * m + mi] = s
        } } } } }
        return out
    }

    func testDepthwiseMatchesPlainLoops() {
        // (batch, h, w, channels, multiplier, kh, kw, stride, dilation, padding): interior runs of 4
        // pixels and their leftovers, borders, 16- and 8-lane vectors and single channels.
        let cases: [(Int, Int, Int, Int, Int, Int, Int, (Int, Int), (Int, Int), Padding)] = [
            (2, 11, 13, 32, 1, 3, 3, (1, 1), (1, 1), .same),
            (1, 12, 12, 25, 1, 3, 3, (2, 2), (1, 1), .same),
            (3, 9, 10, 3, 2, 3, 3, (2, 1), (1, 1), .valid),
            (1, 14, 15, 40, 1, 3, 3, (1, 1), (2, 3), .same),
            (2, 8, 9, 7, 3, 5, 5, (2, 2), (1, 1), .same),
            (1, 6, 20, 9, 1, 1, 4, (1, 3), (1, 1), .valid),
            (1, 3, 3, 16, 1, 3, 3, (1, 1), (1, 1), .valid),
        ]
        for (n, h, w, c, m, kh, kw, stride, dilation, padding) in cases {
            let win = Window.window(h, w, kh, kw, stride: stride, dilation: dilation, padding)
            let x = Tensor.uniform([n, h, w, c], low: -1, high: 1, seed: UInt64(20 + c))
            let k = Tensor.uniform([kh, kw, c, m], low: -1, high: 1, seed: UInt64(21 + m))
            let b = Tensor.uniform([c * m], low: -1, high: 1, seed: 22)
            let label = "\(n)×\(h)×\(w)×\(c)·\(m) \(kh)×\(kw) s\(stride) d\(dilation) \(padding)"
            assertClose(Tensor.depthwiseConv2D(x, kernel: k, bias: b, window: win).scalars, naiveDepthwise(x, k, b, win), 1e-5, label)
            assertClose(Tensor.depthwiseConv2D(x, kernel: k, bias: nil, window: win).scalars, naiveDepthwise(x, k, nil, win), 1e-5,
                        label + " no bias")
        }
    }

    /// Forward, input, kernel and bias gradients of a depthwise convolution: one thread or two, the
    /// same bits (batch 1 splits one image's rows; the kernel gradient's reduction blocks are fixed by
    /// the shape).
    func testDepthwiseIsThreadCountIndependent() {
        for (n, h, w, c, m, stride) in [(1, 24, 24, 32, 1, 1), (3, 15, 14, 37, 1, 2), (2, 10, 10, 144, 1, 1), (2, 9, 9, 5, 2, 2)] {
            let win = Window.window(h, w, 3, 3, stride: (stride, stride), .same)
            let x = Tensor.uniform([n, h, w, c], low: -1, high: 1, seed: 23)
            let k = Tensor.uniform([3, 3, c, m], low: -1, high: 1, seed: 24), b = Tensor.uniform([c * m], seed: 25)
            let probe = Tensor.uniform([n, win.rows.output, win.columns.output, c * m], low: -1, high: 1, seed: 26)
            func run() -> [[Float]] {
                let leaves = [x, k, b].map { $0.requiringGradient() }
                let y = Tensor.depthwiseConv2D(leaves[0], kernel: leaves[1], bias: leaves[2], window: win)
                return [y.scalars] + gradients(of: (y * probe).sum(), wrt: leaves).map(\.scalars)
            }
            let one = withThreads(1, run), two = withThreads(2, run)
            XCTAssertEqual(one, two, "\(n)×\(h)×\(w)×\(c)·\(m) stride \(stride)")
        }
    }

    // MARK: Grouped convolution

    func naiveGrouped(_ x: Tensor, _ k: Tensor, _ b: Tensor?, _ win: Window2D, groups: Int) -> [Double] {
        let (n, h, w) = (x.shape[0], x.shape[1], x.shape[2])
        let (kh, kw, cg, f) = (k.shape[0], k.shape[1], k.shape[2], k.shape[3])
        let (oh, ow, fg) = (win.rows.output, win.columns.output, f / groups)
        var out = [Double](repeating: 0, count: n * oh * ow * f)
        for bi in 0..<n { for oy in 0..<oh { for ox in 0..<ow { for fi in 0..<f {
            let group = fi / fg
            var s = b.map { Double($0[fi]) } ?? 0
            for ky in 0..<kh { for kx in 0..<kw { for ci in 0..<cg {
                let iy = oy * win.rows.stride - win.rows.padBefore + ky * win.rows.dilation
                let ix = ox * win.columns.stride - win.columns.padBefore + kx * win.columns.dilation
                if iy >= 0 && iy < h && ix >= 0 && ix < w { s += Double(x[bi, iy, ix, group * cg + ci]) * Double(k[ky, kx, ci, fi]) }
            } } }
            out[((bi * oh + oy) * ow + ox) * f + fi] = s
        } } } }
        return out
    }

    func testGroupedMatchesPlainLoopsAndConv2DForOneGroup() {
        let cases: [(Int, Int, Int, Int, Int, Int, Int, Int, Int, Padding)] = [
            (3, 9, 8, 8, 12, 2, 3, 1, 1, .same),
            (1, 9, 9, 8, 8, 4, 3, 2, 1, .valid),
            (2, 7, 7, 12, 8, 4, 3, 1, 2, .same),
            (3, 6, 5, 6, 9, 3, 1, 1, 1, .valid),
            (2, 40, 40, 16, 8, 2, 3, 1, 1, .same),  // several column blocks per call
        ]
        for (n, h, w, c, f, g, k, stride, dilation, padding) in cases {
            let win = Window.window(h, w, k, k, stride: (stride, stride), dilation: (dilation, dilation), padding)
            let x = Tensor.uniform([n, h, w, c], low: -1, high: 1, seed: 30)
            let kernel = Tensor.uniform([k, k, c / g, f], low: -1, high: 1, seed: 31), b = Tensor.uniform([f], low: -1, high: 1, seed: 32)
            let label = "\(n)×\(h)×\(w)×\(c)→\(f) g\(g) \(k)×\(k) s\(stride) d\(dilation) \(padding)"
            let expected = naiveGrouped(x, kernel, b, win, groups: g)
            assertClose(Tensor.groupedConv2D(x, kernel: kernel, bias: b, window: win, groups: g).scalars, expected, 1e-5, label)
            assertClose(Tensor.groupedConv2D(x, kernel: kernel, bias: b, window: win, groups: g, relu: true).scalars,
                        expected.map { max($0, 0) }, 1e-5, label + " relu")
        }
        // groups == 1 is conv2D itself, bit for bit.
        let win = Window.window(8, 8, 3, 3, .same)
        let x = Tensor.uniform([2, 8, 8, 16], seed: 33), kernel = Tensor.uniform([3, 3, 16, 16], seed: 34)
        XCTAssertEqual(Tensor.groupedConv2D(x, kernel: kernel, bias: nil, window: win, groups: 1).scalars,
                       Tensor.conv2D(x, kernel: kernel, bias: nil, window: win).scalars)
    }

    /// Blocked, threaded gradients of a grouped convolution against the same op at batch 1 image by
    /// image (a different split of the same sums).
    func testGroupedGradientsOverBlocksAndChunks() {
        let n = 5, h = 40, w = 40, c = 16, f = 8, g = 4
        let win = Window.window(h, w, 3, 3, .same)
        let x = Tensor.uniform([n, h, w, c], low: -1, high: 1, seed: 35)
        let kernel = Tensor.uniform([3, 3, c / g, f], low: -1, high: 1, seed: 36), b = Tensor.uniform([f], seed: 37)
        let probe = Tensor.uniform([n, h, w, f], low: -1, high: 1, seed: 38)
        let leaves = [x, kernel, b].map { $0.requiringGradient() }
        let y = Tensor.groupedConv2D(leaves[0], kernel: leaves[1], bias: leaves[2], window: win, groups: g)
        let whole = gradients(of: (y * probe).sum(), wrt: leaves)
        var dk = [Double](repeating: 0, count: kernel.count), db = [Double](repeating: 0, count: f), dx: [Float] = []
        for i in 0..<n {
            let parts = [x.slice(batch: i..<(i + 1)).detached, kernel, b].map { $0.requiringGradient() }
            let yi = Tensor.groupedConv2D(parts[0], kernel: parts[1], bias: parts[2], window: win, groups: g)
            let gi = gradients(of: (yi * probe.slice(batch: i..<(i + 1))).sum(), wrt: parts)
            dx += gi[0].scalars
            for (j, v) in gi[1].scalars.enumerated() { dk[j] += Double(v) }
            for (j, v) in gi[2].scalars.enumerated() { db[j] += Double(v) }
        }
        assertClose(whole[0].scalars, dx.map(Double.init), 1e-5, "input gradient")
        assertClose(whole[1].scalars, dk, 1e-4, "kernel gradient")
        assertClose(whole[2].scalars, db, 1e-4, "bias gradient")
    }

    // MARK: Transposed convolution

    /// Scatters every input pixel through the kernel: out[b][iy·s − pad + ky·d][ix·s − pad + kx·d][f]
    /// += Σ_ci x[b][iy][ix][ci] · kernel[ky][kx][f][ci], with TensorFlow's padding for the output size.
    func naiveTranspose(_ x: Tensor, _ k: Tensor, _ b: Tensor?, strides: (Int, Int), padding: Padding,
                        dilation: (Int, Int), outH: Int, outW: Int) -> [Double] {
        let (n, ih, iw, cin) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (kh, kw, f) = (k.shape[0], k.shape[1], k.shape[2])
        func padBefore(_ input: Int, _ output: Int, _ kernel: Int, _ stride: Int, _ dilation: Int) -> Int {
            guard padding == .same else { return 0 }
            return max((input - 1) * stride + (kernel - 1) * dilation + 1 - output, 0) / 2
        }
        let pt = padBefore(ih, outH, kh, strides.0, dilation.0), pl = padBefore(iw, outW, kw, strides.1, dilation.1)
        var out = [Double](repeating: 0, count: n * outH * outW * f)
        for i in out.indices { out[i] = b.map { Double($0[i % f]) } ?? 0 }
        for bi in 0..<n { for iy in 0..<ih { for ix in 0..<iw { for ky in 0..<kh { for kx in 0..<kw {
            let oy = iy * strides.0 - pt + ky * dilation.0, ox = ix * strides.1 - pl + kx * dilation.1
            guard oy >= 0 && oy < outH && ox >= 0 && ox < outW else { continue }
            for fi in 0..<f { for ci in 0..<cin {
                out[((bi * outH + oy) * outW + ox) * f + fi] += Double(x[bi, iy, ix, ci]) * Double(k[ky, kx, fi, ci])
            } }
        } } } } }
        return out
    }

    func testTransposedMatchesPlainLoops() throws {
        let cases: [(Int, Int, Int, Int, Int, Int, Int, (Int, Int), Padding, (Int, Int)?, (Int, Int))] = [
            (2, 5, 4, 3, 4, 3, 3, (2, 2), .same, nil, (1, 1)),
            (1, 4, 5, 2, 3, 3, 3, (2, 2), .same, (0, 1), (1, 1)),
            (3, 4, 4, 3, 2, 4, 4, (2, 2), .valid, (1, 0), (1, 1)),
            (1, 5, 4, 2, 3, 3, 2, (1, 1), .same, nil, (2, 2)),
            (2, 3, 5, 2, 2, 2, 3, (3, 2), .valid, nil, (1, 1)),
            (2, 3, 3, 4, 5, 1, 1, (1, 1), .same, nil, (1, 1)),
            (1, 3, 3, 2, 2, 1, 1, (3, 3), .valid, (2, 1), (1, 1)),
            (2, 20, 20, 16, 8, 3, 3, (2, 2), .same, nil, (1, 1)),  // several column blocks
        ]
        for (n, h, w, cin, f, kh, kw, strides, padding, outputPadding, dilation) in cases {
            let x = Tensor.uniform([n, h, w, cin], low: -1, high: 1, seed: 40)
            let k = Tensor.uniform([kh, kw, f, cin], low: -1, high: 1, seed: 41), b = Tensor.uniform([f], low: -1, high: 1, seed: 42)
            let outH = try Tensor.conv2DTransposeOutputSize(input: h, kernel: kh, stride: strides.0, padding: padding,
                                                            outputPadding: outputPadding?.0, dilation: dilation.0)
            let outW = try Tensor.conv2DTransposeOutputSize(input: w, kernel: kw, stride: strides.1, padding: padding,
                                                            outputPadding: outputPadding?.1, dilation: dilation.1)
            let label = "\(n)×\(h)×\(w)×\(cin)→\(f) \(kh)×\(kw) s\(strides) \(padding) op\(String(describing: outputPadding)) d\(dilation)"
            let y = Tensor.conv2DTranspose(x, kernel: k, bias: b, strides: strides, padding: padding, outputPadding: outputPadding, dilation: dilation)
            XCTAssertEqual(y.shape, [n, outH, outW, f], label)
            assertClose(y.scalars, naiveTranspose(x, k, b, strides: strides, padding: padding, dilation: dilation, outH: outH, outW: outW),
                        1e-5, label)
        }
    }

    /// Keras's rule (backend_utils `_get_output_shape_given_tf_padding`) and what it rejects.
    func testTransposedOutputSize() throws {
        func size(_ input: Int, _ kernel: Int, _ stride: Int, _ padding: Padding, _ outputPadding: Int?, _ dilation: Int = 1) throws -> Int {
            try Tensor.conv2DTransposeOutputSize(input: input, kernel: kernel, stride: stride, padding: padding,
                                                 outputPadding: outputPadding, dilation: dilation)
        }
        XCTAssertEqual(try size(4, 3, 2, .same, nil), 8)
        XCTAssertEqual(try size(4, 3, 2, .same, 0), 7)
        XCTAssertEqual(try size(4, 3, 2, .same, 1), 8)
        XCTAssertEqual(try size(4, 4, 2, .same, 1), 7)
        XCTAssertEqual(try size(4, 3, 2, .valid, nil), 9)
        XCTAssertEqual(try size(4, 3, 2, .valid, 1), 10)
        XCTAssertEqual(try size(4, 1, 3, .valid, nil), 12)   // max(k, s) − k = 2 of output padding
        XCTAssertEqual(try size(5, 3, 1, .valid, nil, 2), 9)
        XCTAssertEqual(try size(5, 3, 1, .same, nil, 2), 5)
        XCTAssertThrowsError(try size(4, 3, 2, .same, 2))     // output padding not below the stride
        XCTAssertThrowsError(try size(4, 3, 1, .valid, 1))
        XCTAssertThrowsError(try size(4, 3, 2, .valid, -1))
        XCTAssertThrowsError(try size(4, 2, 2, .same, 0))     // TensorFlow fails on it too
        XCTAssertThrowsError(try size(0, 3, 2, .same, nil))
        XCTAssertThrowsError(try size(4, 3, 0, .same, nil))
        do {
            _ = try size(4, 3, 2, .same, 2)
        } catch let error as FoveaError {
            XCTAssertTrue(error.message.contains("outputPadding 2"), error.message)
        }
    }
}
