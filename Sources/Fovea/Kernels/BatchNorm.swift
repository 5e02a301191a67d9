import CFoveaKernels

/// Batch normalization over a row-major `[rows, channels]` array (any NHWC tensor: every axis but
/// the last flattened into rows).
///
/// The reductions (``batchNormMoments(_:rows:channels:mean:variance:meanLow:path:threads:)`` and
/// ``batchNormBackwardSums(gradOutput:input:mean:meanLow:rows:channels:sumGrad:sumGradCentered:path:threads:)``)
/// cut the rows into blocks whose number depends only on `rows`, sum each block in double and add the
/// blocks in order: the results are bit-identical whatever the thread count (on one kernel path).
extension Kernels {
    /// Rows per reduction block, at least (fewer, larger blocks for small inputs)…
    static let batchNormMinimumBlockRows = 256
    /// …and at most this many blocks (the partial sums are blocks × channels × 2 or 3 doubles).
    static let batchNormMaximumBlocks = 64
    /// Channel groups a reduction may be split into besides its row blocks (multiples of 16 channels).
    static let batchNormChannelGroup = 256

    /// Runs `body(block, rows, channels)` over every (row block, channel group) unit of a reduction,
    /// in parallel, and returns the number of row blocks. Units never share outputs.
    private static func reductionUnits(rows: Int, channels: Int, threads: Int?,
                                       _ body: (Int, Range<Int>, Range<Int>) -> Void) -> Int {
        let blocks = Swift.max(1, Swift.min(batchNormMaximumBlocks, rows / batchNormMinimumBlockRows))
        let groups = (channels + batchNormChannelGroup - 1) / batchNormChannelGroup
        let units = blocks * groups
        let chunks = chunkCount(work: Double(rows * channels), grain: transformParallelThreshold, threads: threads)
        ThreadPool.parallelFor(units, threads: chunks) { range in
            for unit in range {
                let block = unit / groups, group = unit % groups
                body(block, (rows * block / blocks)..<(rows * (block + 1) / blocks),
                     (group * batchNormChannelGroup)..<Swift.min(channels, (group + 1) * batchNormChannelGroup))
            }
        }
        return blocks
    }

    /// Per-channel mean and biased variance (divided by `rows`, as Keras's `ops.moments`) of a
    /// `[rows, channels]` array, each correctly rounded from sums in double. `meanLow`, when given,
    /// receives the rest of the mean, `mean₆₄ − mean`, for
    /// ``batchNormalize(_:rows:channels:mean:meanLow:scale:beta:output:threads:)``. With no rows,
    /// everything is 0.
    public static func batchNormMoments(_ x: UnsafePointer<Float>, rows: Int, channels: Int,
                                        mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>,
                                        meanLow: UnsafeMutablePointer<Float>? = nil, path: KernelPath? = nil,
                                        threads: Int? = nil) {
        precondition(rows >= 0 && channels >= 0, "batchNormMoments: negative size")
        let cPath = resolve(path).cValue
        guard channels > 0 else { return }
        guard rows > 0 else {
            mean.initialize(repeating: 0, count: channels)
            variance.initialize(repeating: 0, count: channels)
            meanLow?.initialize(repeating: 0, count: channels)
            return
        }
        // Sums about the first row (a sample of each channel) rather than about 0: no cancellation
        // when a channel's mean is large against its spread.
        let shift = x
        let maxBlocks = batchNormMaximumBlocks
        let partial = UnsafeMutablePointer<Double>.allocate(capacity: 2 * maxBlocks * channels)
        defer { partial.deallocate() }
        let blocks = reductionUnits(rows: rows, channels: channels, threads: threads) { block, rowRange, channelRange in
            let base = partial + 2 * block * channels
            fovea_bn_moments(cPath, x, channels, shift, rowRange.lowerBound, rowRange.upperBound,
                             channelRange.lowerBound, channelRange.upperBound, base, base + channels)
        }
        let n = Double(rows)
        for c in 0..<channels {
            var s = 0.0, q = 0.0
            for block in 0..<blocks {
                s += partial[2 * block * channels + c]
                q += partial[(2 * block + 1) * channels + c]
            }
            let centre = s / n, exact = Double(shift[c]) + centre
            mean[c] = Float(exact)
            meanLow?[c] = Float(exact - Double(mean[c]))
            variance[c] = Float(Swift.max(q / n - centre * centre, 0))
        }
    }

