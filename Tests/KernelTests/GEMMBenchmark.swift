import XCTest
import Fovea
import Foundation

/// GFLOP/s of the GEMM kernels. Skipped unless FOVEA_BENCH=1:
///   FOVEA_BENCH=1 swift test -c release --filter GEMMBenchmark
final class GEMMBenchmark: XCTestCase {
    func seconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Best-of-`reps` GFLOP/s for one shape (after a warm-up call).
    func gflops(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                path: KernelPath, threads: Int, reps: Int) -> Double {
        var rng = LCG(seed: 1)
        let a = rng.floats(m * k), b = rng.floats(k * n)
        var c = [Float](repeating: 0, count: m * n)
        var best = Double.infinity
        a.withPointer { pa in b.withPointer { pb in c.withMutablePointer { pc in
            for rep in 0...reps {
                let t = seconds {
                    Kernels.sgemm(transA: transA, transB: transB, m: m, n: n, k: k,
                                  a: pa, lda: transA ? m : k, b: pb, ldb: transB ? k : n,
                                  c: pc, ldc: n, path: path, threads: threads)
                }
                if rep > 0 { best = min(best, t) }
            }
        } } }
        return 2 * Double(m) * Double(n) * Double(k) / best / 1e9
    }

    func testGEMMThroughput() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["FOVEA_BENCH"] == "1", "set FOVEA_BENCH=1")
        print("detected path: \(Kernels.detectedPath), features: \(Kernels.cpuFeatures)")
        let shapes: [(String, Bool, Bool, Int, Int, Int)] = [
            ("square 1024", false, false, 1024, 1024, 1024),
            ("square 512", false, false, 512, 512, 512),
            ("conv fwd 64x26x26 · 288→64", false, false, 43264, 64, 288),
            ("conv fwd 64x13x13 · 576→128", false, false, 10816, 128, 576),
            ("conv fwd 64x26x26 · 9→32", false, false, 43264, 32, 9),
            ("dense 64 · 12544→128", false, false, 64, 128, 12544),
            ("dense 64 · 576→512", false, false, 64, 512, 576),
            ("weight grad Aᵀ 288×64 k=43264", true, false, 288, 64, 43264),
            ("input grad Bᵀ 43264×288 k=64", false, true, 43264, 288, 64),
        ]
        for path in runnablePaths.reversed() {
            for (name, tA, tB, m, n, k) in shapes {
                if path == .portable && name != "square 1024" { continue }
                let flops = 2.0 * Double(m * n) * Double(k)
                let reps = max(2, min(10, Int(4e9 / flops)))
                // Interleave 1- and 2-thread rounds: the machine is shared and noisy, keep the best.
                var best = [0.0, 0.0]
                for _ in 0..<3 {
                    for threads in [1, 2] {
                        best[threads - 1] = max(best[threads - 1], gflops(transA: tA, transB: tB, m: m, n: n, k: k,
                                                                          path: path, threads: threads, reps: reps))
                    }
                }
                print("\(path) \(name) (m=\(m) n=\(n) k=\(k)):"
                      + String(format: "  1T %.1f  2T %.1f GFLOP/s", best[0], best[1]))
            }
        }
    }
}
