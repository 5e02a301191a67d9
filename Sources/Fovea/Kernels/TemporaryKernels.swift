// Naive stand-ins with the agreed signatures, replaced by the packed C kernels on merge.
public enum KernelPath: String, CaseIterable, Sendable { case portable, avx2, avx512 }

public enum Kernels {
    public static let detectedPath: KernelPath = .portable
    public static var cpuFeatures: [String] { [] }

    public static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                             bias: UnsafePointer<Float>? = nil, relu: Bool = false,
                             path: KernelPath? = nil, threads: Int? = nil) {
        ThreadPool.parallelFor(m, threads: threads) { rows in
            var row = [Float](repeating: 0, count: n)
            for i in rows {
                for j in 0..<n { row[j] = 0 }
                for p in 0..<k {
                    let av = transA ? a[p * lda + i] : a[i * lda + p]
                    if av == 0 { continue }
                    if transB { for j in 0..<n { row[j] += av * b[j * ldb + p] } }
                    else { let bp = b + p * ldb; for j in 0..<n { row[j] += av * bp[j] } }
                }
                for j in 0..<n {
                    var v = alpha * row[j] + (beta == 0 ? 0 : beta * c[i * ldc + j])
                    if let bias { v += bias[j] }
                    if relu { v = max(v, 0) }
                    c[i * ldc + j] = v
                }
            }
        }
    }

    public static func im2col(input: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels: Int,
                              kernelH: Int, kernelW: Int, strideH: Int, strideW: Int,
                              dilationH: Int, dilationW: Int, padTop: Int, padLeft: Int,
                              outH: Int, outW: Int, output: UnsafeMutablePointer<Float>, threads: Int? = nil) {
        var o = 0
        for n in 0..<batch { for oy in 0..<outH { for ox in 0..<outW { for ky in 0..<kernelH { for kx in 0..<kernelW {
            let y = oy * strideH - padTop + ky * dilationH, x = ox * strideW - padLeft + kx * dilationW
            for ch in 0..<channels {
                output[o] = (y >= 0 && y < height && x >= 0 && x < width) ? input[((n * height + y) * width + x) * channels + ch] : 0
                o += 1
            }
        } } } } }
    }

    public static func col2im(columns: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels: Int,
                              kernelH: Int, kernelW: Int, strideH: Int, strideW: Int,
                              dilationH: Int, dilationW: Int, padTop: Int, padLeft: Int,
                              outH: Int, outW: Int, gradInput: UnsafeMutablePointer<Float>, threads: Int? = nil) {
        var o = 0
        for n in 0..<batch { for oy in 0..<outH { for ox in 0..<outW { for ky in 0..<kernelH { for kx in 0..<kernelW {
            let y = oy * strideH - padTop + ky * dilationH, x = ox * strideW - padLeft + kx * dilationW
            for ch in 0..<channels {
                if y >= 0 && y < height && x >= 0 && x < width { gradInput[((n * height + y) * width + x) * channels + ch] += columns[o] }
                o += 1
            }
        } } } } }
    }

    public static func maxPool2D(input: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels: Int,
                                 poolH: Int, poolW: Int, strideH: Int, strideW: Int, padTop: Int, padLeft: Int,
                                 outH: Int, outW: Int, output: UnsafeMutablePointer<Float>,
                                 argmax: UnsafeMutablePointer<Int32>?, threads: Int? = nil) {
        for n in 0..<batch { for oy in 0..<outH { for ox in 0..<outW { for ch in 0..<channels {
            var best = -Float.infinity, at = -1
            for ky in 0..<poolH { for kx in 0..<poolW {
                let y = oy * strideH - padTop + ky, x = ox * strideW - padLeft + kx
                guard y >= 0 && y < height && x >= 0 && x < width else { continue }
                let i = ((n * height + y) * width + x) * channels + ch
                if at < 0 || input[i] > best { best = input[i]; at = i }
            } }
            let o = ((n * outH + oy) * outW + ox) * channels + ch
            output[o] = best
            argmax?[o] = Int32(at)
        } } } }
    }

    public static func maxPool2DBackward(gradOutput: UnsafePointer<Float>, argmax: UnsafePointer<Int32>, count: Int,
                                         batch: Int, gradInput: UnsafeMutablePointer<Float>, threads: Int? = nil) {
        for i in 0..<count { gradInput[Int(argmax[i])] += gradOutput[i] }
    }

    public static func avgPool2D(input: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels: Int,
                                 poolH: Int, poolW: Int, strideH: Int, strideW: Int, padTop: Int, padLeft: Int,
                                 outH: Int, outW: Int, output: UnsafeMutablePointer<Float>, threads: Int? = nil) {
        for n in 0..<batch { for oy in 0..<outH { for ox in 0..<outW { for ch in 0..<channels {
            var total: Float = 0, cells = 0
            for ky in 0..<poolH { for kx in 0..<poolW {
                let y = oy * strideH - padTop + ky, x = ox * strideW - padLeft + kx
                guard y >= 0 && y < height && x >= 0 && x < width else { continue }
                total += input[((n * height + y) * width + x) * channels + ch]; cells += 1
            } }
            output[((n * outH + oy) * outW + ox) * channels + ch] = total / Float(max(cells, 1))
        } } } }
    }

    public static func avgPool2DBackward(gradOutput: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels: Int,
                                         poolH: Int, poolW: Int, strideH: Int, strideW: Int, padTop: Int, padLeft: Int,
                                         outH: Int, outW: Int, gradInput: UnsafeMutablePointer<Float>, threads: Int? = nil) {
        for n in 0..<batch { for oy in 0..<outH { for ox in 0..<outW { for ch in 0..<channels {
            var cells = 0
            for ky in 0..<poolH { for kx in 0..<poolW {
                let y = oy * strideH - padTop + ky, x = ox * strideW - padLeft + kx
                if y >= 0 && y < height && x >= 0 && x < width { cells += 1 }
            } }
            let g = gradOutput[((n * outH + oy) * outW + ox) * channels + ch] / Float(max(cells, 1))
            for ky in 0..<poolH { for kx in 0..<poolW {
                let y = oy * strideH - padTop + ky, x = ox * strideW - padLeft + kx
                if y >= 0 && y < height && x >= 0 && x < width { gradInput[((n * height + y) * width + x) * channels + ch] += g }
            } }
        } } } }
    }
}
