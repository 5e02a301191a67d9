import CFoveaKernels

extension Kernels {
    /// Below this many multiply-adds (m·n·k) a GEMM runs on the calling thread.
    static let gemmParallelThreshold: Double = 64 * 1024

    /// Row-major C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C, then optionally
    /// C[i][j] += bias[j] (bias has n entries) and then optionally ReLU, fused into the output pass.
    ///
    /// op(A) = A (stored m×k, lda ≥ k) or Aᵀ when `transA` (A stored k×m, lda ≥ m); likewise B
    /// (k×n with ldb ≥ n, or n×k with ldb ≥ k when `transB`). With beta = 0, C is never read (it
    /// may hold garbage). k = 0 or alpha = 0 gives C = beta·C (+ bias, ReLU) without reading A, B.
    /// Work is split over `threads ?? ThreadPool.threadCount` threads (over n, or over m when
    /// that duplicates less packing); `path ?? detectedPath` chooses the micro-kernel.
    public static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                             bias: UnsafePointer<Float>? = nil, relu: Bool = false,
                             path: KernelPath? = nil, threads: Int? = nil) {
        precondition(m >= 0 && n >= 0 && k >= 0, "sgemm: negative size m=\(m) n=\(n) k=\(k)")
        let p = resolve(path)
        guard m > 0, n > 0 else { return }
        precondition(ldc >= n, "sgemm: ldc=\(ldc) < n=\(n)")
        if k > 0 {
            precondition(lda >= (transA ? m : k), "sgemm: lda=\(lda) too small for \(transA ? "Aᵀ" : "A")")
            precondition(ldb >= (transB ? k : n), "sgemm: ldb=\(ldb) too small for \(transB ? "Bᵀ" : "B")")
        }
        let cPath = p.cValue
        let chunks = chunkCount(work: Double(m) * Double(n) * Double(max(k, 1)),
                                grain: gemmParallelThreshold, threads: threads)
        if chunks == 1 {
            fovea_sgemm(cPath, transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb,
                        beta, c, ldc, bias, relu ? 1 : 0)
            return
        }
        // Each chunk is an independent sub-GEMM on whole micro-tiles. Splitting over n makes
        // every chunk pack all of A (m·k), splitting over m packs all of B (k·n): pick the
        // cheaper, unless it leaves fewer tiles than chunks.
        let mr = Int(fovea_gemm_mr(cPath)), nr = Int(fovea_gemm_nr(cPath))
        let mTiles = (m + mr - 1) / mr, nTiles = (n + nr - 1) / nr
        let splitN = nTiles >= chunks && (n >= m || mTiles < chunks)
        if splitN {
            ThreadPool.parallelFor(nTiles, threads: chunks) { tiles in
                let j0 = tiles.lowerBound * nr, j1 = min(n, tiles.upperBound * nr)
                fovea_sgemm(cPath, transA ? 1 : 0, transB ? 1 : 0, m, j1 - j0, k, alpha, a, lda,
                            transB ? b + j0 * ldb : b + j0, ldb, beta, c + j0, ldc,
                            bias.map { $0 + j0 }, relu ? 1 : 0)
            }
        } else {
            ThreadPool.parallelFor(mTiles, threads: chunks) { tiles in
                let i0 = tiles.lowerBound * mr, i1 = min(m, tiles.upperBound * mr)
                fovea_sgemm(cPath, transA ? 1 : 0, transB ? 1 : 0, i1 - i0, n, k, alpha,
                            transA ? a + i0 : a + i0 * lda, lda, b, ldb, beta, c + i0 * ldc, ldc,
                            bias, relu ? 1 : 0)
            }
        }
    }
}
