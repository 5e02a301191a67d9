import CFoveaKernels

/// Depthwise and grouped convolution kernels (NHWC). Window geometry as ``Kernels/im2col(input:batch:height:width:channels:kernelH:kernelW:strideH:strideW:dilationH:dilationW:padTop:padLeft:outH:outW:output:threads:)``.
extension Kernels {
    /// Channel ranges of the depthwise kernel gradient start at multiples of this (the widest
    /// vector), so a split never moves a channel between vector and one-by-one code.
    static let depthwiseChannelGroup = 16

    /// A depthwise convolution with channel multiplier 1: `output[b][oy][ox][c] = bias[c] +
    /// Σ_{ky,kx} input[b][iy][ix][c] · kernel[ky][kx][c]` (`kernel` is `[kernelH, kernelW, channels]`,
    /// `bias` may be nil). Split over (image, output row) pairs, so one image's rows spread over the
    /// pool too; every output is computed the same way whatever the split.
    public static func depthwiseConv2D(input: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels: Int,
                                       kernelH: Int, kernelW: Int, strideH: Int, strideW: Int,
                                       dilationH: Int, dilationW: Int, padTop: Int, padLeft: Int,
                                       outH: Int, outW: Int, kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                       output: UnsafeMutablePointer<Float>, path: KernelPath? = nil, threads: Int? = nil) {
        checkWindow(batch, height, width, channels, kernelH, kernelW, strideH, strideW, dilationH, dilationW, outH, outW)
        let cPath = resolve(path).cValue
        let rows = batch * outH
        let work = Double(rows * outW * channels) * Double(kernelH * kernelW)
        ThreadPool.parallelFor(rows, threads: chunkCount(work: work, grain: transformParallelThreshold, threads: threads)) { range in
            fovea_depthwise_forward(cPath, input, height, width, channels, kernelH, kernelW, strideH, strideW,
                                    dilationH, dilationW, padTop, padLeft, outH, outW, kernel, bias, output,
                                    range.lowerBound, range.upperBound)
        }
    }

