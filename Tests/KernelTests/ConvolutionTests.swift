import XCTest
import Fovea

final class ConvolutionTests: XCTestCase {
    struct Geometry: CustomStringConvertible {
        var batch: Int, height: Int, width: Int, channels: Int
        var kernelH: Int, kernelW: Int
        var strideH = 1, strideW = 1, dilationH = 1, dilationW = 1
        var padTop = 0, padLeft = 0, padBottom = 0, padRight = 0
        var outH: Int { (height + padTop + padBottom - dilationH * (kernelH - 1) - 1) / strideH + 1 }
        var outW: Int { (width + padLeft + padRight - dilationW * (kernelW - 1) - 1) / strideW + 1 }
        var rowLength: Int { kernelH * kernelW * channels }
        var rows: Int { batch * outH * outW }
        var inputCount: Int { batch * height * width * channels }
        var description: String {
            "b\(batch) \(height)x\(width)x\(channels) k\(kernelH)x\(kernelW) s\(strideH),\(strideW) "
                + "d\(dilationH),\(dilationW) pad \(padTop),\(padLeft),\(padBottom),\(padRight)"
        }

        /// The input index column `col` of row `row` reads, or nil for padding.
        func source(row: Int, col: Int) -> Int? {
            let b = row / (outH * outW), oy = row / outW % outH, ox = row % outW
            let ky = col / (kernelW * channels), kx = col / channels % kernelW, ch = col % channels
            let iy = oy * strideH - padTop + ky * dilationH, ix = ox * strideW - padLeft + kx * dilationW
            guard iy >= 0, iy < height, ix >= 0, ix < width else { return nil }
            return ((b * height + iy) * width + ix) * channels + ch
        }
    }

