import XCTest
import Fovea
import FoveaTestSupport

final class OpGradientTests: XCTestCase {
    let a = awayFromZero([2, 3], seed: 1), b = awayFromZero([2, 3], seed: 2)

    func testArithmeticWithBroadcasting() {
        checkGradients([a, b]) { $0[0] + $0[1] }
        checkGradients([a, awayFromZero([3], seed: 3)]) { $0[0] + $0[1] }
        checkGradients([a, b]) { $0[0] - $0[1] }
        checkGradients([awayFromZero([2, 1], seed: 4), awayFromZero([1, 3], seed: 5)]) { $0[0] * $0[1] }
        checkGradients([a, awayFromZero([3], seed: 6)]) { $0[0] / $0[1] }
        checkGradients([a, Tensor(0.7)]) { $0[0] * $0[1] - $0[1] }
        checkGradients([a]) { -$0[0] * 2 + 1 }
        checkGradients([a]) { 3 / ($0[0] * $0[0] + 1) }
    }

    func testUnaryFunctions() {
        let positive = Tensor.uniform([2, 3], low: 0.5, high: 2, seed: 7)
        checkGradients([a]) { $0[0].exp() }
        checkGradients([positive]) { $0[0].log() }
        checkGradients([positive]) { $0[0].sqrt() }
        checkGradients([a]) { $0[0].squared() }
        checkGradients([a]) { $0[0].abs() }
        checkGradients([a]) { $0[0].relu() }
        checkGradients([a]) { $0[0].tanh() }
        checkGradients([a]) { $0[0].sigmoid() }
        checkGradients([positive]) { $0[0].pow(1.5) }
        checkGradients([a]) { $0[0].clipped(min: -0.5, max: 0.5) }
        checkGradients([a, b]) { $0[0].maximum($0[1]) }
    }

    func testReductions() {
        let x = distinct([2, 3, 4], seed: 8)
        for axes in [[0], [1], [2], [0, 2], [1, 2], [0, 1, 2]] {
            checkGradients([x]) { $0[0].sum(alongAxes: axes) }
            checkGradients([x]) { $0[0].mean(alongAxes: axes, keepDims: true) }
            checkGradients([x]) { $0[0].max(alongAxes: axes) }
        }
        checkGradients([x]) { $0[0].sum() }
        checkGradients([x]) { $0[0].max(alongAxes: [-1], keepDims: true) }
    }

    func testShapeOperations() {
        let x = distinct([2, 3, 4], seed: 9)
        checkGradients([x]) { $0[0].reshaped([4, -1]) }
        checkGradients([x]) { $0[0].transposed([2, 0, 1]) }
        checkGradients([x]) { $0[0].transposed() }
        checkGradients([x]) { $0[0].expandingDims(at: 1) }
        checkGradients([x.reshaped([2, 1, 12])]) { $0[0].squeezed() }
        checkGradients([x]) { $0[0].slice(batch: 1..<2) }
        checkGradients([x]) { $0[0].gathering(batchIndices: [1, 0, 1]) }
        checkGradients([a, b]) { Tensor.concatenate($0, alongAxis: 0) }
        checkGradients([a, awayFromZero([2, 2], seed: 10)]) { Tensor.concatenate($0, alongAxis: 1) }
        checkGradients([x]) { $0[0].flattenedBatch() }
    }

    func testMatmulSoftmaxLogSoftmax() {
        checkGradients([a, awayFromZero([3, 4], seed: 11)]) { $0[0].matmul($0[1]) }
        checkGradients([a]) { $0[0].softmax() }
        checkGradients([a]) { $0[0].logSoftmax() }
    }

    static func window(_ h: Int, _ w: Int, _ kernel: Int, stride: Int, dilation: Int, _ padding: Padding) -> Window2D {
        Window2D(rows: WindowAxis(input: h, kernel: kernel, stride: stride, dilation: dilation, padding: padding)!,
                 columns: WindowAxis(input: w, kernel: kernel, stride: stride, dilation: dilation, padding: padding)!)
    }