    /// The input gradient of ``depthwiseConv2D(input:batch:height:width:channels:kernelH:kernelW:strideH:strideW:dilationH:dilationW:padTop:padLeft:outH:outW:kernel:bias:output:path:threads:)``
    /// from its output gradient `gradOutput` [batch, outH, outW, channels], written into `gradInput`
    /// [batch, height, width, channels] (every cell; no zeroing needed). With strides 1 it is a
    /// depthwise convolution of the output gradient with the kernel turned 180° (padding
    /// `(kernel − 1)·dilation − pad` before), run by the forward kernel; otherwise each input cell
    /// gathers the (output, tap) pairs that read it. Split over rows; every cell is computed the same
    /// way whatever the split.
    public static func depthwiseConv2DBackwardInput(gradOutput: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
                                                    channels: Int, kernelH: Int, kernelW: Int, strideH: Int, strideW: Int,
                                                    dilationH: Int, dilationW: Int, padTop: Int, padLeft: Int,
                                                    outH: Int, outW: Int, kernel: UnsafePointer<Float>,
                                                    gradInput: UnsafeMutablePointer<Float>, path: KernelPath? = nil,
                                                    threads: Int? = nil) {
        checkWindow(batch, height, width, channels, kernelH, kernelW, strideH, strideW, dilationH, dilationW, outH, outW)
        let flippedTop = (kernelH - 1) * dilationH - padTop, flippedLeft = (kernelW - 1) * dilationW - padLeft
        if strideH == 1 && strideW == 1 && flippedTop >= 0 && flippedLeft >= 0 {
            let taps = kernelH * kernelW
            let turned = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, taps * channels))
            defer { turned.deallocate() }
            for t in 0..<taps { (turned + (taps - 1 - t) * channels).update(from: kernel + t * channels, count: channels) }
            depthwiseConv2D(input: gradOutput, batch: batch, height: outH, width: outW, channels: channels,
                            kernelH: kernelH, kernelW: kernelW, strideH: 1, strideW: 1, dilationH: dilationH, dilationW: dilationW,
                            padTop: flippedTop, padLeft: flippedLeft, outH: height, outW: width, kernel: turned, bias: nil,
                            output: gradInput, path: path, threads: threads)
            return
        }
        precondition(kernelH <= 64 && kernelW <= 64, "depthwiseConv2DBackwardInput: windows wider than 64 taps are not supported")
        let cPath = resolve(path).cValue
        let rows = batch * height
        let work = Double(batch * outH * outW * channels) * Double(kernelH * kernelW)
        ThreadPool.parallelFor(rows, threads: chunkCount(work: work, grain: transformParallelThreshold, threads: threads)) { range in
            fovea_depthwise_backward_input(cPath, gradOutput, height, width, channels, kernelH, kernelW, strideH, strideW,
                                           dilationH, dilationW, padTop, padLeft, outH, outW, kernel, gradInput,
                                           range.lowerBound, range.upperBound)
        }
    }

    /// The kernel gradient of that convolution, written into `gradKernel` [kernelH, kernelW, channels].
    /// The work is cut into (row block, channel group) units whose number depends only on the sizes,
    /// and the row blocks' partial sums are added in order: bit-identical whatever the thread count.
    public static func depthwiseConv2DBackwardKernel(input: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
                                                     channels: Int, kernelH: Int, kernelW: Int, strideH: Int, strideW: Int,
                                                     dilationH: Int, dilationW: Int, padTop: Int, padLeft: Int,
                                                     outH: Int, outW: Int, gradOutput: UnsafePointer<Float>,
                                                     gradKernel: UnsafeMutablePointer<Float>, path: KernelPath? = nil,
                                                     threads: Int? = nil) {
        checkWindow(batch, height, width, channels, kernelH, kernelW, strideH, strideW, dilationH, dilationW, outH, outW)
        let cPath = resolve(path).cValue
        let size = kernelH * kernelW * channels
        let rows = batch * outH
        let groupWidth = depthwiseChannelGroup * Swift.max(1, (channels / 4 + depthwiseChannelGroup - 1) / depthwiseChannelGroup)
        let groups = Swift.max(1, (channels + groupWidth - 1) / groupWidth)
        // Few channel groups: also cut the rows, into blocks of at least 8 rows (at most 8 blocks).
        let blocks = groups >= 4 ? 1 : Swift.max(1, Swift.min(8, rows / 8))
        let partial = blocks > 1 ? UnsafeMutablePointer<Float>.allocate(capacity: blocks * size) : gradKernel
        defer { if blocks > 1 { partial.deallocate() } }
        partial.initialize(repeating: 0, count: blocks * size)
        let work = Double(rows * outW * channels) * Double(kernelH * kernelW)
        let chunks = chunkCount(work: work, grain: transformParallelThreshold, threads: threads)
        ThreadPool.parallelFor(blocks * groups, threads: chunks) { units in
            for unit in units {
                let block = unit / groups, group = unit % groups
                fovea_depthwise_backward_kernel(cPath, input, height, width, channels, kernelH, kernelW, strideH, strideW,
                                                dilationH, dilationW, padTop, padLeft, outH, outW, gradOutput,
                                                partial + block * size, rows * block / blocks, rows * (block + 1) / blocks,
                                                group * groupWidth, Swift.min(channels, (group + 1) * groupWidth))
            }
        }
        if blocks > 1 {
            sumSlices(partial, slices: blocks, size: size)
            gradKernel.update(from: partial, count: size)
        }
    }

    /// `output[p][c·multiplier + m] = x[p][c]` for `pixels` pixels of `channels` channels: a depthwise
    /// convolution with a channel multiplier runs as multiplier 1 on the expanded input.
    public static func depthwiseExpand(_ x: UnsafePointer<Float>, pixels: Int, channels: Int, multiplier: Int,
                                       output: UnsafeMutablePointer<Float>, threads: Int? = nil) {
        precondition(pixels >= 0 && channels >= 0 && multiplier >= 1, "depthwiseExpand: invalid sizes")
        let chunks = chunkCount(work: Double(pixels * channels * multiplier), grain: transformParallelThreshold, threads: threads)
        ThreadPool.parallelFor(pixels, threads: chunks) { range in
            fovea_depthwise_expand(x, channels, multiplier, output, range.lowerBound, range.upperBound)
        }
    }

    /// The adjoint of ``depthwiseExpand(_:pixels:channels:multiplier:output:threads:)``:
    /// `output[p][c] = Σ_m x[p][c·multiplier + m]`.
    public static func depthwiseContract(_ x: UnsafePointer<Float>, pixels: Int, channels: Int, multiplier: Int,
                                         output: UnsafeMutablePointer<Float>, threads: Int? = nil) {
        precondition(pixels >= 0 && channels >= 0 && multiplier >= 1, "depthwiseContract: invalid sizes")
        let chunks = chunkCount(work: Double(pixels * channels * multiplier), grain: transformParallelThreshold, threads: threads)
        ThreadPool.parallelFor(pixels, threads: chunks) { range in
            fovea_depthwise_contract(x, channels, multiplier, output, range.lowerBound, range.upperBound)
        }
    }

    /// ``im2col(input:batch:height:width:channels:kernelH:kernelW:strideH:strideW:dilationH:dilationW:padTop:padLeft:outH:outW:output:threads:)``
    /// of one group's channels `channelBegin..<channelBegin + groupChannels` of a `channels`-channel
    /// input: rows of `kernelH·kernelW·groupChannels` entries ordered (ky, kx, channel).
    public static func im2colGroup(input: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels: Int,
                                   channelBegin: Int, groupChannels: Int, kernelH: Int, kernelW: Int,
                                   strideH: Int, strideW: Int, dilationH: Int, dilationW: Int, padTop: Int, padLeft: Int,
                                   outH: Int, outW: Int, output: UnsafeMutablePointer<Float>, threads: Int? = nil) {
        checkWindow(batch, height, width, channels, kernelH, kernelW, strideH, strideW, dilationH, dilationW, outH, outW)
        precondition(channelBegin >= 0 && groupChannels >= 0 && channelBegin + groupChannels <= channels,
                     "im2colGroup: channels \(channelBegin)..<\(channelBegin + groupChannels) outside 0..<\(channels)")
        let rows = batch * outH
        let work = Double(rows * outW) * Double(kernelH * kernelW * groupChannels)
        ThreadPool.parallelFor(rows, threads: chunkCount(work: work, grain: transformParallelThreshold, threads: threads)) { range in
            fovea_im2col_group(input, height, width, channels, channelBegin, groupChannels, kernelH, kernelW,
                               strideH, strideW, dilationH, dilationW, padTop, padLeft, outH, outW, output,
                               range.lowerBound, range.upperBound)
        }
    }

    /// The adjoint of ``im2colGroup(input:batch:height:width:channels:channelBegin:groupChannels:kernelH:kernelW:strideH:strideW:dilationH:dilationW:padTop:padLeft:outH:outW:output:threads:)``:
    /// accumulates (+=) the columns into that group's channels of `gradInput`. Split by image.
    public static func col2imGroup(columns: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels: Int,
                                   channelBegin: Int, groupChannels: Int, kernelH: Int, kernelW: Int,
                                   strideH: Int, strideW: Int, dilationH: Int, dilationW: Int, padTop: Int, padLeft: Int,
                                   outH: Int, outW: Int, gradInput: UnsafeMutablePointer<Float>, threads: Int? = nil) {
        checkWindow(batch, height, width, channels, kernelH, kernelW, strideH, strideW, dilationH, dilationW, outH, outW)
        precondition(channelBegin >= 0 && groupChannels >= 0 && channelBegin + groupChannels <= channels,
                     "col2imGroup: channels \(channelBegin)..<\(channelBegin + groupChannels) outside 0..<\(channels)")
        let work = Double(batch * outH * outW) * Double(kernelH * kernelW * groupChannels)
        ThreadPool.parallelFor(batch, threads: chunkCount(work: work, grain: transformParallelThreshold, threads: threads)) { range in
            fovea_col2im_group(columns, height, width, channels, channelBegin, groupChannels, kernelH, kernelW,
                               strideH, strideW, dilationH, dilationW, padTop, padLeft, outH, outW, gradInput,
                               range.lowerBound, range.upperBound)
        }
    }
}