    /// The per-channel sums a batch normalization's gradients need: `sumGrad[c] = Σ dy` and
    /// `sumGradCentered[c] = Σ dy·(x − mean[c])` with the mean `mean + meanLow` (meanLow may be nil),
    /// in double, bit-identical whatever the thread count.
    public static func batchNormBackwardSums(gradOutput: UnsafePointer<Float>, input: UnsafePointer<Float>,
                                             mean: UnsafePointer<Float>, meanLow: UnsafePointer<Float>? = nil,
                                             rows: Int, channels: Int, sumGrad: UnsafeMutablePointer<Double>,
                                             sumGradCentered: UnsafeMutablePointer<Double>, path: KernelPath? = nil,
                                             threads: Int? = nil) {
        precondition(rows >= 0 && channels >= 0, "batchNormBackwardSums: negative size")
        let cPath = resolve(path).cValue
        guard channels > 0 else { return }
        sumGrad.initialize(repeating: 0, count: channels)
        sumGradCentered.initialize(repeating: 0, count: channels)
        guard rows > 0 else { return }
        let maxBlocks = batchNormMaximumBlocks
        let partial = UnsafeMutablePointer<Double>.allocate(capacity: 3 * maxBlocks * channels)
        defer { partial.deallocate() }
        let blocks = reductionUnits(rows: rows, channels: channels, threads: threads) { block, rowRange, channelRange in
            let base = partial + 3 * block * channels
            fovea_bn_backward_sums(cPath, gradOutput, input, channels, mean, meanLow, rowRange.lowerBound, rowRange.upperBound,
                                   channelRange.lowerBound, channelRange.upperBound, base, base + channels, base + 2 * channels)
        }
        for block in 0..<blocks {
            for c in 0..<channels {
                sumGrad[c] += partial[3 * block * channels + c]
                sumGradCentered[c] += partial[(3 * block + 1) * channels + c]
            }
        }
    }

    /// The per-channel factor of a batch normalization, as TensorFlow rounds it: `scale[c] =
    /// rsqrt(variance[c] + ε) · gamma[c]` (the sum rounded to Float, its reciprocal square root
    /// correctly rounded, then the product; a nil gamma is 1). `inverseDeviation`, when given,
    /// receives `rsqrt(variance + ε)` before gamma.
    public static func batchNormScale(variance: UnsafePointer<Float>, gamma: UnsafePointer<Float>?, epsilon: Float, channels: Int,
                                      scale: UnsafeMutablePointer<Float>, inverseDeviation: UnsafeMutablePointer<Float>? = nil) {
        for c in 0..<channels {
            let inv = Float(1 / Double(variance[c] + epsilon).squareRoot())
            inverseDeviation?[c] = inv
            scale[c] = gamma.map { inv * $0[c] } ?? inv
        }
    }

    /// `output = ((x − mean[c]) − meanLow[c]) · scale[c] + beta[c]` over a `[rows, channels]` array (no
    /// `meanLow` or `beta` when nil): a batch normalization with `scale` from
    /// ``batchNormScale(variance:gamma:epsilon:channels:scale:inverseDeviation:)``. TensorFlow
    /// evaluates `x · scale + (beta − mean · scale)`, the same in exact arithmetic; centring first
    /// keeps the result accurate when a channel's mean is large against its spread (the other form
    /// cancels two large terms), and `meanLow` (the batch mean's rest below Float precision) keeps the
    /// mean's rounding from being shared by every output of the channel. `output` may be `x`.
    public static func batchNormalize(_ x: UnsafePointer<Float>, rows: Int, channels: Int, mean: UnsafePointer<Float>,
                                      meanLow: UnsafePointer<Float>?, scale: UnsafePointer<Float>, beta: UnsafePointer<Float>?,
                                      output: UnsafeMutablePointer<Float>, threads: Int? = nil) {
        precondition(rows >= 0 && channels >= 0, "batchNormalize: negative size")
        guard rows > 0, channels > 0 else { return }
        let zeros = meanLow == nil ? [Float](repeating: 0, count: channels) : []
        let chunks = chunkCount(work: Double(rows * channels), grain: transformParallelThreshold, threads: threads)
        zeros.withUnsafeBufferPointer { zero in
            let low = meanLow ?? zero.baseAddress!
            ThreadPool.parallelFor(rows, threads: chunks) { range in
                fovea_bn_normalize(x, channels, mean, low, scale, beta, output, range.lowerBound, range.upperBound)
            }
        }
    }

