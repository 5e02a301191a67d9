import XCTest
import Fovea
import Foundation

/// Milliseconds of the depthwise convolution and batch normalization at MobileNetV2 / ResNet sizes,
/// on 1 and 2 threads and every kernel path. Skipped unless FOVEA_BENCH=1:
///   FOVEA_BENCH=1 swift test -c release --skip-build --filter ConvFamilyBenchmark
/// Each figure is "wall (CPU)": the fastest of the timed calls after a warm-up, wall-clock and the
/// process's CPU time over the same call (on a busy host, CPU time is the steadier of the two).
final class ConvFamilyBenchmark: XCTestCase {
    struct Time: CustomStringConvertible {
        var wall: Double, cpu: Double
        var description: String { String(format: "%.3f (%.3f) ms", wall, cpu) }
        static func - (a: Time, b: Time) -> Time { Time(wall: a.wall - b.wall, cpu: a.cpu - b.cpu) }
    }

    static func processCPU() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) * 1e3 + Double(t.tv_nsec) / 1e6
    }

    /// The fastest of `reps` timed calls after a warm-up call.
    func milliseconds(reps: Int = 15, _ body: () -> Void) -> Time {
        body()
        var best = Time(wall: .infinity, cpu: .infinity)
        for _ in 0..<reps {
            let start = DispatchTime.now().uptimeNanoseconds, cpu = Self.processCPU()
            body()
            let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            if wall < best.wall { best = Time(wall: wall, cpu: Self.processCPU() - cpu) }
        }
        return best
    }

    func withThreads<R>(_ threads: Int, _ body: () -> R) -> R {
        let saved = ThreadPool.threadCount
        ThreadPool.threadCount = threads
        defer { ThreadPool.threadCount = saved }
        return body()
    }

    func testDepthwiseAndBatchNormTimes() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["FOVEA_BENCH"] == "1", "set FOVEA_BENCH=1 to run")
        for (n, h, w, c) in [(1, 112, 112, 32), (16, 56, 56, 144)] {
            let x = Tensor.uniform([n, h, w, c], low: -1, high: 1, seed: 1)
            let k = Tensor.uniform([3, 3, c, 1], low: -1, high: 1, seed: 2), b = Tensor.uniform([c], seed: 3)
            let window = Window2D(rows: WindowAxis(input: h, kernel: 3, stride: 1, padding: .same)!,
                                  columns: WindowAxis(input: w, kernel: 3, stride: 1, padding: .same)!)
            let probe = Tensor.uniform([n, h, w, c], seed: 4)
            var line = "depthwise 3×3 same [\(n), \(h), \(w), \(c)]:"
            for path in Kernels.supportedPaths {
                for threads in [1, 2] {
                    var out = [Float](repeating: 0, count: n * h * w * c)
                    let ms = x.withUnsafeBufferPointer { px in k.withUnsafeBufferPointer { pk in b.withUnsafeBufferPointer { pb in
                        out.withUnsafeMutableBufferPointer { po in
                            milliseconds {
                                Kernels.depthwiseConv2D(input: px.baseAddress!, batch: n, height: h, width: w, channels: c,
                                                        kernelH: 3, kernelW: 3, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1,
                                                        padTop: 1, padLeft: 1, outH: h, outW: w, kernel: pk.baseAddress!,
                                                        bias: pb.baseAddress!, output: po.baseAddress!, path: path, threads: threads)
                            }
                        }
                    } } }
                    line += " \(path.rawValue)/\(threads)t \(ms)"
                }
            }
            print(line)
            for threads in [1, 2] {
                withThreads(threads) {
                    let forward = milliseconds(reps: 7) { _ = Tensor.depthwiseConv2D(x, kernel: k, bias: b, window: window) }
                    let both = milliseconds(reps: 7) {
                        let leaves = [x, k, b].map { $0.requiringGradient() }
                        let y = Tensor.depthwiseConv2D(leaves[0], kernel: leaves[1], bias: leaves[2], window: window)
                        _ = gradients(of: (y * probe).sum(), wrt: leaves)
                    }
                    let harness = milliseconds(reps: 7) {
                        let leaf = x.requiringGradient()
                        _ = gradients(of: (leaf * probe).sum(), wrt: [leaf])
                    }
                    print("  op, \(threads)t: forward \(forward), forward+backward \(both) − harness (Σ y·probe and its gradient) \(harness) = \(both - harness)")
                }
            }
        }
        let x = Tensor.uniform([16, 56, 56, 64], low: -1, high: 2, seed: 5)
        let gamma = Tensor.uniform([64], low: 0.5, high: 1.5, seed: 6), beta = Tensor.uniform([64], seed: 7)
        let dy = Tensor.uniform(x.shape, low: -1, high: 1, seed: 8)
        for threads in [1, 2] {
            withThreads(threads) {
                let forward = milliseconds {
                    _ = Tensor.batchNormalizationTraining(x, gamma: gamma, beta: beta, epsilon: 1e-3)
                }
                // The pullback alone: gradients of Σ y·dy take dy as y's gradient.
                let both = milliseconds {
                    let leaves = [x, gamma, beta].map { $0.requiringGradient() }
                    let y = Tensor.batchNormalizationTraining(leaves[0], gamma: leaves[1], beta: leaves[2], epsilon: 1e-3).output
                    _ = gradients(of: (y * dy).sum(), wrt: leaves)
                }
                // The same loss and its gradient without the batch normalization.
                let harness = milliseconds {
                    let leaf = x.requiringGradient()
                    _ = gradients(of: (leaf * dy).sum(), wrt: [leaf])
                }
                print("BN training [16, 56, 56, 64] \(threads)t: forward \(forward), forward+backward \(both) − harness (Σ y·dy and its gradient) \(harness) = \(both - harness)")
            }
        }
    }
}

