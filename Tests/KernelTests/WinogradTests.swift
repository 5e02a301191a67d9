import XCTest
import Fovea

/// Winograd F(4×4, 3×3) against the definition of a convolution, computed in Double, on every
/// runnable path: odd sizes (outputs not multiples of the 4×4 tile, channels not multiples of the
/// vector width), batch 1, each padding a 3×3 layer can have, and the adjoint (input gradient) form.
final class WinogradTests: XCTestCase {
    struct Case: CustomStringConvertible {
        var batch: Int, height: Int, width: Int, channels: Int, filters: Int
        var pad: Int  // before, on both axes; the output keeps every window that touches the input
        var outH: Int { height + 2 * pad - 2 }
        var outW: Int { width + 2 * pad - 2 }
        var description: String { "b\(batch) \(height)x\(width) \(channels)→\(filters) pad \(pad)" }
    }

    static let cases: [Case] = [
        Case(batch: 1, height: 5, width: 6, channels: 3, filters: 2, pad: 0),
        Case(batch: 3, height: 7, width: 9, channels: 9, filters: 13, pad: 1),
        Case(batch: 2, height: 13, width: 13, channels: 17, filters: 8, pad: 0),
        Case(batch: 1, height: 3, width: 3, channels: 1, filters: 1, pad: 2),
        Case(batch: 2, height: 10, width: 4, channels: 16, filters: 24, pad: 1),
        Case(batch: 5, height: 6, width: 11, channels: 8, filters: 7, pad: 2),
        Case(batch: 1, height: 28, width: 28, channels: 32, filters: 40, pad: 1),  // many tiles: several blocks per thread
    ]

    /// y[b, oy, ox, k] = Σ x[b, oy − pad + ky, ox − pad + kx, c] · w[ky, kx, c, k] (+ bias, ReLU), and Σ|terms|.
    static func reference(_ t: Case, _ x: [Float], _ w: [Float], bias: [Float]?, relu: Bool) -> (values: [Double], scale: [Double]) {
        var values = [Double](), scale = [Double]()
        for b in 0..<t.batch { for oy in 0..<t.outH { for ox in 0..<t.outW { for k in 0..<t.filters {
            var sum = Double(bias?[k] ?? 0), magnitude = abs(sum)
            for ky in 0..<3 { for kx in 0..<3 {
                let iy = oy - t.pad + ky, ix = ox - t.pad + kx
                guard iy >= 0, iy < t.height, ix >= 0, ix < t.width else { continue }
                for c in 0..<t.channels {
                    let term = Double(x[((b * t.height + iy) * t.width + ix) * t.channels + c]) * Double(w[((ky * 3 + kx) * t.channels + c) * t.filters + k])
                    sum += term; magnitude += abs(term)
                }
            } }
            values.append(relu ? max(sum, 0) : sum); scale.append(magnitude)
        } } } }
        return (values, scale)
    }

