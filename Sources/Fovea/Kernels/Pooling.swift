import CFoveaKernels

extension Kernels {
    /// NHWC 2-D max pooling of `input` [batch, height, width, channels] into `output`
    /// [batch, outH, outW, channels]. Windows are poolH×poolW, moved by the strides, starting
    /// padTop/padLeft cells before the input; padding cells never win. If `argmax` is non-nil it
    /// receives, per output, the flat index into `input` of the winner (the first maximum in
    /// row-major window order on ties), for `maxPool2DBackward`. 1-D pooling: height 1.
    public static func maxPool2D(input: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels: Int,
                                 poolH: Int, poolW: Int, strideH: Int, strideW: Int, padTop: Int, padLeft: Int,
                                 outH: Int, outW: Int, output: UnsafeMutablePointer<Float>,
                                 argmax: UnsafeMutablePointer<Int32>?, threads: Int? = nil) {
        checkWindow(batch, height, width, channels, poolH, poolW, strideH, strideW, 1, 1, outH, outW)
        if argmax != nil {
            precondition(batch * height * width * channels <= Int(Int32.max),
                         "maxPool2D: input too large for Int32 argmax indices")
        }
        let rows = batch * outH
        let work = Double(rows * outW * channels) * Double(poolH * poolW)
        ThreadPool.parallelFor(rows, threads: chunkCount(work: work, grain: transformParallelThreshold,
                                                         threads: threads)) { range in
            fovea_maxpool2d(input, height, width, channels, poolH, poolW, strideH, strideW, padTop,
                            padLeft, outH, outW, output, argmax, range.lowerBound, range.upperBound)
        }
    }

    /// gradInput[argmax[i]] += gradOutput[i] for every one of the `count` outputs (the caller
    /// zeroes gradInput). Split by image, so threads never write the same cell.
    public static func maxPool2DBackward(gradOutput: UnsafePointer<Float>, argmax: UnsafePointer<Int32>, count: Int,
                                         batch: Int, gradInput: UnsafeMutablePointer<Float>, threads: Int? = nil) {
        precondition(count >= 0 && batch >= 0, "negative size")
        guard count > 0, batch > 0 else { return }
        precondition(count % batch == 0, "maxPool2DBackward: count \(count) is not a multiple of batch \(batch)")
        let perImage = count / batch
        ThreadPool.parallelFor(batch, threads: chunkCount(work: Double(count), grain: transformParallelThreshold,
                                                          threads: threads)) { images in
            fovea_maxpool2d_backward(gradOutput, argmax, gradInput,
                                     images.lowerBound * perImage, images.upperBound * perImage)
        }
    }

    /// NHWC 2-D average pooling: each output is the mean of the REAL (non-padding) cells of its
    /// window (Keras's `same` rule). Parameters as `maxPool2D`.
    public static func avgPool2D(input: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels: Int,
                                 poolH: Int, poolW: Int, strideH: Int, strideW: Int, padTop: Int, padLeft: Int,
                                 outH: Int, outW: Int, output: UnsafeMutablePointer<Float>, threads: Int? = nil) {
        checkWindow(batch, height, width, channels, poolH, poolW, strideH, strideW, 1, 1, outH, outW)
        let rows = batch * outH
        let work = Double(rows * outW * channels) * Double(poolH * poolW)
        ThreadPool.parallelFor(rows, threads: chunkCount(work: work, grain: transformParallelThreshold,
                                                         threads: threads)) { range in
            fovea_avgpool2d(input, height, width, channels, poolH, poolW, strideH, strideW, padTop,
                            padLeft, outH, outW, output, range.lowerBound, range.upperBound)
        }
    }

    /// Backward of `avgPool2D`: accumulates gradOutput / realCount into every real cell of each
    /// window (the caller zeroes gradInput).
    public static func avgPool2DBackward(gradOutput: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels: Int,
                                         poolH: Int, poolW: Int, strideH: Int, strideW: Int, padTop: Int, padLeft: Int,
                                         outH: Int, outW: Int, gradInput: UnsafeMutablePointer<Float>, threads: Int? = nil) {
        checkWindow(batch, height, width, channels, poolH, poolW, strideH, strideW, 1, 1, outH, outW)
        let work = Double(batch * outH * outW * channels) * Double(poolH * poolW)
        splitImagesAndChannels(batch: batch, channels: channels,
                               chunks: chunkCount(work: work, grain: transformParallelThreshold, threads: threads)) {
            b0, b1, c0, c1 in
            fovea_avgpool2d_backward(gradOutput, height, width, channels, poolH, poolW, strideH, strideW,
                                     padTop, padLeft, outH, outW, gradInput, b0, b1, c0, c1)
        }
    }
}