extension ConvFamilyBenchmark {
    /// The kernels under the depthwise gradient and batch normalization, one by one.
    func testKernelPieces() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["FOVEA_BENCH"] == "1", "set FOVEA_BENCH=1 to run")
        let (n, h, w, c) = (16, 56, 56, 144)
        let x = Tensor.uniform([n, h, w, c], low: -1, high: 1, seed: 1), k = Tensor.uniform([3, 3, c], seed: 2)
        let dy = Tensor.uniform([n, h, w, c], low: -1, high: 1, seed: 5)
        // Outputs are written before timing starts: a fresh 29 MB buffer's page faults cost more
        // than the kernel (10-30 ms against 4-5 ms here), and the op's allocator, not the kernel,
        // decides whether a gradient buffer is fresh.
        var dx = [Float](repeating: 0, count: x.count), dk = [Float](repeating: 0, count: 9 * c), db = [Float](repeating: 0, count: c)
        x.withUnsafeBufferPointer { px in k.withUnsafeBufferPointer { pk in dy.withUnsafeBufferPointer { pdy in
            dx.withUnsafeMutableBufferPointer { pdx in dk.withUnsafeMutableBufferPointer { pdk in db.withUnsafeMutableBufferPointer { pdb in
                for threads in [1, 2] {
                    let input = milliseconds(reps: 5) {
                        Kernels.depthwiseConv2DBackwardInput(gradOutput: pdy.baseAddress!, batch: n, height: h, width: w, channels: c,
                                                             kernelH: 3, kernelW: 3, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1,
                                                             padTop: 1, padLeft: 1, outH: h, outW: w, kernel: pk.baseAddress!,
                                                             gradInput: pdx.baseAddress!, threads: threads)
                    }
                    let kernel = milliseconds(reps: 5) {
                        Kernels.depthwiseConv2DBackwardKernel(input: px.baseAddress!, batch: n, height: h, width: w, channels: c,
                                                              kernelH: 3, kernelW: 3, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1,
                                                              padTop: 1, padLeft: 1, outH: h, outW: w, gradOutput: pdy.baseAddress!,
                                                              gradKernel: pdk.baseAddress!, threads: threads)
                    }
                    let bias = milliseconds(reps: 5) {
                        Kernels.columnSums(pdy.baseAddress!, rows: n * h * w, columns: c, sums: pdb.baseAddress!)
                    }
                    print("depthwise backward [16, 56, 56, 144] \(threads)t: input \(input), kernel \(kernel), bias (columnSums) \(bias)")
                }
            } } }
        } } }
        let (rows, channels) = (16 * 56 * 56, 64)
        let y = Tensor.uniform([rows, channels], low: -1, high: 2, seed: 3), g = Tensor.uniform([rows, channels], seed: 4)
        var out = [Float](repeating: 0, count: rows * channels), stats = [Float](repeating: 0.5, count: 4 * channels)
        var sums = [Double](repeating: 0, count: 2 * channels)
        y.withUnsafeBufferPointer { py in g.withUnsafeBufferPointer { pg in out.withUnsafeMutableBufferPointer { po in
            stats.withUnsafeMutableBufferPointer { ps in sums.withUnsafeMutableBufferPointer { pq in
                let (x, dy, o, s, q) = (py.baseAddress!, pg.baseAddress!, po.baseAddress!, ps.baseAddress!, pq.baseAddress!)
                for threads in [1, 2] {
                    let moments = milliseconds {
                        Kernels.batchNormMoments(x, rows: rows, channels: channels, mean: s, variance: s + channels,
                                                 meanLow: s + 2 * channels, threads: threads)
                    }
                    let normalize = milliseconds {
                        Kernels.batchNormalize(x, rows: rows, channels: channels, mean: s, meanLow: s + 2 * channels,
                                               scale: s + channels, beta: s + 3 * channels, output: o, threads: threads)
                    }
                    let backwardSums = milliseconds {
                        Kernels.batchNormBackwardSums(gradOutput: dy, input: x, mean: s, meanLow: s + 2 * channels, rows: rows,
                                                      channels: channels, sumGrad: q, sumGradCentered: q + channels, threads: threads)
                    }
                    let inputGradient = milliseconds {
                        Kernels.batchNormInputGradient(gradOutput: dy, input: x, mean: s, rows: rows, channels: channels,
                                                       a: s + channels, b: s + 2 * channels, d: s + 3 * channels,
                                                       gradInput: o, threads: threads)
                    }
                    print("BN kernels [16, 56, 56, 64] \(threads)t: moments \(moments), normalize \(normalize), gradient sums \(backwardSums), input gradient \(inputGradient)")
                }
            } }
        } } }
    }
}
