import CFoveaKernels

extension Kernels {
    /// Below this many multiply-adds (m·n·k, about 25 µs on one Zen 3 core) a GEMM runs on the
    /// calling thread: waking a second thread costs more than it saves. Seed CNN single-image latency
    /// in fovea bench (same sitting): 0.115-0.124 ms at 64K, 0.099-0.107 ms at 1M, 0.101-0.108 at 4M.
    static let gemmParallelThreshold: Double = 1024 * 1024
    /// Threaded GEMMs are cut into up to this many pieces per thread, for load balance…
    static let piecesPerThread = 4
    /// …but no piece smaller than this many flops.
    static let minPieceFlops: Double = 4e6

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
        // Pieces are independent sub-GEMMs on whole micro-tiles. Splitting over n makes every
        // piece pack (or stream) all of A (m·k), splitting over m packs all of B (k·n): pick the
        // cheaper, unless it leaves fewer tiles than threads. There are a few pieces per thread,
        // handed out on demand, so a core slowed by other work does not hold up the rest.
        let mr = Int(fovea_gemm_mr(cPath)), nr = Int(fovea_gemm_nr(cPath))
        let mTiles = (m + mr - 1) / mr, nTiles = (n + nr - 1) / nr
        let splitN = nTiles >= chunks && (n >= m || mTiles < chunks)
        let tiles = splitN ? nTiles : mTiles
        let flops = 2 * Double(m) * Double(n) * Double(k)
        // A piece re-reads all of the operand it does not split, so keep pieces wide enough
        // (≥ 96 rows, ≥ 64 columns) to amortise that; use a whole multiple of the thread count.
        // A product wide enough to pack A keeps pieces wide enough to pack it too: a piece of 16
        // tiles or fewer reads A in place, which at 1024³ ran at 161-166 GFLOP/s on 2 threads
        // against 179-182 for two packed halves.
        let wide = splitN ? (n > 16 * nr ? n / (16 * nr + 1) : n / 64) : m / 96
        distribute(tiles: tiles, chunks: chunks, flops: flops, wide: wide) { t0, t1 in
            if splitN {
                let j0 = t0 * nr, j1 = min(n, t1 * nr)
                fovea_sgemm(cPath, transA ? 1 : 0, transB ? 1 : 0, m, j1 - j0, k, alpha, a, lda,
                            transB ? b + j0 * ldb : b + j0, ldb, beta, c + j0, ldc,
                            bias.map { $0 + j0 }, relu ? 1 : 0)
            } else {
                let i0 = t0 * mr, i1 = min(m, t1 * mr)
                fovea_sgemm(cPath, transA ? 1 : 0, transB ? 1 : 0, i1 - i0, n, k, alpha,
                            transA ? a + i0 : a + i0 * lda, lda, b, ldb, beta, c + i0 * ldc, ldc,
                            bias, relu ? 1 : 0)
            }
        }
    }

    /// Runs `body(firstTile, endTile)` over `tiles` micro-tile rows or columns cut into a few pieces
    /// per thread (each at least `minPieceFlops` and at most `wide` pieces), handed out on demand,
    /// so a core slowed by other work does not hold up the rest.
    private static func distribute(tiles: Int, chunks: Int, flops: Double, wide: Int, _ body: (Int, Int) -> Void) {
        var pieces = min(tiles, chunks * piecesPerThread, Int(flops / minPieceFlops), wide)
        pieces = pieces < 2 * chunks ? min(chunks, tiles) : pieces / chunks * chunks
        var next = 0
        withUnsafeMutablePointer(to: &next) { counter in
            ThreadPool.parallelFor(min(chunks, pieces), threads: chunks) { _ in
                while true {
                    let piece = fovea_fetch_increment(counter)
                    if piece >= pieces { break }
                    body(tiles * piece / pieces, tiles * (piece + 1) / pieces)
                }
            }
        }
    }

    /// `sgemm` with B packed ahead of time (``PackedWeights`` of form `.gemm(n:k:)`, on the path it
    /// was packed for): the same C, without packing B on every call. Split over the rows of A.
    static func sgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, packedB: PackedWeights,
                      c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>? = nil, relu: Bool = false,
                      threads: Int? = nil) {
        precondition(packedB.form == .gemm(n: n, k: k), "sgemm: B was packed as \(packedB.form), not [\(k), \(n)]")
        precondition(m >= 0 && lda >= k && ldc >= n, "sgemm: invalid sizes m=\(m) lda=\(lda) ldc=\(ldc)")
        guard m > 0, n > 0 else { return }
        let cPath = packedB.path.cValue
        let mr = Int(fovea_gemm_mr(cPath)), mTiles = (m + mr - 1) / mr
        let chunks = min(mTiles, chunkCount(work: Double(m) * Double(n) * Double(max(k, 1)),
                                            grain: gemmParallelThreshold, threads: threads))
        if chunks <= 1 {
            fovea_sgemm_packed(cPath, 0, m, n, k, 1, a, lda, packedB.pointer, 0, c, ldc, bias, relu ? 1 : 0)
            return
        }
        distribute(tiles: mTiles, chunks: chunks, flops: 2 * Double(m) * Double(n) * Double(k), wide: m / 96) { t0, t1 in
            let i0 = t0 * mr, i1 = min(m, t1 * mr)
            fovea_sgemm_packed(cPath, 0, i1 - i0, n, k, 1, a + i0 * lda, lda, packedB.pointer, 0, c + i0 * ldc, ldc,
                               bias, relu ? 1 : 0)
        }
    }
}