    func testFusedConvolution() {
        let x = awayFromZero([2, 5, 6, 2], seed: 12)
        let k = awayFromZero([3, 3, 2, 3], seed: 13), bias = awayFromZero([3], seed: 14)
        for (stride, dilation, padding) in [(1, 1, Padding.valid), (1, 1, .same), (2, 1, .same), (2, 1, .valid), (1, 2, .valid), (1, 2, .same)] {
            let win = Self.window(5, 6, 3, stride: stride, dilation: dilation, padding)
            checkGradients([x, k, bias]) { Tensor.conv2D($0[0], kernel: $0[1], bias: $0[2], window: win) }
            checkGradients([x, k]) { Tensor.conv2D($0[0], kernel: $0[1], bias: nil, window: win) }
        }
        // 1×1 convolutions take the direct GEMM path; batch 1 takes the unsplit path.
        let one = Self.window(5, 6, 1, stride: 1, dilation: 1, .valid)
        checkGradients([x, awayFromZero([1, 1, 2, 3], seed: 15), bias]) { Tensor.conv2D($0[0], kernel: $0[1], bias: $0[2], window: one) }
        let win = Self.window(5, 6, 3, stride: 1, dilation: 1, .same)
        checkGradients([x.slice(batch: 0..<1), k, bias]) { Tensor.conv2D($0[0], kernel: $0[1], bias: $0[2], window: win) }
    }

    /// Big enough layers build their im2col columns a few images at a time and sum the weight
    /// gradient over those blocks; check forward and all gradients against one whole-batch
    /// im2col + GEMM (+ col2im) done directly with the kernels.
    func testBlockedConvolutionMatchesWholeBatchGEMM() {
        let n = 11, h = 40, w = 40, c = 16, f = 5
        for (stride, padding) in [(1, Padding.valid), (2, .same)] {
            let win = Self.window(h, w, 3, stride: stride, dilation: 1, padding)
            let oh = win.rows.output, ow = win.columns.output, patch = 9 * c, rows = n * oh * ow
            // Images per column block (see Tensor.convolutionBlockFloats): fewer than each thread's share.
            XCTAssertLessThan((1 << 18) / (oh * ow * patch), n / 2, "each thread's images must span several column blocks")
            let x = Tensor.uniform([n, h, w, c], low: -1, high: 1, seed: 40)
            let k = Tensor.uniform([3, 3, c, f], low: -1, high: 1, seed: 41), bias = Tensor.uniform([f], seed: 42)
            let upstream = Tensor.uniform([n, oh, ow, f], low: -1, high: 1, seed: 43)
            let leaves = [x, k, bias].map { $0.requiringGradient() }
            let y = Tensor.conv2D(leaves[0], kernel: leaves[1], bias: leaves[2], window: win)
            let g = gradients(of: (y * upstream).sum(), wrt: leaves)

            var cols = [Float](repeating: 0, count: rows * patch)
            var expectedY = [Float](repeating: 0, count: rows * f)
            var expectedDW = [Float](repeating: 0, count: patch * f)
            var dcols = [Float](repeating: 0, count: rows * patch)
            var expectedDX = [Float](repeating: 0, count: x.count)
            x.withUnsafeBufferPointer { px in k.withUnsafeBufferPointer { pk in upstream.withUnsafeBufferPointer { pu in
                cols.withUnsafeMutableBufferPointer { pc in
                    Kernels.im2col(input: px.baseAddress!, batch: n, height: h, width: w, channels: c, kernelH: 3, kernelW: 3,
                                   strideH: stride, strideW: stride, dilationH: 1, dilationW: 1,
                                   padTop: win.rows.padBefore, padLeft: win.columns.padBefore, outH: oh, outW: ow, output: pc.baseAddress!)
                    expectedY.withUnsafeMutableBufferPointer { py in
                        Kernels.sgemm(m: rows, n: f, k: patch, a: pc.baseAddress!, lda: patch, b: pk.baseAddress!, ldb: f, c: py.baseAddress!, ldc: f)
                    }
                    expectedDW.withUnsafeMutableBufferPointer { pw in
                        Kernels.sgemm(transA: true, m: patch, n: f, k: rows, a: pc.baseAddress!, lda: patch, b: pu.baseAddress!, ldb: f, c: pw.baseAddress!, ldc: f)
                    }
                }
                dcols.withUnsafeMutableBufferPointer { pd in
                    Kernels.sgemm(transB: true, m: rows, n: patch, k: f, a: pu.baseAddress!, lda: f, b: pk.baseAddress!, ldb: f, c: pd.baseAddress!, ldc: patch)
                    expectedDX.withUnsafeMutableBufferPointer { pdx in
                        Kernels.col2im(columns: pd.baseAddress!, batch: n, height: h, width: w, channels: c, kernelH: 3, kernelW: 3,
                                       strideH: stride, strideW: stride, dilationH: 1, dilationW: 1,
                                       padTop: win.rows.padBefore, padLeft: win.columns.padBefore, outH: oh, outW: ow, gradInput: pdx.baseAddress!)
                    }
                }
            } } }
            let b = bias.scalars
            for i in 0..<expectedY.count { expectedY[i] += b[i % f] }
            let u = upstream.scalars
            let expectedDB = (0..<f).map { j in Swift.stride(from: j, to: u.count, by: f).reduce(Float(0)) { $0 + u[$1] } }
            func assertClose(_ got: [Float], _ want: [Float], _ what: String) {
                XCTAssertEqual(got.count, want.count, what)
                let worst = zip(got, want).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
                XCTAssertLessThan(worst, 1e-4, "\(what), stride \(stride) \(padding)")
            }
            assertClose(y.scalars, expectedY, "output")
            assertClose(g[0].scalars, expectedDX, "input gradient")
            assertClose(g[1].scalars, expectedDW, "kernel gradient")
            assertClose(g[2].scalars, expectedDB, "bias gradient")
        }
    }

