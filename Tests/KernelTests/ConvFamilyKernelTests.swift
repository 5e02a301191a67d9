import XCTest
import Fovea

/// The depthwise kernels on every instruction-set path this CPU runs, against plain loops in
/// Double; the grouped im2col/col2im pair as adjoints; the batch-norm reductions.
final class ConvFamilyKernelTests: XCTestCase {
    struct Geometry {
        let batch, height, width, channels, kernelH, kernelW, strideH, strideW, dilationH, dilationW, padTop, padLeft: Int
        var outH: Int { (height + 2 * padTop - (kernelH - 1) * dilationH - 1) / strideH + 1 }
        var outW: Int { (width + 2 * padLeft - (kernelW - 1) * dilationW - 1) / strideW + 1 }
        var description: String {
            "\(batch)×\(height)×\(width)×\(channels) \(kernelH)×\(kernelW) s\(strideH),\(strideW) d\(dilationH),\(dilationW) p\(padTop),\(padLeft)"
        }
    }

    /// Interior runs of 4 pixels and leftovers, borders, 16-/8-lane vectors and single channels,
    /// windows wider than the image.
    let geometries = [
        Geometry(batch: 2, height: 9, width: 11, channels: 32, kernelH: 3, kernelW: 3, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padTop: 1, padLeft: 1),
        Geometry(batch: 1, height: 10, width: 13, channels: 27, kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, dilationH: 1, dilationW: 1, padTop: 1, padLeft: 1),
        Geometry(batch: 3, height: 8, width: 7, channels: 5, kernelH: 3, kernelW: 2, strideH: 1, strideW: 3, dilationH: 2, dilationW: 1, padTop: 2, padLeft: 0),
        Geometry(batch: 1, height: 12, width: 14, channels: 40, kernelH: 5, kernelW: 5, strideH: 2, strideW: 1, dilationH: 1, dilationW: 2, padTop: 2, padLeft: 4),
        Geometry(batch: 1, height: 3, width: 4, channels: 9, kernelH: 7, kernelW: 7, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padTop: 3, padLeft: 3),
    ]

    func testDepthwiseOnEveryPath() {
        for g in geometries {
            var rng = LCG(seed: UInt64(g.channels))
            let x = rng.floats(g.batch * g.height * g.width * g.channels)
            let k = rng.floats(g.kernelH * g.kernelW * g.channels), bias = rng.floats(g.channels)
            let dy = rng.floats(g.batch * g.outH * g.outW * g.channels)
            // Plain loops: forward, input gradient (scattered), kernel gradient.
            var y = [Double](repeating: 0, count: dy.count), dx = [Double](repeating: 0, count: x.count)
            var dk = [Double](repeating: 0, count: k.count)
            for b in 0..<g.batch { for oy in 0..<g.outH { for ox in 0..<g.outW { for c in 0..<g.channels {
                let o = ((b * g.outH + oy) * g.outW + ox) * g.channels + c
                y[o] = Double(bias[c])
                for ky in 0..<g.kernelH { for kx in 0..<g.kernelW {
                    let iy = oy * g.strideH - g.padTop + ky * g.dilationH, ix = ox * g.strideW - g.padLeft + kx * g.dilationW
                    guard iy >= 0 && iy < g.height && ix >= 0 && ix < g.width else { continue }
                    let i = ((b * g.height + iy) * g.width + ix) * g.channels + c, t = (ky * g.kernelW + kx) * g.channels + c
                    y[o] += Double(x[i]) * Double(k[t])
                    dx[i] += Double(dy[o]) * Double(k[t])
                    dk[t] += Double(dy[o]) * Double(x[i])
                } }
            } } } }
            for path in runnablePaths {
                for threads in [1, 2] {
                    var gotY = [Float](repeating: .nan, count: y.count), gotDX = [Float](repeating: .nan, count: dx.count)
                    var gotDK = [Float](repeating: .nan, count: dk.count)
                    x.withPointer { px in k.withPointer { pk in bias.withPointer { pb in dy.withPointer { pdy in
                        gotY.withMutablePointer { py in
                            Kernels.depthwiseConv2D(input: px, batch: g.batch, height: g.height, width: g.width, channels: g.channels,
                                                    kernelH: g.kernelH, kernelW: g.kernelW, strideH: g.strideH, strideW: g.strideW,
                                                    dilationH: g.dilationH, dilationW: g.dilationW, padTop: g.padTop, padLeft: g.padLeft,
                                                    outH: g.outH, outW: g.outW, kernel: pk, bias: pb, output: py, path: path, threads: threads)
                        }
                        gotDX.withMutablePointer { pdx in
                            Kernels.depthwiseConv2DBackwardInput(gradOutput: pdy, batch: g.batch, height: g.height, width: g.width,
                                                                 channels: g.channels, kernelH: g.kernelH, kernelW: g.kernelW,
                                                                 strideH: g.strideH, strideW: g.strideW, dilationH: g.dilationH,
                                                                 dilationW: g.dilationW, padTop: g.padTop, padLeft: g.padLeft,
                                                                 outH: g.outH, outW: g.outW, kernel: pk, gradInput: pdx,
                                                                 path: path, threads: threads)
                        }
                        gotDK.withMutablePointer { pdk in
                            Kernels.depthwiseConv2DBackwardKernel(input: px, batch: g.batch, height: g.height, width: g.width,
                                                                  channels: g.channels, kernelH: g.kernelH, kernelW: g.kernelW,
                                                                  strideH: g.strideH, strideW: g.strideW, dilationH: g.dilationH,
                                                                  dilationW: g.dilationW, padTop: g.padTop, padLeft: g.padLeft,
                                                                  outH: g.outH, outW: g.outW, gradOutput: pdy, gradKernel: pdk,
                                                                  path: path, threads: threads)
                        }
                    } } } }
                    let label = "\(g.description) \(path.rawValue) threads \(threads)"
                    assertClose(gotY, y, tolerance: y.map { 1e-5 * max(1, abs($0)) }, label + " forward")
                    assertClose(gotDX, dx, tolerance: dx.map { 1e-5 * max(1, abs($0)) }, label + " input gradient")
                    assertClose(gotDK, dk, tolerance: dk.map { 1e-5 * max(1, abs($0)) }, label + " kernel gradient")
                }
            }
        }
    }

