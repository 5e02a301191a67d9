import XCTest
import Fovea

/// The direct one-input-channel convolution (a first layer) against the definition, computed in
/// Double, on every runnable path: 3×3 windows (the AVX2 kernel) and others (plain C), strides,
/// dilation, padding, filter counts that are not multiples of the vector width, batch 1, one and
/// two threads; and its fused 2×2 max pool against pooling the reference.
final class OneChannelConvolutionTests: XCTestCase {
    struct Case: CustomStringConvertible {
        var batch = 1, height = 7, width = 9, kernelH = 3, kernelW = 3
        var stride = (1, 1), dilation = (1, 1), pad = (0, 0)
        var outH = 5, outW = 7, filters = 8
        var description: String {
            "b\(batch) \(height)x\(width) k\(kernelH)x\(kernelW) s\(stride) d\(dilation) pad\(pad) → \(outH)x\(outW)x\(filters)"
        }
    }

    static let cases: [Case] = [
        Case(),
        Case(batch: 3, height: 28, width: 28, outH: 26, outW: 26, filters: 32),                  // the seed CNN's first layer
        Case(batch: 2, height: 10, width: 11, pad: (1, 1), outH: 10, outW: 11, filters: 13),      // `same`, odd filter count
        Case(batch: 1, height: 9, width: 8, stride: (2, 2), pad: (0, 1), outH: 4, outW: 4, filters: 41),  // 32 + 8 + 1 filters
        Case(batch: 2, height: 12, width: 13, dilation: (2, 3), outH: 8, outW: 7, filters: 9),
        Case(batch: 1, height: 6, width: 5, pad: (2, 2), outH: 8, outW: 7, filters: 3),           // more padding than input at the edges
        Case(batch: 2, height: 11, width: 10, kernelH: 5, kernelW: 2, pad: (2, 0), outH: 11, outW: 9, filters: 16),
        Case(batch: 1, height: 4, width: 4, kernelH: 1, kernelW: 1, outH: 4, outW: 4, filters: 5),
        // 3×3 with whole blocks of 16 filters: inference pools them in registers.
        Case(batch: 2, height: 13, width: 12, stride: (2, 1), dilation: (1, 2), pad: (1, 2), outH: 7, outW: 11, filters: 16),
        Case(batch: 1, height: 9, width: 9, pad: (1, 1), outH: 9, outW: 9, filters: 48),
        // Its second set of padded rows (3 × 42 floats) outgrows two pooled rows (2 × 2 × 16).
        Case(batch: 1, height: 5, width: 42, dilation: (1, 20), outH: 3, outW: 2, filters: 16),
        Case(batch: 2, height: 12, width: 10, dilation: (3, 1), outH: 6, outW: 8, filters: 32),
    ]

    /// y[b, oy, ox, k] = bias[k] + Σ x[b, oy·sh − pt + ky·dh, ox·sw − pl + kx·dw] · w[ky, kx, 0, k] (ReLU), and Σ|terms|.
    static func reference(_ t: Case, _ x: [Float], _ w: [Float], bias: [Float]?, relu: Bool) -> (values: [Double], scale: [Double]) {
        var values = [Double](), scale = [Double]()
        for b in 0..<t.batch { for oy in 0..<t.outH { for ox in 0..<t.outW { for k in 0..<t.filters {
            var sum = Double(bias?[k] ?? 0), magnitude = abs(sum)
            for ky in 0..<t.kernelH { for kx in 0..<t.kernelW {
                let iy = oy * t.stride.0 - t.pad.0 + ky * t.dilation.0, ix = ox * t.stride.1 - t.pad.1 + kx * t.dilation.1
                guard iy >= 0, iy < t.height, ix >= 0, ix < t.width else { continue }
                let term = Double(x[(b * t.height + iy) * t.width + ix]) * Double(w[(ky * t.kernelW + kx) * t.filters + k])
                sum += term; magnitude += abs(term)
            } }
            values.append(relu ? max(sum, 0) : sum); scale.append(magnitude)
        } } } }
        return (values, scale)
    }