    func run(_ t: Case, input: [Float], kernel: [Float], filters: Int, channels: Int, adjoint: Bool,
             bias: [Float]?, relu: Bool, path: KernelPath, threads: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: t.batch * t.outH * t.outW * filters)
        input.withPointer { px in kernel.withPointer { pw in out.withMutablePointer { py in
            let run = { (pb: UnsafePointer<Float>?) in
                Kernels.winogradConv3x3(input: px, batch: t.batch, height: t.height, width: t.width, channels: channels,
                                        padTop: t.pad, padLeft: t.pad, outH: t.outH, outW: t.outW,
                                        kernel: pw, filters: filters, adjoint: adjoint, bias: pb, relu: relu,
                                        output: py, path: path, threads: threads)
            }
            if let bias { bias.withPointer { run($0) } } else { run(nil) }
        } } }
        return out
    }

    func testForwardMatchesTheDefinition() {
        var rng = LCG(seed: 91)
        for path in runnablePaths {
            for (index, t) in Self.cases.enumerated() {
                let x = rng.floats(t.batch * t.height * t.width * t.channels)
                let w = rng.floats(9 * t.channels * t.filters)
                let bias = index % 2 == 0 ? rng.floats(t.filters) : nil
                for relu in [false, true] {
                    for threads in [1, 2] {
                        let got = run(t, input: x, kernel: w, filters: t.filters, channels: t.channels, adjoint: false,
                                      bias: bias, relu: relu, path: path, threads: threads)
                        let want = Self.reference(t, x, w, bias: bias, relu: relu)
                        assertClose(got, want.values, tolerance: want.scale.map { 1e-5 * ($0 + 1) },
                                    "\(path) \(t) relu \(relu) threads \(threads)")
                    }
                }
            }
        }
    }

    /// With `adjoint`, the kernel is a forward layer's [3, 3, filters, channels], rotated by 180° and
    /// transposed: the same as the definition with that rearranged kernel.
    func testAdjointUsesTheRotatedTransposedKernel() {
        var rng = LCG(seed: 92)
        for path in runnablePaths {
            for t in Self.cases {
                let x = rng.floats(t.batch * t.height * t.width * t.channels)
                let forward = rng.floats(9 * t.filters * t.channels)  // [3, 3, filters, channels]
                var rotated = [Float](repeating: 0, count: forward.count)  // [3, 3, channels, filters]
                for ky in 0..<3 { for kx in 0..<3 { for k in 0..<t.filters { for c in 0..<t.channels {
                    rotated[((ky * 3 + kx) * t.channels + c) * t.filters + k] = forward[(((2 - ky) * 3 + 2 - kx) * t.filters + k) * t.channels + c]
                } } } }
                let got = run(t, input: x, kernel: forward, filters: t.filters, channels: t.channels, adjoint: true,
                              bias: nil, relu: false, path: path, threads: 2)
                let want = Self.reference(t, x, rotated, bias: nil, relu: false)
                assertClose(got, want.values, tolerance: want.scale.map { 1e-5 * ($0 + 1) }, "adjoint \(path) \(t)")
            }
        }
    }

    /// The weight gradient against its definition: dW[ky, kx, c, k] = Σ x[b, oy − pad + ky, ox − pad + kx, c] · dY[b, oy, ox, k].
    func testWeightGradientMatchesTheDefinition() {
        var rng = LCG(seed: 93)
        for path in runnablePaths {
            for t in Self.cases {
                let x = rng.floats(t.batch * t.height * t.width * t.channels)
                let dy = rng.floats(t.batch * t.outH * t.outW * t.filters)
                var want = [Double](repeating: 0, count: 9 * t.channels * t.filters), scale = want
                for b in 0..<t.batch { for oy in 0..<t.outH { for ox in 0..<t.outW { for ky in 0..<3 { for kx in 0..<3 {
                    let iy = oy - t.pad + ky, ix = ox - t.pad + kx
                    guard iy >= 0, iy < t.height, ix >= 0, ix < t.width else { continue }
                    for c in 0..<t.channels { for k in 0..<t.filters {
                        let term = Double(x[((b * t.height + iy) * t.width + ix) * t.channels + c]) * Double(dy[((b * t.outH + oy) * t.outW + ox) * t.filters + k])
                        want[((ky * 3 + kx) * t.channels + c) * t.filters + k] += term
                        scale[((ky * 3 + kx) * t.channels + c) * t.filters + k] += abs(term)
                    } }
                } } } } }
                for threads in [1, 2] {
                    var got = [Float](repeating: .nan, count: want.count)
                    x.withPointer { px in dy.withPointer { pdy in got.withMutablePointer { pw in
                        Kernels.winogradWeightGradient(input: px, batch: t.batch, height: t.height, width: t.width, channels: t.channels,
                                                       padTop: t.pad, padLeft: t.pad, gradOutput: pdy, outH: t.outH, outW: t.outW,
                                                       filters: t.filters, gradKernel: pw, path: path, threads: threads)
                    } } }
                    assertClose(got, want, tolerance: scale.map { 1e-5 * ($0 + 1) }, "weight gradient \(path) \(t) threads \(threads)")
                }
            }
        }
    }

    func testApplicability() {
        XCTAssertTrue(Kernels.winogradApplies(kernelH: 3, kernelW: 3, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1))
        XCTAssertFalse(Kernels.winogradApplies(kernelH: 3, kernelW: 3, strideH: 2, strideW: 1, dilationH: 1, dilationW: 1))
        XCTAssertFalse(Kernels.winogradApplies(kernelH: 3, kernelW: 3, strideH: 1, strideW: 1, dilationH: 2, dilationW: 1))
        XCTAssertFalse(Kernels.winogradApplies(kernelH: 5, kernelW: 5, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1))
    }
}
