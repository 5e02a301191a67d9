import CFoveaKernels
import XCTest
import Fovea

/// Weights packed once for inference (a GEMM's B, a Winograd layer's 36 transformed matrices) give
/// exactly the results of packing them on every call, on every runnable path; and Winograd's fused
/// 2×2 max pool equals pooling its output.
final class PackedWeightsTests: XCTestCase {
    /// The C kernels' number for a path.
    func cPath(_ path: KernelPath) -> Int32 {
        Int32(path == .portable ? FOVEA_PATH_PORTABLE : path == .avx2 ? FOVEA_PATH_AVX2 : FOVEA_PATH_AVX512)
    }

    /// (m, n, k): edge tiles in both directions, k past the 256-deep panels (two pc blocks), n past
    /// the 4,080-column panels (two jc blocks), one row (a dense layer at batch 1).
    static let shapes: [(Int, Int, Int)] = [(1, 1, 1), (7, 37, 300), (13, 64, 32), (3, 4100, 5), (20, 17, 513), (1, 64, 576)]

    func testPackedGEMMEqualsGEMM() {
        var rng = LCG(seed: 31)
        for path in runnablePaths {
            let p = cPath(path)
            for (index, (m, n, k)) in Self.shapes.enumerated() {
                let a = rng.floats(m * (k + 3)), b = rng.floats(k * n), bias = rng.floats(n), c0 = rng.floats(m * n)
                let beta: Float = index % 2 == 0 ? 0 : 0.5, alpha: Float = index % 3 == 0 ? 1 : -1.5
                var packed = [Float](repeating: .nan, count: fovea_sgemm_packed_floats(p, n, k))
                b.withPointer { pb in packed.withMutablePointer { fovea_sgemm_pack_b(p, 0, n, k, pb, n, $0) } }
                for (withBias, relu) in [(false, false), (true, true), (true, false)] {
                    var want = c0, got = c0
                    a.withPointer { pa in b.withPointer { pb in bias.withPointer { pbias in
                        want.withMutablePointer {
                            fovea_sgemm(p, 0, 0, m, n, k, alpha, pa, k + 3, pb, n, beta, $0, n, withBias ? pbias : nil, relu ? 1 : 0)
                        }
                        packed.withPointer { pp in got.withMutablePointer {
                            fovea_sgemm_packed(p, 0, m, n, k, alpha, pa, k + 3, pp, beta, $0, n, withBias ? pbias : nil, relu ? 1 : 0)
                        } }
                    } } }
                    XCTAssertEqual(got, want, "\(path) m=\(m) n=\(n) k=\(k) bias=\(withBias) relu=\(relu)")
                    XCTAssertFalse(got.contains { $0.isNaN }, "\(path) m=\(m) n=\(n) k=\(k)")
                }
            }
        }
    }

    /// fovea_sgemm_packed_batch writes exactly what fovea_sgemm_packed writes for each product:
    /// row edges of 1-5 rows (the narrow kernel and the scratch tile), more rows than the blocked
    /// GEMM's 144-row blocks, column edges, strided A and C (as Winograd's 36 products lie), and
    /// shapes past its direct walk (k past one panel of any path; n too wide to read A in place),
    /// which fall back to the blocked GEMM.
    func testPackedBatchEqualsEachProduct() {
        var rng = LCG(seed: 33)
        for path in runnablePaths {
            let p = cPath(path)
            let wide = 16 * Int(fovea_gemm_nr(p)) + 1  // past fovea_in_place_a on this path
            let shapes: [(count: Int, m: Int, n: Int, k: Int)] = [
                (36, 9, 64, 32), (36, 37, 64, 32), (3, 13, 17, 5), (4, 1, 40, 7), (2, 2, 33, 64), (5, 8, 100, 3),
                (3, 10, 40, 16), (2, 11, 64, 8), (2, 151, 48, 8), (1, 148, 33, 5),
                (2, 7, 64, 300), (2, 14, wide, 9), (1, 6, 16, 1),
            ]
            for (count, m, n, k) in shapes {
                // A_x's rows are `lda` apart and the products interleave, as v[t][ξ][c] does.
                let lda = count * k + 1, ldc = count * n + 2
                let a = rng.floats(m * lda), b = rng.floats(count * k * n)
                let each = fovea_sgemm_packed_floats(p, n, k)
                var packed = [Float](repeating: .nan, count: count * each)
                b.withPointer { pb in packed.withMutablePointer { pp in
                    for x in 0..<count { fovea_sgemm_pack_b(p, 0, n, k, pb + x * k * n, n, pp + x * each) }
                } }
                var want = [Float](repeating: -7, count: m * ldc), got = want
                a.withPointer { pa in packed.withPointer { pp in
                    want.withMutablePointer { pc in
                        for x in 0..<count {
                            fovea_sgemm_packed(p, 0, m, n, k, 1, pa + x * k, lda, pp + x * each, 0, pc + x * n, ldc, nil, 0)
                        }
                    }
                    got.withMutablePointer { fovea_sgemm_packed_batch(p, count, m, n, k, pa, lda, k, pp, each, $0, ldc, n) }
                } }
                XCTAssertEqual(got, want, "\(path) count=\(count) m=\(m) n=\(n) k=\(k)")
                XCTAssertEqual(got.filter { $0 == -7 }.count, m * (ldc - count * n), "\(path) m=\(m) n=\(n) k=\(k): wrote outside C")
            }
        }
    }