    /// Winograd (3×3, stride 1) against the im2col reference path: output, input, kernel and bias
    /// gradients, for `valid` and `same`, with and without the fused ReLU, at batch 1 and 3, with
    /// channel counts that are not multiples of the vector width.
    func testWinogradMatchesIm2col() {
        // 64 images of 13×13×32 → 64: the seed CNN's second layer, several tile blocks per thread.
        for (n, h, w, c, f) in [(3, 9, 7, 5, 11), (1, 13, 13, 32, 64), (2, 6, 10, 17, 9), (64, 13, 13, 32, 64)] {
            for padding in [Padding.valid, .same] {
                for relu in [false, true] {
                    let win = Self.window(h, w, 3, stride: 1, dilation: 1, padding)
                    let x = Tensor.uniform([n, h, w, c], low: -1, high: 1, seed: 60)
                    let k = Tensor.uniform([3, 3, c, f], low: -1, high: 1, seed: 61), bias = Tensor.uniform([f], low: -1, high: 1, seed: 62)
                    let upstream = Tensor.uniform([n, win.rows.output, win.columns.output, f], low: -1, high: 1, seed: 63)
                    func run(_ algorithm: ConvolutionAlgorithm) -> [[Float]] {
                        let leaves = [x, k, bias].map { $0.requiringGradient() }
                        let y = Tensor.conv2D(leaves[0], kernel: leaves[1], bias: leaves[2], window: win, relu: relu, algorithm: algorithm)
                        return [y.scalars] + gradients(of: (y * upstream).sum(), wrt: leaves).map(\.scalars)
                    }
                    let fast = run(.winograd), reference = run(.im2col)
                    for (what, (got, want)) in zip(["output", "input gradient", "kernel gradient", "bias gradient"], zip(fast, reference)) {
                        XCTAssertEqual(got.count, want.count)
                        let scale = max(1, want.map(abs).max() ?? 0)
                        let worst = zip(got, want).map { abs($0 - $1) }.max() ?? 0
                        XCTAssertLessThan(worst / scale, 1e-5, "\(what), \(n)×\(h)×\(w)×\(c)→\(f) \(padding) relu \(relu)")
                    }
                }
            }
        }
        // `.automatic` runs a 3×3 one-channel layer on the direct kernel (taps summed in order, then
        // the bias, as the GEMM does, though its lanes may round the last bit differently).
        let win = Self.window(8, 8, 3, stride: 1, dilation: 1, .same)
        let x = Tensor.uniform([1, 8, 8, 1], seed: 64), k = Tensor.uniform([3, 3, 1, 4], seed: 65), b = Tensor.uniform([4], seed: 66)
        let direct = Tensor.conv2D(x, kernel: k, bias: b, window: win, relu: true, algorithm: .automatic).scalars
        let reference = Tensor.conv2D(x, kernel: k, bias: b, window: win, relu: true, algorithm: .im2col).scalars
        XCTAssertEqual(direct.count, reference.count)
        XCTAssertLessThan(zip(direct, reference).map { abs($0 - $1) }.max() ?? 1, 1e-6)
    }