    /// ⟨im2colGroup(x), c⟩ = ⟨x, col2imGroup(c)⟩, and the columns are the group's slice of a whole
    /// im2col of the group's channels.
    func testGroupedIm2colAndCol2imAreAdjoint() {
        let (n, h, w, channels, begin, cg) = (2, 7, 6, 10, 4, 3)
        let (kh, kw, s, d, pad) = (3, 2, 2, 1, 1)
        let oh = (h + 2 * pad - (kh - 1) * d - 1) / s + 1, ow = (w + 2 * pad - (kw - 1) * d - 1) / s + 1
        var rng = LCG(seed: 5)
        let x = rng.floats(n * h * w * channels), c = rng.floats(n * oh * ow * kh * kw * cg)
        var cols = [Float](repeating: .nan, count: c.count), back = [Float](repeating: 0, count: x.count)
        // The group's channels on their own, through the ordinary im2col.
        let slice = (0..<(n * h * w)).flatMap { p in x[(p * channels + begin)..<(p * channels + begin + cg)] }
        var reference = [Float](repeating: .nan, count: c.count)
        x.withPointer { px in cols.withMutablePointer { pc in
            Kernels.im2colGroup(input: px, batch: n, height: h, width: w, channels: channels, channelBegin: begin, groupChannels: cg,
                                kernelH: kh, kernelW: kw, strideH: s, strideW: s, dilationH: d, dilationW: d, padTop: pad, padLeft: pad,
                                outH: oh, outW: ow, output: pc)
        } }
        slice.withPointer { ps in reference.withMutablePointer { pr in
            Kernels.im2col(input: ps, batch: n, height: h, width: w, channels: cg, kernelH: kh, kernelW: kw, strideH: s, strideW: s,
                           dilationH: d, dilationW: d, padTop: pad, padLeft: pad, outH: oh, outW: ow, output: pr)
        } }
        XCTAssertEqual(cols, reference)
        c.withPointer { pc in back.withMutablePointer { pb in
            Kernels.col2imGroup(columns: pc, batch: n, height: h, width: w, channels: channels, channelBegin: begin, groupChannels: cg,
                                kernelH: kh, kernelW: kw, strideH: s, strideW: s, dilationH: d, dilationW: d, padTop: pad, padLeft: pad,
                                outH: oh, outW: ow, gradInput: pb)
        } }
        let left = zip(cols, c).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let right = zip(x, back).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        XCTAssertEqual(left, right, accuracy: 1e-6 * max(1, abs(left)))  // col2im adds in Float
        for p in 0..<(n * h * w) {
            for ch in 0..<channels where ch < begin || ch >= begin + cg {
                XCTAssertEqual(back[p * channels + ch], 0, "channel \(ch) is outside the group")
            }
        }
    }

    /// Mean and variance of channels whose mean is 10⁴ times their spread, from many row blocks.
    func testBatchNormMomentsAreAccurate() {
        let rows = 20_000, channels = 3
        var rng = LCG(seed: 9)
        let x = (0..<(rows * channels)).map { i in Float(1000 * (i % channels + 1)) + 0.1 * rng.float() }
        var mean = [Float](repeating: .nan, count: channels), variance = mean, low = mean
        x.withPointer { px in mean.withMutablePointer { pm in variance.withMutablePointer { pv in low.withMutablePointer { pl in
            Kernels.batchNormMoments(px, rows: rows, channels: channels, mean: pm, variance: pv, meanLow: pl)
        } } } }
        for c in 0..<channels {
            let values = Swift.stride(from: c, to: x.count, by: channels).map { Double(x[$0]) }
            let m = values.reduce(0, +) / Double(rows)
            let v = values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(rows)
            XCTAssertEqual(mean[c], Float(m), "channel \(c) mean")
            XCTAssertEqual(Double(mean[c]) + Double(low[c]), m, accuracy: 1e-9 * m, "channel \(c) mean's rest")
            XCTAssertEqual(Double(variance[c]), v, accuracy: 1e-6 * v, "channel \(c) variance")
        }
    }
}
