import XCTest
import Fovea

final class GEMMTests: XCTestCase {
    struct Case: CustomStringConvertible {
        var transA = false, transB = false
        var m: Int, n: Int, k: Int
        var alpha: Float = 1, beta: Float = 0
        var padA = 0, padB = 0, padC = 0
        var bias = false, relu = false
        var path: KernelPath = .portable
        var threads = 1
        var description: String {
            "\(path) tA=\(transA) tB=\(transB) m=\(m) n=\(n) k=\(k) alpha=\(alpha) beta=\(beta) "
                + "pad=\(padA),\(padB),\(padC) bias=\(bias) relu=\(relu) threads=\(threads)"
        }
    }

    /// Runs one case against a Double triple loop; also checks that C's padding columns are untouched
    /// and, with beta = 0, that C's old contents (NaN) are never read.
    func check(_ t: Case, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        var rng = LCG(seed: seed)
        let aRows = t.transA ? t.k : t.m, aCols = t.transA ? t.m : t.k, lda = aCols + t.padA
        let bRows = t.transB ? t.n : t.k, bCols = t.transB ? t.k : t.n, ldb = bCols + t.padB
        let ldc = t.n + t.padC
        let a = rng.floats(aRows * lda), b = rng.floats(bRows * ldb)
        let bias = t.bias ? rng.floats(t.n) : []
        let sentinel: Float = 12345
        var c = [Float](repeating: sentinel, count: t.m * ldc)
        let c0 = rng.floats(t.m * t.n)
        for i in 0..<t.m { for j in 0..<t.n { c[i * ldc + j] = t.beta == 0 ? .nan : c0[i * t.n + j] } }

        var want = [Double](repeating: 0, count: t.m * ldc), tol = want
        for i in 0..<t.m {
            for j in 0..<ldc {
                if j >= t.n { want[i * ldc + j] = Double(sentinel); continue }
                var sum = 0.0, scale = 0.0
                for p in 0..<t.k {
                    let x = Double(t.transA ? a[p * lda + i] : a[i * lda + p])
                    let y = Double(t.transB ? b[j * ldb + p] : b[p * ldb + j])
                    sum += x * y; scale += abs(x * y)
                }
                var v = Double(t.alpha) * sum
                scale = abs(Double(t.alpha)) * scale
                if t.beta != 0 { v += Double(t.beta) * Double(c0[i * t.n + j]); scale += abs(Double(t.beta * c0[i * t.n + j])) }
                if t.bias { v += Double(bias[j]); scale += abs(Double(bias[j])) }
                if t.relu { v = max(v, 0) }
                want[i * ldc + j] = v
                tol[i * ldc + j] = 1e-4 * scale + 1e-6
            }
        }
        a.withPointer { pa in
            b.withPointer { pb in
                bias.withPointer { pbias in
                    c.withMutablePointer { pc in
                        Kernels.sgemm(transA: t.transA, transB: t.transB, m: t.m, n: t.n, k: t.k, alpha: t.alpha,
                                      a: pa, lda: lda, b: pb, ldb: ldb, beta: t.beta, c: pc, ldc: ldc,
                                      bias: t.bias ? pbias : nil, relu: t.relu, path: t.path, threads: t.threads)
                    }
                }
            }
        }
        assertClose(c, want, tolerance: tol, "\(t)", file: file, line: line)
    }

    /// All m, n, k in {1, 3, 7, 17, 33, 100} with all four transpositions, cycling through alpha,
    /// beta ∈ {0, 1, 0.5}, leading-dimension padding, bias, ReLU and 1 or 2 threads.
    func testOddShapesAllTranspositions() {
        let sizes = [1, 3, 7, 17, 33, 100]
        var index = 0
        for path in runnablePaths {
            for m in sizes { for n in sizes { for k in sizes {
                for trans in 0..<4 {
                    index += 1
                    var t = Case(transA: trans & 1 != 0, transB: trans & 2 != 0, m: m, n: n, k: k)
                    t.alpha = [1, 1.5, -0.75][index % 3]
                    t.beta = [0, 1, 0.5][(index / 3) % 3]
                    t.padA = index % 2 == 0 ? 0 : 3
                    t.padB = index % 4 < 2 ? 0 : 5
                    t.padC = index % 5 == 0 ? 0 : 2
                    t.bias = index % 7 < 3
                    t.relu = index % 11 < 5
                    t.path = path
                    t.threads = index % 2 + 1
                    check(t, seed: UInt64(index))
                }
            } } }
        }
    }