    static let geometries: [Geometry] = [
        Geometry(batch: 3, height: 9, width: 7, channels: 5, kernelH: 3, kernelW: 3,
                 strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
        Geometry(batch: 1, height: 11, width: 10, channels: 3, kernelH: 3, kernelW: 2,
                 strideH: 1, strideW: 2, dilationH: 2, dilationW: 2, padTop: 2, padLeft: 1, padBottom: 1, padRight: 2),
        Geometry(batch: 3, height: 5, width: 6, channels: 1, kernelH: 2, kernelW: 3),
        Geometry(batch: 2, height: 8, width: 8, channels: 2, kernelH: 3, kernelW: 3,
                 strideH: 2, strideW: 2, dilationH: 2, dilationW: 2, padTop: 2, padLeft: 2, padBottom: 2, padRight: 2),
        Geometry(batch: 3, height: 1, width: 13, channels: 4, kernelH: 1, kernelW: 3,  // 1-D
                 strideW: 2, dilationW: 2, padLeft: 2, padRight: 2),
        Geometry(batch: 2, height: 16, width: 16, channels: 16, kernelH: 3, kernelW: 3,  // threaded, by image
                 padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
        Geometry(batch: 1, height: 20, width: 18, channels: 24, kernelH: 3, kernelW: 3,  // threaded, by channel
                 strideH: 2, strideW: 1, dilationH: 1, dilationW: 2, padTop: 1, padLeft: 2, padBottom: 1, padRight: 2),
        Geometry(batch: 1, height: 4, width: 4, channels: 3, kernelH: 5, kernelW: 5,  // windows beyond the image
                 padTop: 2, padLeft: 2, padBottom: 2, padRight: 2),
        // One channel, windows inside the image sideways: im2col's first-layer path.
        Geometry(batch: 2, height: 9, width: 8, channels: 1, kernelH: 3, kernelW: 3,
                 strideH: 2, padTop: 1, padBottom: 1),
        Geometry(batch: 3, height: 12, width: 11, channels: 1, kernelH: 2, kernelW: 5, dilationH: 2),
        Geometry(batch: 2, height: 7, width: 7, channels: 1, kernelH: 3, kernelW: 3,  // `same`: the general path
                 padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
    ]

    func im2col(_ g: Geometry, _ input: [Float], threads: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: g.rows * g.rowLength)
        input.withPointer { pin in out.withMutablePointer { pout in
            Kernels.im2col(input: pin, batch: g.batch, height: g.height, width: g.width, channels: g.channels,
                           kernelH: g.kernelH, kernelW: g.kernelW, strideH: g.strideH, strideW: g.strideW,
                           dilationH: g.dilationH, dilationW: g.dilationW, padTop: g.padTop, padLeft: g.padLeft,
                           outH: g.outH, outW: g.outW, output: pout, threads: threads)
        } }
        return out
    }

    func col2im(_ g: Geometry, _ columns: [Float], threads: Int) -> [Float] {
        var grad = [Float](repeating: 0, count: g.inputCount)
        columns.withPointer { pc in grad.withMutablePointer { pg in
            Kernels.col2im(columns: pc, batch: g.batch, height: g.height, width: g.width, channels: g.channels,
                           kernelH: g.kernelH, kernelW: g.kernelW, strideH: g.strideH, strideW: g.strideW,
                           dilationH: g.dilationH, dilationW: g.dilationW, padTop: g.padTop, padLeft: g.padLeft,
                           outH: g.outH, outW: g.outW, gradInput: pg, threads: threads)
        } }
        return grad
    }

    func testIm2colMatchesDefinition() {
        for (index, g) in Self.geometries.enumerated() {
            var rng = LCG(seed: UInt64(index))
            let input = rng.floats(g.inputCount)
            for threads in [1, 2] {
                let cols = im2col(g, input, threads: threads)
                var bad = 0
                for row in 0..<g.rows {
                    for col in 0..<g.rowLength {
                        let want = g.source(row: row, col: col).map { input[$0] } ?? 0
                        if cols[row * g.rowLength + col] != want { bad += 1 }
                    }
                }
                XCTAssertEqual(bad, 0, "\(g) threads \(threads)")
            }
        }
    }

    /// im2col · kernel (through sgemm with bias) equals the direct convolution sum.
    func testConvolutionThroughGEMM() {
        for (index, g) in Self.geometries.enumerated() {
            var rng = LCG(seed: UInt64(100 + index))
            let cOut = 5
            let input = rng.floats(g.inputCount), kernel = rng.floats(g.rowLength * cOut), bias = rng.floats(cOut)
            let cols = im2col(g, input, threads: 2)
            var out = [Float](repeating: 0, count: g.rows * cOut)
            cols.withPointer { pa in kernel.withPointer { pb in bias.withPointer { pbias in out.withMutablePointer { pc in
                Kernels.sgemm(m: g.rows, n: cOut, k: g.rowLength, a: pa, lda: g.rowLength, b: pb, ldb: cOut,
                              c: pc, ldc: cOut, bias: pbias)
            } } } }
            var want = [Double](repeating: 0, count: g.rows * cOut), tol = want
            for b in 0..<g.batch { for oy in 0..<g.outH { for ox in 0..<g.outW { for co in 0..<cOut {
                var sum = Double(bias[co]), scale = abs(sum)
                for ky in 0..<g.kernelH { for kx in 0..<g.kernelW {
                    let iy = oy * g.strideH - g.padTop + ky * g.dilationH
                    let ix = ox * g.strideW - g.padLeft + kx * g.dilationW
                    guard iy >= 0, iy < g.height, ix >= 0, ix < g.width else { continue }
                    for ci in 0..<g.channels {
                        let x = Double(input[((b * g.height + iy) * g.width + ix) * g.channels + ci])
                        let w = Double(kernel[((ky * g.kernelW + kx) * g.channels + ci) * cOut + co])
                        sum += x * w; scale += abs(x * w)
                    }
                } }
                let o = ((b * g.outH + oy) * g.outW + ox) * cOut + co
                want[o] = sum; tol[o] = 1e-5 * scale + 1e-6
            } } } }
            assertClose(out, want, tolerance: tol, "\(g)")
        }
    }

    /// col2im scatters exactly what im2col gathered, and ⟨im2col(x), y⟩ = ⟨x, col2im(y)⟩.
    func testCol2imIsTheAdjoint() {
        for (index, g) in Self.geometries.enumerated() {
            var rng = LCG(seed: UInt64(200 + index))
            let x = rng.floats(g.inputCount), y = rng.floats(g.rows * g.rowLength)
            var want = [Double](repeating: 0, count: g.inputCount), scale = want
            for row in 0..<g.rows { for col in 0..<g.rowLength {
                if let i = g.source(row: row, col: col) {
                    want[i] += Double(y[row * g.rowLength + col]); scale[i] += abs(Double(y[row * g.rowLength + col]))
                }
            } }
            for threads in [1, 2] {
                let grad = col2im(g, y, threads: threads)
                assertClose(grad, want, tolerance: scale.map { 1e-5 * $0 + 1e-7 }, "\(g) threads \(threads)")
                let cols = im2col(g, x, threads: threads)
                let lhs = zip(cols, y).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                let rhs = zip(x, grad).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                XCTAssertEqual(lhs, rhs, accuracy: 1e-4 * max(1, abs(lhs)), "\(g)")
            }
        }
    }
}