    func testPackedWinogradEqualsTransformingOnEveryCall() {
        var rng = LCG(seed: 32)
        for path in runnablePaths {
            let p = cPath(path)
            for t in WinogradTests.cases {
                let c = t.channels, f = t.filters
                let x = rng.floats(t.batch * t.height * t.width * c), w = rng.floats(9 * c * f), bias = rng.floats(f)
                var u = [Float](repeating: 0, count: 36 * c * f)
                var packed = [Float](repeating: .nan, count: fovea_winograd_packed_floats(p, c, f))
                w.withPointer { pw in u.withMutablePointer { pu in packed.withMutablePointer { fovea_winograd_pack_weights(p, pw, c, f, pu, $0) } } }
                var plain = [Float](repeating: 0, count: 36 * c * f)
                w.withPointer { pw in plain.withMutablePointer { fovea_winograd_weights(pw, c, f, 0, $0) } }
                let tiles = t.batch * ((t.outH + 3) / 4) * ((t.outW + 3) / 4), block = 5
                var v = [Float](repeating: 0, count: 36 * block * c), mm = [Float](repeating: 0, count: 36 * block * f)
                for pool in [false, true] where !pool || (t.outH >= 2 && t.outW >= 2) {
                    let outCount = t.batch * (pool ? (t.outH / 2) * (t.outW / 2) : t.outH * t.outW) * f
                    func run(_ weights: [Float], packed isPacked: Bool) -> [Float] {
                        var out = [Float](repeating: .nan, count: outCount)
                        x.withPointer { px in weights.withPointer { pu in bias.withPointer { pb in out.withMutablePointer { po in
                            v.withMutablePointer { pv in mm.withMutablePointer { pm in
                                fovea_winograd_conv3x3(p, px, t.height, t.width, c, t.pad, t.pad, t.outH, t.outW, pu, isPacked ? 1 : 0,
                                                       f, pb, 1, pool ? 1 : 0, po, 0, tiles, block, pv, pm)
                            } }
                        } } } }
                        return out
                    }
                    let got = run(packed, packed: true), want = run(plain, packed: false)
                    XCTAssertEqual(got, want, "\(path) \(t) pool \(pool)")
                    XCTAssertFalse(got.contains { $0.isNaN }, "\(path) \(t) pool \(pool): an output left unwritten")
                }
            }
        }
    }

    /// Kernels.winogradConv3x3 with `pool` equals the 2×2, stride-2 `valid` max pool of its output
    /// (odd output sizes drop their last row and column), with and without bias and ReLU, 1 and 2 threads.
    func testWinogradFusedPoolEqualsPoolingTheOutput() {
        var rng = LCG(seed: 33)
        for path in runnablePaths {
            for (index, t) in WinogradTests.cases.enumerated() where t.outH >= 2 && t.outW >= 2 {
                let x = rng.floats(t.batch * t.height * t.width * t.channels), w = rng.floats(9 * t.channels * t.filters)
                let bias = index % 2 == 0 ? rng.floats(t.filters) : nil
                let ph = t.outH / 2, pw = t.outW / 2, f = t.filters
                for relu in [false, true] {
                    for threads in [1, 2] {
                        func run(pool: Bool) -> [Float] {
                            var out = [Float](repeating: .nan, count: t.batch * (pool ? ph * pw : t.outH * t.outW) * f)
                            x.withPointer { px in w.withPointer { pk in out.withMutablePointer { po in
                                let go = { (pb: UnsafePointer<Float>?) in
                                    Kernels.winogradConv3x3(input: px, batch: t.batch, height: t.height, width: t.width,
                                                            channels: t.channels, padTop: t.pad, padLeft: t.pad,
                                                            outH: t.outH, outW: t.outW, kernel: pk, filters: f,
                                                            bias: pb, relu: relu, pool: pool, output: po, path: path, threads: threads)
                                }
                                if let bias { bias.withPointer { go($0) } } else { go(nil) }
                            } } }
                            return out
                        }
                        let full = run(pool: false), pooled = run(pool: true)
                        var want = [Float]()
                        for b in 0..<t.batch { for y in 0..<ph { for xx in 0..<pw { for k in 0..<f {
                            func at(_ dy: Int, _ dx: Int) -> Float { full[((b * t.outH + 2 * y + dy) * t.outW + 2 * xx + dx) * f + k] }
                            want.append(Swift.max(Swift.max(at(0, 0), at(0, 1)), Swift.max(at(1, 0), at(1, 1))))
                        } } } }
                        XCTAssertEqual(pooled, want, "\(path) \(t) relu \(relu) threads \(threads)")
                    }
                }
            }
        }
    }
}
