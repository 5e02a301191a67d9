import CFoveaKernels

extension Kernels {
    /// Below this many floats moved, a layout transform runs on the calling thread.
    static let transformParallelThreshold: Double = 32 * 1024

    /// NHWC im2col. `input` is [batch, height, width, channels]; `output` gets
    /// batch·outH·outW rows of kernelH·kernelW·channels entries ordered (ky, kx, channel) —
    /// Keras's kernel layout (kh, kw, cIn, cOut) flattened to [kh·kw·cIn, cOut], so a convolution
    /// is im2col · kernel. Output position (oy, ox) reads input row
    /// oy·strideH − padTop + ky·dilationH (likewise for x); cells outside the input are 0.
    public static func im2col(input: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels: Int,
                              kernelH: Int, kernelW: Int, strideH: Int, strideW: Int,
                              dilationH: Int, dilationW: Int, padTop: Int, padLeft: Int,
                              outH: Int, outW: Int, output: UnsafeMutablePointer<Float>, threads: Int? = nil) {
        checkWindow(batch, height, width, channels, kernelH, kernelW, strideH, strideW,
                    dilationH, dilationW, outH, outW)
        let rows = batch * outH
        let rowFloats = outW * kernelH * kernelW * channels
        let chunks = chunkCount(work: Double(rows) * Double(rowFloats), grain: transformParallelThreshold,
                                threads: threads)
        ThreadPool.parallelFor(rows, threads: chunks) { range in
            fovea_im2col(input, height, width, channels, kernelH, kernelW, strideH, strideW,
                         dilationH, dilationW, padTop, padLeft, outH, outW, output,
                         range.lowerBound, range.upperBound)
        }
    }

    /// The adjoint of `im2col`: accumulates (+=) every column entry into the input cell it was
    /// read from, in `gradInput` [batch, height, width, channels] (the caller zeroes it first).
    /// Padding entries are dropped. Same parameters as `im2col`.
    public static func col2im(columns: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels: Int,
                              kernelH: Int, kernelW: Int, strideH: Int, strideW: Int,
                              dilationH: Int, dilationW: Int, padTop: Int, padLeft: Int,
                              outH: Int, outW: Int, gradInput: UnsafeMutablePointer<Float>, threads: Int? = nil) {
        checkWindow(batch, height, width, channels, kernelH, kernelW, strideH, strideW,
                    dilationH, dilationW, outH, outW)
        let work = Double(batch * outH * outW) * Double(kernelH * kernelW * channels)
        splitImagesAndChannels(batch: batch, channels: channels,
                               chunks: chunkCount(work: work, grain: transformParallelThreshold, threads: threads)) {
            b0, b1, c0, c1 in
            fovea_col2im(columns, height, width, channels, kernelH, kernelW, strideH, strideW,
                         dilationH, dilationW, padTop, padLeft, outH, outW, gradInput, b0, b1, c0, c1)
        }
    }

    /// A one-input-channel NHWC convolution (a first layer), computed directly rather than as
    /// im2col + GEMM: `input` [batch, height, width] (one channel), `kernel` [kernelH, kernelW, 1,
    /// filters], `output` [batch, outH, outW, filters] = bias + the window's weighted sum, then ReLU
    /// when `relu`. With `pool`, `output` is instead [batch, outH/2, outW/2, filters]: the 2×2,
    /// stride-2 `valid` max pool of that result, which is never stored whole, and `argmax` (when
    /// given, one byte per pooled value) says which cell of each window won: 0 top-left, 1 top-right,
    /// 2 bottom-left, 3 bottom-right, the first of equal values in that order (as ``maxPool2D``'s
    /// argmax). Window geometry as `im2col`. Split by output rows over the pool when the job is
    /// large enough to pay for it.
    public static func oneChannelConv2D(input: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
                                        kernelH: Int, kernelW: Int, strideH: Int, strideW: Int,
                                        dilationH: Int, dilationW: Int, padTop: Int, padLeft: Int,
                                        outH: Int, outW: Int, kernel: UnsafePointer<Float>, filters: Int,
                                        bias: UnsafePointer<Float>?, relu: Bool, pool: Bool = false,
                                        output: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<UInt8>? = nil,
                                        path: KernelPath? = nil, threads: Int? = nil) {
        checkWindow(batch, height, width, 1, kernelH, kernelW, strideH, strideW, dilationH, dilationW, outH, outW)
        precondition(filters >= 1, "oneChannelConv2D: filters must be at least 1")
        precondition(argmax == nil || pool, "oneChannelConv2D: argmax needs pool")
        let rows = batch * (pool ? outH / 2 : outH)
        let work = Double(batch * outH * outW) * Double(kernelH * kernelW * filters)
        let cPath = resolve(path).cValue
        ThreadPool.parallelFor(rows, threads: chunkCount(work: work, grain: gemmParallelThreshold, threads: threads)) { range in
            let status = fovea_conv1_forward(cPath, input, height, width, kernelH, kernelW, strideH, strideW,
                                             dilationH, dilationW, padTop, padLeft, outH, outW, kernel, filters,
                                             bias, relu ? 1 : 0, pool ? 1 : 0, output, argmax, range.lowerBound, range.upperBound)
            // As for the scratch buffers: an output silently left unwritten would be worse than stopping.
            if status != 0 { fatalError("out of memory for a first-layer row buffer (\(outW) × \(filters) floats)") }
        }
    }

    static func checkWindow(_ batch: Int, _ height: Int, _ width: Int, _ channels: Int,
                            _ kernelH: Int, _ kernelW: Int, _ strideH: Int, _ strideW: Int,
                            _ dilationH: Int, _ dilationW: Int, _ outH: Int, _ outW: Int) {
        precondition(batch >= 0 && height >= 0 && width >= 0 && channels >= 0 && outH >= 0 && outW >= 0,
                     "negative size")
        precondition(kernelH >= 1 && kernelW >= 1 && strideH >= 1 && strideW >= 1
                        && dilationH >= 1 && dilationW >= 1,
                     "window, stride and dilation must be at least 1")
    }

    /// Runs `body(batchBegin, batchEnd, channelBegin, channelEnd)` over disjoint pieces of a
    /// [batch, …, channels] tensor, in parallel: whole images when there are enough of them,
    /// otherwise (image, channel range) pieces, so accumulating kernels never race.
    static func splitImagesAndChannels(batch: Int, channels: Int, chunks: Int,
                                       _ body: (Int, Int, Int, Int) -> Void) {
        guard batch > 0, channels > 0 else { return }
        if chunks <= 1 { body(0, batch, 0, channels); return }
        if batch >= chunks {
            ThreadPool.parallelFor(batch, threads: chunks) { r in body(r.lowerBound, r.upperBound, 0, channels) }
            return
        }
        // Few images: cut channels too, keeping runs of at least 8 for the vector loops.
        let parts = max(1, min((chunks + batch - 1) / batch, channels / 8))
        ThreadPool.parallelFor(batch * parts, threads: chunks) { units in
            for unit in units {
                let image = unit / parts, part = unit % parts
                body(image, image + 1, channels * part / parts, channels * (part + 1) / parts)
            }
        }
    }
}