    /// Products whose last rows are an edge of 1-3 rows, on every path: with A read in place (narrow
    /// products) those rows run a kernel of their own over pairs of column slivers, and the columns
    /// past the last pair run the general edge path. Every epilogue, each setting cycling on its own
    /// period; k = 600 with the wider products makes them big enough to split over two threads.
    func testEdgesOfOneToThreeRows() {
        var index = 5000
        for path in runnablePaths {
            for m in [1, 2, 3, 8, 9, 13, 15] { for n in [15, 16, 31, 32, 33, 64, 65, 70, 130] { for k in [1, 5, 300, 600] {
                index += 1
                var t = Case(transA: false, transB: index % 4 == 0, m: m, n: n, k: k)
                t.alpha = index % 5 == 0 ? 1.5 : 1; t.beta = [0, 1, 0.5][(index / 2) % 3]
                t.padA = (index / 3) % 2; t.padC = 2
                t.bias = (index / 7) % 2 == 0; t.relu = (index / 11) % 2 == 0
                t.path = path; t.threads = m * n * k >= 1 << 20 || index % 3 == 0 ? 2 : 1
                check(t, seed: UInt64(index))
            } } }
        }
    }

    /// The edge kernel sums in the 6-row kernel's order with its epilogue: rows 6-8 of a 9-row product
    /// equal, bit for bit, the same rows computed inside a full 12-row product.
    func testEdgeRowsEqualTheSameRowsInAFullTile() {
        var rng = LCG(seed: 77)
        let n = 70, k = 300
        let a = rng.floats(12 * k), b = rng.floats(k * n), bias = rng.floats(n), c0 = rng.floats(12 * n)
        for path in runnablePaths {
            for (beta, relu) in [(Float(0), false), (0.5, true)] {
                func product(rows m: Int) -> [Float] {
                    var c = Array(c0[0..<(m * n)])
                    a.withPointer { pa in b.withPointer { pb in bias.withPointer { pbias in c.withMutablePointer { pc in
                        Kernels.sgemm(m: m, n: n, k: k, alpha: 1.5, a: pa, lda: k, b: pb, ldb: n, beta: beta, c: pc, ldc: n,
                                      bias: pbias, relu: relu, path: path, threads: 1)
                    } } } }
                    return c
                }
                XCTAssertEqual(product(rows: 9), Array(product(rows: 12)[0..<(9 * n)]), "\(path) beta \(beta) relu \(relu)")
            }
        }
    }

    /// Shapes that cross the cache blocks (mc, kc, nc) and thread splits over both m and n.
    func testLargerShapesAndThreadSplits() {
        var index = 1000
        for path in runnablePaths {
            for (m, n, k) in [(129, 65, 300), (300, 40, 70), (40, 300, 70), (257, 96, 600), (7, 4100, 5),
                              (1, 1000, 130), (1000, 1, 130), (64, 64, 576), (50, 600, 40),
                              (800, 40, 600), (40, 800, 600)] {
                for trans in 0..<4 {
                    for threads in [1, 2] {
                        index += 1
                        var t = Case(transA: trans & 1 != 0, transB: trans & 2 != 0, m: m, n: n, k: k)
                        t.alpha = 0.5; t.beta = [0, 1, 0.5][index % 3]
                        t.padA = 1; t.padB = 2; t.padC = 3
                        t.bias = index % 2 == 0; t.relu = index % 3 == 0
                        t.path = path; t.threads = threads
                        check(t, seed: UInt64(index))
                    }
                }
            }
        }
    }

    /// k = 0 (and alpha = 0): C = beta·C (+ bias, ReLU), A and B unread.
    func testEmptyProduct() {
        for path in runnablePaths {
            for beta: Float in [0, 1, 0.5] {
                for (bias, relu) in [(false, false), (true, false), (true, true)] {
                    check(Case(m: 5, n: 9, k: 0, beta: beta, padC: 1, bias: bias, relu: relu, path: path), seed: 7)
                    check(Case(m: 5, n: 9, k: 4, alpha: 0, beta: beta, bias: bias, relu: relu, path: path), seed: 8)
                }
            }
        }
        // m = 0 or n = 0: nothing happens (and nothing is touched).
        var c: [Float] = [42]
        let one: [Float] = [1]
        one.withPointer { p in
            c.withMutablePointer { pc in
                Kernels.sgemm(m: 0, n: 1, k: 1, a: p, lda: 1, b: p, ldb: 1, c: pc, ldc: 1)
                Kernels.sgemm(m: 1, n: 0, k: 1, a: p, lda: 1, b: p, ldb: 1, c: pc, ldc: 1)
            }
        }
        XCTAssertEqual(c, [42])
    }

    /// The paths agree with each other to rounding on a blocked, threaded problem.
    func testPathsAgree() {
        var rng = LCG(seed: 99)
        let m = 150, n = 70, k = 520
        let a = rng.floats(m * k), b = rng.floats(k * n)
        var results: [[Float]] = []
        for path in runnablePaths {
            var c = [Float](repeating: 0, count: m * n)
            a.withPointer { pa in b.withPointer { pb in c.withMutablePointer { pc in
                Kernels.sgemm(m: m, n: n, k: k, a: pa, lda: k, b: pb, ldb: n, c: pc, ldc: n, path: path, threads: 2)
            } } }
            results.append(c)
        }
        for r in results.dropFirst() {
            for i in 0..<r.count { XCTAssertEqual(r[i], results[0][i], accuracy: 1e-3) }
        }
    }
}
