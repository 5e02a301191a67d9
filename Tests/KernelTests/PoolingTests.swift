import XCTest
import Fovea

final class PoolingTests: XCTestCase {
    struct Geometry: CustomStringConvertible {
        var batch: Int, height: Int, width: Int, channels: Int
        var poolH: Int, poolW: Int, strideH: Int, strideW: Int
        var padTop = 0, padLeft = 0, padBottom = 0, padRight = 0
        var outH: Int { (height + padTop + padBottom - poolH) / strideH + 1 }
        var outW: Int { (width + padLeft + padRight - poolW) / strideW + 1 }
        var inputCount: Int { batch * height * width * channels }
        var outputCount: Int { batch * outH * outW * channels }
        var description: String {
            "b\(batch) \(height)x\(width)x\(channels) pool \(poolH)x\(poolW) s\(strideH),\(strideW) "
                + "pad \(padTop),\(padLeft),\(padBottom),\(padRight)"
        }
        /// Input indices of the real cells of output `o`'s window, in scan (row-major) order.
        func window(_ o: Int) -> [Int] {
            let ch = o % channels, ox = o / channels % outW, oy = o / (channels * outW) % outH
            let b = o / (channels * outW * outH)
            var cells: [Int] = []
            for ky in 0..<poolH { for kx in 0..<poolW {
                let iy = oy * strideH - padTop + ky, ix = ox * strideW - padLeft + kx
                if iy >= 0, iy < height, ix >= 0, ix < width {
                    cells.append(((b * height + iy) * width + ix) * channels + ch)
                }
            } }
            return cells
        }
    }