    /// A one-channel layer whose input needs no gradient (a first layer) takes the fused kernel and
    /// bias gradient pass; it must agree with the general path, which runs when the input does need
    /// a gradient. Inputs have blank (zero) regions, as MNIST digits do, which the fused pass skips.
    /// `.automatic` on a small map (3×3 output: one tile per image, 2.25× fewer multiplications) with
    /// weights prepared for inference: im2col for fewer than 4 tiles per call (a single image, whose
    /// 36 transformed weight matrices would stream through for one tile), Winograd from 4; while
    /// gradients are recorded, im2col at any batch. Exact equality with the forced algorithm tells
    /// which one ran (the two differ in the last digits, checked too).
    func testAutomaticChoiceOnASmallMap() {
        let win = Self.window(5, 5, 3, stride: 1, dilation: 1, .valid)
        let k = Tensor.uniform([3, 3, 16, 24], low: -1, high: 1, seed: 67), b = Tensor.uniform([24], low: -1, high: 1, seed: 68)
        for (n, wantWinograd) in [(1, false), (3, false), (4, true), (16, true)] {
            let x = Tensor.uniform([n, 5, 5, 16], low: -1, high: 1, seed: UInt64(69 + n))
            func run(_ algorithm: ConvolutionAlgorithm) -> [Float] {
                GradientRecording.withoutGradients {
                    Tensor.conv2D(x, kernel: k, bias: b, window: win, relu: false, algorithm: algorithm).scalars
                }
            }
            let automatic = run(.automatic), im2col = run(.im2col), winograd = run(.winograd)
            XCTAssertNotEqual(im2col, winograd, "batch \(n): the two algorithms should round differently")
            XCTAssertEqual(automatic, wantWinograd ? winograd : im2col, "batch \(n) in inference")
            let recorded = Tensor.conv2D(x, kernel: k.requiringGradient(), bias: b, window: win, relu: false, algorithm: .automatic)
            XCTAssertEqual(recorded.scalars, Tensor.conv2D(x, kernel: k.requiringGradient(), bias: b, window: win, relu: false,
                                                           algorithm: .im2col).scalars, "batch \(n) while recording")
        }
    }