    func run(_ t: Case, _ x: [Float], _ w: [Float], bias: [Float]?, relu: Bool, pool: Bool, path: KernelPath, threads: Int) -> [Float] {
        let rows = pool ? t.outH / 2 : t.outH, columns = pool ? t.outW / 2 : t.outW
        var out = [Float](repeating: .nan, count: t.batch * rows * columns * t.filters)
        x.withPointer { px in w.withPointer { pw in out.withMutablePointer { py in
            let run = { (pb: UnsafePointer<Float>?) in
                Kernels.oneChannelConv2D(input: px, batch: t.batch, height: t.height, width: t.width,
                                         kernelH: t.kernelH, kernelW: t.kernelW, strideH: t.stride.0, strideW: t.stride.1,
                                         dilationH: t.dilation.0, dilationW: t.dilation.1, padTop: t.pad.0, padLeft: t.pad.1,
                                         outH: t.outH, outW: t.outW, kernel: pw, filters: t.filters, bias: pb, relu: relu,
                                         pool: pool, output: py, path: path, threads: threads)
            }
            if let bias { bias.withPointer { run($0) } } else { run(nil) }
        } } }
        return out
    }

    func testForwardMatchesTheDefinition() {
        var rng = LCG(seed: 17)
        for t in Self.cases {
            let x = rng.floats(t.batch * t.height * t.width), w = rng.floats(t.kernelH * t.kernelW * t.filters)
            let bias = rng.floats(t.filters)
            for (withBias, relu) in [(true, true), (false, false), (true, false)] {
                let want = Self.reference(t, x, w, bias: withBias ? bias : nil, relu: relu)
                for path in runnablePaths { for threads in [1, 2] {
                    let got = run(t, x, w, bias: withBias ? bias : nil, relu: relu, pool: false, path: path, threads: threads)
                    assertClose(got, want.values, tolerance: want.scale.map { 1e-6 * $0 + 1e-7 },
                                "\(t) bias \(withBias) relu \(relu) \(path) \(threads) threads")
                } }
            }
        }
    }

    func testFusedMaxPoolMatchesPoolingTheDefinition() {
        var rng = LCG(seed: 29)
        for t in Self.cases where t.outH >= 2 && t.outW >= 2 {
            let x = rng.floats(t.batch * t.height * t.width), w = rng.floats(t.kernelH * t.kernelW * t.filters)
            let bias = rng.floats(t.filters)
            for relu in [true, false] {
                let full = Self.reference(t, x, w, bias: bias, relu: relu)
                let ph = t.outH / 2, pw = t.outW / 2
                var want = [Double](), scale = [Double]()
                for b in 0..<t.batch { for py in 0..<ph { for px in 0..<pw { for k in 0..<t.filters {
                    let cells = [(0, 0), (0, 1), (1, 0), (1, 1)].map { dy, dx in
                        ((b * t.outH + 2 * py + dy) * t.outW + 2 * px + dx) * t.filters + k
                    }
                    want.append(cells.map { full.values[$0] }.max()!)
                    scale.append(cells.map { full.scale[$0] }.max()!)
                } } } }
                for path in runnablePaths { for threads in [1, 2] {
                    let got = run(t, x, w, bias: bias, relu: relu, pool: true, path: path, threads: threads)
                    assertClose(got, want, tolerance: scale.map { 1e-6 * $0 + 1e-7 }, "\(t) pooled relu \(relu) \(path) \(threads) threads")
                    // Pooling in registers (before bias and ReLU) gives exactly the maxima of the
                    // kernel's own unpooled output (finite data: a NaN cell may not).
                    let unpooled = run(t, x, w, bias: bias, relu: relu, pool: false, path: path, threads: threads)
                    var exact = [Float]()
                    for b in 0..<t.batch { for py in 0..<ph { for px in 0..<pw { for k in 0..<t.filters {
                        exact.append([(0, 0), (0, 1), (1, 0), (1, 1)].map { dy, dx in
                            unpooled[((b * t.outH + 2 * py + dy) * t.outW + 2 * px + dx) * t.filters + k]
                        }.max()!)
                    } } } }
                    XCTAssertEqual(got, exact, "\(t) pooled relu \(relu) \(path) \(threads) threads: not the unpooled output's maxima")
                } }
            }
        }
    }
}
