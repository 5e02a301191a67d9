import XCTest
import Fovea

/// The kernel tests loop over `runnablePaths`, the paths this CPU can run; a path compiled in that
/// the CPU lacks (AVX-512 on most CI machines) silently drops out of every loop, and its tests would
/// count as passed. Here each compiled path has a test of its own: skipped, by name, where the CPU
/// cannot run it, so the run's summary reports it; otherwise a GEMM check on that path alone.
final class KernelPathTests: XCTestCase {
    func testPortablePath() throws { try checkPath(.portable) }
    func testAVX2Path() throws { try checkPath(.avx2) }
    func testAVX512Path() throws { try checkPath(.avx512) }

    /// Every compiled path has a test above.
    func testEveryPathHasATest() {
        XCTAssertEqual(Set(KernelPath.allCases.map(\.rawValue)), ["portable", "avx2", "avx512"])
    }

    func checkPath(_ path: KernelPath, file: StaticString = #filePath, line: UInt = #line) throws {
        try XCTSkipUnless(Kernels.supportedPaths.contains(path),
                          "kernel path \(path.rawValue) is compiled in but this CPU cannot run it "
                            + "(features: \(Kernels.cpuFeatures.joined(separator: " "))): the GEMM, Winograd, packed-weight "
                            + "and convolution tests did not test it")
        // C = A·B + bias, ReLU, against a Double triple loop, for shapes that take the kernel's
        // full tiles and its edges, on one and two threads.
        for (index, (m, n, k)) in [(1, 1, 1), (7, 17, 33), (64, 65, 300)].enumerated() {
            var rng = LCG(seed: UInt64(900 + index))
            let a = rng.floats(m * k), b = rng.floats(k * n), bias = rng.floats(n)
            var c = [Float](repeating: .nan, count: m * n)
            a.withPointer { pa in b.withPointer { pb in bias.withPointer { pbias in c.withMutablePointer { pc in
                Kernels.sgemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: pa, lda: k, b: pb, ldb: n,
                              beta: 0, c: pc, ldc: n, bias: pbias, relu: true, path: path, threads: index == 2 ? 2 : 1)
            } } } }
            for i in 0..<m {
                for j in 0..<n {
                    var sum = Double(bias[j]), scale = abs(Double(bias[j]))
                    for p in 0..<k { sum += Double(a[i * k + p]) * Double(b[p * n + j]); scale += abs(Double(a[i * k + p]) * Double(b[p * n + j])) }
                    XCTAssertEqual(Double(c[i * n + j]), max(sum, 0), accuracy: 1e-4 * scale + 1e-6,
                                   "\(path.rawValue) \(m)×\(n)×\(k) at (\(i), \(j))", file: file, line: line)
                }
            }
        }
    }
}