    func testFirstLayerGradientsMatchTheGeneralPath() {
        let n = 3, h = 11, w = 9
        var pixels = Tensor.uniform([n, h, w, 1], low: -1, high: 1, seed: 70).scalars
        for i in pixels.indices where (i / w) % h < 4 || i % w < 3 { pixels[i] = 0 }
        let x = Tensor(shape: [n, h, w, 1], scalars: pixels)
        for (kernel, stride, dilation, padding) in [(3, 1, 1, Padding.valid), (3, 1, 1, .same), (5, 2, 1, .same), (3, 1, 2, .valid), (2, 1, 1, .same)] {
            for relu in [false, true] {
                for withBias in [false, true] {
                    let win = Self.window(h, w, kernel, stride: stride, dilation: dilation, padding)
                    let k = Tensor.uniform([kernel, kernel, 1, 13], low: -1, high: 1, seed: 71).requiringGradient()
                    let bias = withBias ? Tensor.uniform([13], low: -0.5, high: 0.5, seed: 72).requiringGradient() : nil
                    let upstream = Tensor.uniform([n, win.rows.output, win.columns.output, 13], low: -1, high: 1, seed: 73)
                    let params = [k] + (bias.map { [$0] } ?? [])
                    let fused = gradients(of: (Tensor.conv2D(x, kernel: k, bias: bias, window: win, relu: relu) * upstream).sum(), wrt: params)
                    let xg = x.requiringGradient()
                    let general = gradients(of: (Tensor.conv2D(xg, kernel: k, bias: bias, window: win, relu: relu) * upstream).sum(), wrt: [xg] + params)
                    for (got, want) in zip(fused, general.dropFirst()) {
                        XCTAssertEqual(got.shape, want.shape)
                        let worst = zip(got.scalars, want.scalars).map { abs($0 - $1) }.max() ?? 0
                        XCTAssertLessThan(worst, 1e-4, "kernel \(kernel) stride \(stride) dilation \(dilation) \(padding) relu \(relu) bias \(withBias)")
                    }
                }
            }
        }
    }

    /// A first layer with its 2×2 max pool fused (the training forward keeps each window's winner;
    /// the backward reads only the pooled gradient) against the two ops on the im2col path: kernel
    /// and bias gradients agree on odd sizes (a dropped last row and column), `same` padding,
    /// strides, dilation, 13 filters (a vector of 8 and a scalar tail) and 32, with and without ReLU
    /// and bias, and on ties (a mutation of the winner's comparison to `>=` fails it): an image of 2×2 blocks seen through a kernel with only its centre tap
    /// makes every window a four-way tie whose cells have different patches, so the fused kernel must
    /// pick the winner the max pool picks (the first cell) or the other taps' gradients differ.
    func testFusedFirstLayerPoolingGradientsMatchTheTwoOps() {
        let n = 2
        for (h, w, kernel, stride, dilation, padding, filters) in [(11, 9, 3, 1, 1, Padding.valid, 13), (10, 12, 3, 1, 1, .same, 32),
                                                                   (13, 11, 3, 2, 1, .same, 13), (12, 13, 3, 1, 2, .valid, 9),
                                                                   (9, 10, 3, 1, 1, .same, 8),
                                                                   // 5×5 has no fused kernel: the two ops either way.
                                                                   (9, 10, 5, 1, 1, .same, 8)] {
            let win = Self.window(h, w, kernel, stride: stride, dilation: dilation, padding)
            for ties in kernel == 3 && stride == 1 && dilation == 1 ? [false, true] : [false] {
                var x = Tensor.uniform([n, h, w, 1], low: -1, high: 1, seed: 90)
                var weights = Tensor.uniform([kernel, kernel, 1, filters], low: -1, high: 1, seed: 91)
                if ties {
                    // Output (oy, ox) sees input (oy + c, ox + c) through the centre tap.
                    let c = 1 - win.rows.padBefore
                    let blocks = x.scalars
                    x = Tensor(shape: x.shape, scalars: (0..<x.count).map { i in
                        let b = i / (h * w), iy = (i / w) % h - c, ix = i % w - c
                        let by = (iy + 2) / 2 - 1, bx = (ix + 2) / 2 - 1   // floor division for iy, ix ≥ −2
                        return blocks[(b * h + max(by, 0)) * w + max(bx, 0)] + (by < 0 || bx < 0 ? 3 : 0)
                    })
                    weights = Tensor(shape: weights.shape, scalars: weights.scalars.enumerated().map { $0.offset / filters == 4 ? $0.element : 0 })
                }
                let pool = Self.window(win.rows.output, win.columns.output, 2, stride: 2, dilation: 1, .valid)
                for relu in [false, true] {
                    for withBias in [false, true] {
                        let what = "\(h)×\(w) kernel \(kernel) stride \(stride) dilation \(dilation) \(padding) \(filters) filters"
                            + " ties \(ties) relu \(relu) bias \(withBias)"
                        let k = weights.requiringGradient()
                        let bias = withBias ? Tensor.uniform([filters], low: -0.5, high: 0.5, seed: 92).requiringGradient() : nil
                        let params = [k] + (bias.map { [$0] } ?? [])
                        let fused = Tensor.conv2DMaxPool2x2(x, kernel: k, bias: bias, window: win, relu: relu)
                        let separate = Tensor.maxPool2D(Tensor.conv2D(x, kernel: k, bias: bias, window: win, relu: relu, algorithm: .im2col),
                                                        window: pool)
                        XCTAssertEqual(fused.shape, separate.shape, what)
                        let worstValue = zip(fused.scalars, separate.scalars).map { abs($0 - $1) }.max() ?? 0
                        XCTAssertLessThan(worstValue, 1e-5, what)
                        let upstream = Tensor.uniform(fused.shape, low: -1, high: 1, seed: 93)
                        let got = gradients(of: (fused * upstream).sum(), wrt: params)
                        let want = gradients(of: (separate * upstream).sum(), wrt: params)
                        for (g, r) in zip(got, want) {
                            XCTAssertEqual(g.shape, r.shape, what)
                            let scale = max(1, r.scalars.map(abs).max() ?? 0)
                            let worst = zip(g.scalars, r.scalars).map { abs($0 - $1) }.max() ?? 0
                            XCTAssertLessThan(worst / scale, 1e-5, what)
                        }
                        // An input that wants a gradient of its own takes the two recorded ops.
                        let xg = x.requiringGradient()
                        let withInput = gradients(of: (Tensor.conv2DMaxPool2x2(xg, kernel: k, bias: bias, window: win, relu: relu) * upstream).sum(),
                                                  wrt: [xg] + params)
                        XCTAssertEqual(withInput[0].shape, x.shape, what)
                        XCTAssertGreaterThan(withInput[0].scalars.map(abs).max() ?? 0, 0, what)
                        for (g, r) in zip(withInput.dropFirst(), want) {
                            let worst = zip(g.scalars, r.scalars).map { abs($0 - $1) }.max() ?? 0
                            XCTAssertLessThan(worst / max(1, r.scalars.map(abs).max() ?? 0), 1e-5, what)
                        }
                    }
                }
            }
        }
    }