    /// `output = x · scale[c] + shift[c]` over a `[rows, channels]` array (no shift when nil).
    /// `output` may be `x`.
    public static func channelAffine(_ x: UnsafePointer<Float>, rows: Int, channels: Int, scale: UnsafePointer<Float>,
                                     shift: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, threads: Int? = nil) {
        precondition(rows >= 0 && channels >= 0, "channelAffine: negative size")
        guard rows > 0, channels > 0 else { return }
        let chunks = chunkCount(work: Double(rows * channels), grain: transformParallelThreshold, threads: threads)
        ThreadPool.parallelFor(rows, threads: chunks) { range in
            fovea_channel_affine(x, channels, scale, shift, output, range.lowerBound, range.upperBound)
        }
    }

    /// `gradInput = gradOutput · a[c] + (x − mean[c]) · b[c] + d[c]` over a `[rows, channels]` array.
    public static func batchNormInputGradient(gradOutput: UnsafePointer<Float>, input: UnsafePointer<Float>,
                                              mean: UnsafePointer<Float>, rows: Int, channels: Int,
                                              a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                              d: UnsafePointer<Float>, gradInput: UnsafeMutablePointer<Float>,
                                              threads: Int? = nil) {
        precondition(rows >= 0 && channels >= 0, "batchNormInputGradient: negative size")
        guard rows > 0, channels > 0 else { return }
        let chunks = chunkCount(work: Double(rows * channels), grain: transformParallelThreshold, threads: threads)
        ThreadPool.parallelFor(rows, threads: chunks) { range in
            fovea_bn_input_gradient(gradOutput, input, channels, mean, a, b, d, gradInput, range.lowerBound, range.upperBound)
        }
    }

    /// Folds an inference-mode batch normalization into the convolution before it, in place:
    /// afterwards `conv(x, kernel) + bias` equals `BN(conv(x, kernel₀) + bias₀)` up to float rounding.
    /// `kernel` holds `count` floats whose output channel is the flat index modulo `channels`: a
    /// Conv2D or grouped kernel `[kh, kw, cin, cout]` (or a Dense `[in, out]`), or a depthwise kernel
    /// `[kh, kw, C, M]` (output channel `c·M + m`). `bias` (`channels` floats) holds the convolution's
    /// bias on entry (zeros when it has none). With `s` from
    /// ``batchNormScale(variance:gamma:epsilon:channels:scale:inverseDeviation:)``:
    /// `kernel *= s` and `bias = (bias − mean) · s + beta`, as ``batchNormalize(_:rows:channels:mean:meanLow:scale:beta:output:threads:)``
    /// treats the convolution's output.
    public static func foldBatchNorm(kernel: UnsafeMutablePointer<Float>, count: Int, bias: UnsafeMutablePointer<Float>,
                                     mean: UnsafePointer<Float>, variance: UnsafePointer<Float>,
                                     gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?,
                                     epsilon: Float, channels: Int) {
        precondition(channels > 0 && count % channels == 0,
                     "foldBatchNorm: \(count) kernel values are not whole rows of \(channels) output channels")
        let scale = UnsafeMutablePointer<Float>.allocate(capacity: channels)
        defer { scale.deallocate() }
        batchNormScale(variance: variance, gamma: gamma, epsilon: epsilon, channels: channels, scale: scale)
        fovea_channel_affine(kernel, channels, scale, nil, kernel, 0, count / channels)
        for c in 0..<channels { bias[c] = (bias[c] - mean[c]) * scale[c] + (beta?[c] ?? 0) }
    }
}