    // Keras `same` padding puts the odd extra cell at the bottom/right.
    static let geometries: [Geometry] = [
        Geometry(batch: 3, height: 7, width: 9, channels: 5, poolH: 3, poolW: 3, strideH: 2, strideW: 2,
                 padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
        Geometry(batch: 1, height: 6, width: 6, channels: 4, poolH: 2, poolW: 2, strideH: 2, strideW: 2),
        Geometry(batch: 2, height: 5, width: 7, channels: 3, poolH: 2, poolW: 2, strideH: 2, strideW: 2,
                 padBottom: 1, padRight: 1),
        Geometry(batch: 2, height: 6, width: 5, channels: 2, poolH: 3, poolW: 3, strideH: 1, strideW: 1,
                 padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
        Geometry(batch: 3, height: 1, width: 11, channels: 3, poolH: 1, poolW: 3, strideH: 1, strideW: 2,
                 padLeft: 1, padRight: 1),  // 1-D
        Geometry(batch: 1, height: 32, width: 32, channels: 16, poolH: 2, poolW: 2, strideH: 2, strideW: 2),  // threaded
        Geometry(batch: 4, height: 24, width: 24, channels: 8, poolH: 3, poolW: 3, strideH: 2, strideW: 2,
                 padBottom: 1, padRight: 1),  // threaded, by image
        Geometry(batch: 2, height: 5, width: 6, channels: 13, poolH: 2, poolW: 2, strideH: 2, strideW: 2,
                 padBottom: 1),  // 8-lane vector part and a 5-channel tail
    ]

    func testMaxPoolForwardWithTiesAndBackward() {
        for (index, g) in Self.geometries.enumerated() {
            var rng = LCG(seed: UInt64(300 + index))
            let input = rng.levels(g.inputCount, 3)  // values 0, 1, 2: plenty of ties
            let gradOut = rng.floats(g.outputCount)
            var wantOut = [Float](repeating: 0, count: g.outputCount), wantArg = [Int32](repeating: 0, count: g.outputCount)
            var wantGrad = [Double](repeating: 0, count: g.inputCount)
            for o in 0..<g.outputCount {
                let cells = g.window(o)
                var best = cells[0]
                for i in cells where input[i] > input[best] { best = i }
                wantOut[o] = input[best]; wantArg[o] = Int32(best)
                wantGrad[best] += Double(gradOut[o])
            }
            for threads in [1, 2] {
                var out = [Float](repeating: .nan, count: g.outputCount)
                var arg = [Int32](repeating: -7, count: g.outputCount)
                var grad = [Float](repeating: 0, count: g.inputCount)
                input.withPointer { pin in out.withMutablePointer { pout in arg.withUnsafeMutableBufferPointer { parg in
                    Kernels.maxPool2D(input: pin, batch: g.batch, height: g.height, width: g.width, channels: g.channels,
                                      poolH: g.poolH, poolW: g.poolW, strideH: g.strideH, strideW: g.strideW,
                                      padTop: g.padTop, padLeft: g.padLeft, outH: g.outH, outW: g.outW,
                                      output: pout, argmax: parg.baseAddress!, threads: threads)
                } } }
                XCTAssertEqual(out, wantOut, "\(g)")
                XCTAssertEqual(arg, wantArg, "\(g)")
                gradOut.withPointer { pg in arg.withUnsafeBufferPointer { parg in grad.withMutablePointer { pgi in
                    Kernels.maxPool2DBackward(gradOutput: pg, argmax: parg.baseAddress!, count: g.outputCount,
                                              batch: g.batch, gradInput: pgi, threads: threads)
                } } }
                assertClose(grad, wantGrad, tolerance: wantGrad.map { _ in 1e-5 }, "\(g)")
                // Without argmax: same values.
                var plain = [Float](repeating: .nan, count: g.outputCount)
                input.withPointer { pin in plain.withMutablePointer { pout in
                    Kernels.maxPool2D(input: pin, batch: g.batch, height: g.height, width: g.width, channels: g.channels,
                                      poolH: g.poolH, poolW: g.poolW, strideH: g.strideH, strideW: g.strideW,
                                      padTop: g.padTop, padLeft: g.padLeft, outH: g.outH, outW: g.outW,
                                      output: pout, argmax: nil, threads: threads)
                } }
                XCTAssertEqual(plain, wantOut, "\(g)")
            }
        }
    }

    func testMaxPoolNegativeValuesIgnorePadding() {
        // All inputs negative: a padding cell (conceptually 0 or −∞) must never win.
        let g = Geometry(batch: 1, height: 3, width: 3, channels: 2, poolH: 2, poolW: 2, strideH: 2, strideW: 2,
                         padTop: 1, padLeft: 1)
        let input = (0..<g.inputCount).map { -Float($0) - 1 }
        var out = [Float](repeating: 0, count: g.outputCount)
        input.withPointer { pin in out.withMutablePointer { pout in
            Kernels.maxPool2D(input: pin, batch: 1, height: 3, width: 3, channels: 2, poolH: 2, poolW: 2,
                              strideH: 2, strideW: 2, padTop: 1, padLeft: 1, outH: g.outH, outW: g.outW,
                              output: pout, argmax: nil)
        } }
        XCTAssertEqual(out, [-1, -2, -3, -4, -7, -8, -9, -10])
    }

    func testAveragePoolCountsRealCellsOnly() {
        for (index, g) in Self.geometries.enumerated() {
            var rng = LCG(seed: UInt64(400 + index))
            let input = rng.floats(g.inputCount), gradOut = rng.floats(g.outputCount)
            var wantOut = [Double](repeating: 0, count: g.outputCount)
            var wantGrad = [Double](repeating: 0, count: g.inputCount)
            for o in 0..<g.outputCount {
                let cells = g.window(o)
                wantOut[o] = cells.reduce(0.0) { $0 + Double(input[$1]) } / Double(cells.count)
                for i in cells { wantGrad[i] += Double(gradOut[o]) / Double(cells.count) }
            }
            for threads in [1, 2] {
                var out = [Float](repeating: .nan, count: g.outputCount)
                var grad = [Float](repeating: 0, count: g.inputCount)
                input.withPointer { pin in out.withMutablePointer { pout in
                    Kernels.avgPool2D(input: pin, batch: g.batch, height: g.height, width: g.width, channels: g.channels,
                                      poolH: g.poolH, poolW: g.poolW, strideH: g.strideH, strideW: g.strideW,
                                      padTop: g.padTop, padLeft: g.padLeft, outH: g.outH, outW: g.outW,
                                      output: pout, threads: threads)
                } }
                assertClose(out, wantOut, tolerance: wantOut.map { _ in 1e-5 }, "\(g)")
                gradOut.withPointer { pg in grad.withMutablePointer { pgi in
                    Kernels.avgPool2DBackward(gradOutput: pg, batch: g.batch, height: g.height, width: g.width,
                                              channels: g.channels, poolH: g.poolH, poolW: g.poolW,
                                              strideH: g.strideH, strideW: g.strideW, padTop: g.padTop,
                                              padLeft: g.padLeft, outH: g.outH, outW: g.outW,
                                              gradInput: pgi, threads: threads)
                } }
                assertClose(grad, wantGrad, tolerance: wantGrad.map { _ in 1e-5 }, "\(g)")
            }
        }
    }
}