    /// A whole seed CNN, Winograd (`.automatic`) against im2col everywhere: every variable's gradient
    /// for one batch of 64 agrees, so the fast paths compose (pooling around them, a fused first layer).
    func testSeedCNNGradientsAgreeAcrossAlgorithms() throws {
        let x = Tensor.uniform([64, 28, 28, 1], seed: 80)
        let labels = (0..<64).map { $0 % 10 }
        func grads(_ algorithm: ConvolutionAlgorithm) throws -> [Tensor] {
            let model = try Architecture.seedCNN.make(seed: 5)
            for case let conv as Conv2D in model.layers { conv.algorithm = algorithm }
            let logits = try model(x, training: true)
            let loss = Tensor.softmaxCrossEntropy(logits: logits, labels: labels)
            return gradients(of: loss, wrt: model.trainableVariables)
        }
        let fast = try grads(.automatic), reference = try grads(.im2col)
        for (i, (got, want)) in zip(fast, reference).enumerated() {
            let scale = max(1e-6, want.scalars.map(abs).max() ?? 0)
            let worst = zip(got.scalars, want.scalars).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst / scale, 1e-4, "variable \(i) \(want.shape)")
        }
    }

    func testFusedReluAwayFromTheKink() {
        // A bias of 3 with a small kernel keeps every pre-activation well above zero.
        let x = awayFromZero([2, 5, 6, 2], seed: 16), k = awayFromZero([3, 3, 2, 3], seed: 17) * 0.1
        let bias = Tensor([3, 3, 3])
        let win = Self.window(5, 6, 3, stride: 1, dilation: 1, .valid)
        XCTAssertTrue(Tensor.conv2D(x, kernel: k, bias: bias, window: win).scalars.allSatisfy { $0 > 1 })
        checkGradients([x, k, bias]) { Tensor.conv2D($0[0], kernel: $0[1], bias: $0[2], window: win, relu: true) }
        // And with a large negative bias every output is clipped: all gradients vanish.
        let dead = Tensor([-5, -5, -5]).requiringGradient(), xs = x.requiringGradient()
        let g = gradients(of: Tensor.conv2D(xs, kernel: k, bias: dead, window: win, relu: true).sum(), wrt: [xs, dead])
        XCTAssertTrue(g.allSatisfy { $0.scalars.allSatisfy { $0 == 0 } })
    }

    func testFusedDensePoolingAndCrossEntropy() {
        let x = awayFromZero([4, 5], seed: 18), w = awayFromZero([5, 3], seed: 19)
        checkGradients([x, w, awayFromZero([3], seed: 20)]) { Tensor.dense($0[0], kernel: $0[1], bias: $0[2]) }
        let bias = Tensor([2, 2, 2])
        XCTAssertTrue(Tensor.dense(x, kernel: w * 0.2, bias: bias).scalars.allSatisfy { $0 > 0.5 })
        checkGradients([x, w * 0.2, bias]) { Tensor.dense($0[0], kernel: $0[1], bias: $0[2], relu: true) }

        let image = distinct([2, 5, 5, 2], seed: 21)
        let valid = Window2D(rows: WindowAxis(input: 5, kernel: 2, stride: 2, padding: .valid)!,
                             columns: WindowAxis(input: 5, kernel: 2, stride: 2, padding: .valid)!)
        let same = Window2D(rows: WindowAxis(input: 5, kernel: 2, stride: 2, padding: .same)!,
                            columns: WindowAxis(input: 5, kernel: 3, stride: 1, padding: .same)!)
        for win in [valid, same] {
            checkGradients([image]) { Tensor.maxPool2D($0[0], window: win) }
            checkGradients([image]) { Tensor.averagePool2D($0[0], window: win) }
        }
        let logits = awayFromZero([3, 4], seed: 22)
        checkGradients([logits]) { Tensor.softmaxCrossEntropy(logits: $0[0], labels: [2, 0, 3]) }
        checkGradients([logits]) {
            Tensor.softmaxCrossEntropy(logits: $0[0], targets: Tensor([[0.1, 0.2, 0.3, 0.4], [1, 0, 0, 0], [0, 0.5, 0.5, 0]]))
        }
    }

    /// A custom "layer" written from tensor ops trains with no backward code of its own.
    func testCustomLayerFromOpsGetsItsGradients() {
        let x = awayFromZero([4, 3], seed: 23), w = awayFromZero([3, 2], seed: 24), bias = awayFromZero([2], seed: 25)
        let target = Tensor.uniform([4, 2], seed: 26)
        checkGradients([x, w, bias]) { (($0[0].matmul($0[1]) + $0[2]).tanh() - target).squared().mean() }
    }

    func testGradientsAccumulateWhenATensorIsUsedTwice() {
        let x = Tensor([1.5, -2, 0.5]).requiringGradient()
        let g = gradients(of: (x * x + x).sum(), wrt: [x])[0]
        XCTAssertEqual(g.scalars, [4, -3, 2])
        checkGradients([a]) { $0[0] * $0[0].exp() + $0[0] }
    }

    func testValueWithGradientAndUnusedInputs() {
        let (value, gradient) = valueWithGradient(at: Tensor([1, 2, 3])) { ($0 * $0).sum() }
        XCTAssertEqual(value.scalar, 14)
        XCTAssertEqual(gradient.scalars, [2, 4, 6])
        let unused = Tensor([1, 2]).requiringGradient(), used = Tensor([3]).requiringGradient()
        XCTAssertEqual(gradients(of: used.sum(), wrt: [unused, used]).map(\.scalars), [[0, 0], [1]])
        XCTAssertFalse((used * 2).detached.requiresGradient)
        let v = Variable(Tensor([1, 2]), name: "v")
        XCTAssertTrue(v.tracked.requiresGradient)
        XCTAssertFalse(GradientRecording.withoutGradients { v.tracked.requiresGradient })
    }
}
