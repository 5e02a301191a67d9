import Foundation
import CFoveaKernels

/// Keras's padding modes: `valid` uses only real pixels; `same` pads so that the output has
/// `ceil(input / stride)` positions, with the odd extra pixel of padding at the bottom/right;
/// `causal` (1-D convolutions only) pads only before, by the dilated kernel's extent minus one, so
/// no output sees a later step.
public enum Padding: String, Sendable, Codable, CaseIterable {
    case valid, same, causal
}

/// Where a sliding window of one spatial axis goes: output length and padding before.
public struct WindowAxis: Equatable, Sendable {
    public let input, kernel, stride, dilation: Int
    public let output: Int
    public let padBefore: Int

    /// `nil` when the (dilated) kernel does not fit a `valid` input.
    public init?(input: Int, kernel: Int, stride: Int, dilation: Int = 1, padding: Padding) {
        self.input = input; self.kernel = kernel; self.stride = stride; self.dilation = dilation
        let extent = (kernel - 1) * dilation + 1
        switch padding {
        case .valid:
            guard input >= extent else { return nil }
            output = (input - extent) / stride + 1
            padBefore = 0
        case .same:
            output = (input + stride - 1) / stride
            let total = Swift.max((output - 1) * stride + extent - input, 0)
            padBefore = total / 2
        case .causal:
            output = (input - 1) / stride + 1
            padBefore = extent - 1
        }
    }
}

/// How ``Tensor/conv2D(_:kernel:bias:window:relu:algorithm:)`` computes a convolution.
public enum ConvolutionAlgorithm: String, Sendable, CaseIterable {
    /// Winograd where it applies and pays off, im2col + GEMM elsewhere.
    case automatic
    /// im2col + GEMM (a plain GEMM for 1×1 stride-1 windows) for every window: the reference path.
    case im2col
    /// Winograd F(4×4, 3×3) wherever the window is 3×3, stride 1, undilated; im2col elsewhere.
    case winograd

    /// Winograd pays for its transforms once both channel counts fill a vector; a first layer
    /// (one input channel) stays on its direct kernel.
    static let winogradMinimumChannels = 8
    /// A call that transforms the weights streams 36 transformed copies of them through the GEMMs:
    /// with fewer output tiles than this (a small image at batch 1), im2col reads less. Weights
    /// prepared once (inference) have no such cost: in one sitting, seed CNN single-image latency fell
    /// from 0.157 to 0.085 ms with its second layer (9 tiles) on Winograd.
    static let winogradMinimumTiles = 24
    /// Winograd computes whole 4×4 tiles: on small outputs (a 3×3 or 5×5 map) most of a tile is
    /// wasted, and below this ratio of im2col's multiplications to Winograd's it stops paying
    /// (unless the weights are prepared and a call has enough tiles, below).
    static let winogradMinimumSaving = 2.5
    /// Weights prepared once leave only the transforms and the 36 transformed copies (4× the kernel)
    /// to stream, which a few tiles already amortise: from this many tiles per call, Winograd runs
    /// down to this saving. The seed CNN's third layer (3×3 output, one tile per image, 2.25),
    /// microseconds per image im2col / Winograd in one sitting: 11.3 / 16.1 at batch 1, 13.5 / 8.1 at 4,
    /// 7.6 / 5.3 at 16 (a depth-first inference piece). So for such layers the algorithm, and the
    /// last digits of the output (about 1e-6 relative), depend on how many tiles a call has.
    static let winogradPreparedMinimumTiles = 4
    static let winogradPreparedMinimumSaving = 2.2

    /// Whether a convolution from `channels` channels with a `kernelH`×`kernelW` window runs on the
    /// direct one-channel kernel: a 3×3 first layer, except on the im2col reference path.
    func usesDirectOneChannel(channels: Int, kernelH: Int, kernelW: Int) -> Bool {
        self != .im2col && channels == 1 && kernelH == 3 && kernelW == 3
    }

    /// The kernel ``Tensor/conv2DMaxPool2x2(_:kernel:bias:window:relu:algorithm:)`` can fuse this
    /// convolution of `batch` images from `channels` to `filters` channels and its pool with, if
    /// any (else it runs the two ops one after the other): the direct first layer, or a Winograd
    /// convolution (whose 4×4 output tiles are whole 2×2 pooling windows). `prepared`: the weights
    /// are packed once and reused (inference).
    func fusedPoolKernel(_ window: Window2D, kernelH: Int, kernelW: Int, channels: Int, filters: Int, batch: Int,
                         prepared: Bool) -> FusedPoolKernel? {
        if usesWinograd(window, kernelH: kernelH, kernelW: kernelW, outH: window.rows.output, outW: window.columns.output,
                        channels: channels, filters: filters, batch: batch, prepared: prepared) { return .winograd }
        return usesDirectOneChannel(channels: channels, kernelH: kernelH, kernelW: kernelW) ? .oneChannel : nil
    }

    enum FusedPoolKernel { case oneChannel, winograd }

    /// Whether a 3×3 stride-1 convolution producing `outH`×`outW` maps of `filters` channels from
    /// `channels` channels, over `batch` images, runs as Winograd (`window` must be 3×3, stride 1,
    /// undilated, with at most 2 cells of padding before: the forward window, or its adjoint).
    /// `prepared`: the weights are transformed once and reused (inference), not on every call.
    func usesWinograd(_ window: Window2D, kernelH: Int, kernelW: Int, outH: Int, outW: Int,
                      channels: Int, filters: Int, batch: Int, prepared: Bool = false) -> Bool {
        guard self != .im2col,
              Kernels.winogradApplies(kernelH: kernelH, kernelW: kernelW, strideH: window.rows.stride, strideW: window.columns.stride,
                                      dilationH: window.rows.dilation, dilationW: window.columns.dilation),
              window.rows.padBefore <= 2, window.columns.padBefore <= 2 else { return false }
        if self == .winograd { return true }
        let tilesPerImage = ((outH + 3) / 4) * ((outW + 3) / 4)
        let saving = Double(9 * outH * outW) / Double(36 * tilesPerImage)
        guard Swift.min(channels, filters) >= Self.winogradMinimumChannels else { return false }
        if prepared && batch * tilesPerImage >= Self.winogradPreparedMinimumTiles && saving >= Self.winogradPreparedMinimumSaving {
            return true
        }
        return (prepared || batch * tilesPerImage >= Self.winogradMinimumTiles) && saving >= Self.winogradMinimumSaving
    }
}

/// The geometry of a 2-D sliding window over an NHWC tensor.
public struct Window2D: Equatable, Sendable {
    public let rows: WindowAxis, columns: WindowAxis
    public init(rows: WindowAxis, columns: WindowAxis) { self.rows = rows; self.columns = columns }
}

extension Tensor {
    /// Splits a batch of `batch` samples over the pool: each chunk runs `body(samples)` on its own
    /// contiguous samples. Chunks stay small enough that per-chunk scratch buffers fit in cache.
    /// About this many floats (1 MiB) of im2col columns are built at a time: enough rows for an
    /// efficient GEMM, small enough to stay in L2/L3 until the GEMM reads them.
    static let convolutionBlockFloats = 1 << 18

    static func forEachBatchChunk(_ batch: Int, _ body: (Range<Int>) -> Void) {
        ThreadPool.parallelFor(batch, body)
    }

    /// Fused 2-D convolution (cross-correlation, as Keras computes it) + bias + optional ReLU, NHWC.
    /// `input` is `[batch, height, width, channels]`, `kernel` is `[kh, kw, channels, filters]`.
    /// `algorithm` chooses between Winograd and im2col where both apply (they agree to about 1e-6
    /// relative); the weight gradient follows the forward pass's choice, and the input gradient (a
    /// convolution of its own shape) is chosen the same way for that shape.
    public static func conv2D(_ input: Tensor, kernel: Tensor, bias: Tensor?, window: Window2D, relu: Bool = false,
                              algorithm: ConvolutionAlgorithm = .automatic) -> Tensor {
        precondition(input.rank == 4 && kernel.rank == 4 && kernel.shape[2] == input.shape[3],
                     "conv2D needs NHWC input and [kh, kw, c, f] kernel; got \(input.shape), \(kernel.shape)")
        let n = input.shape[0], h = input.shape[1], w = input.shape[2], c = input.shape[3]
        let kh = kernel.shape[0], kw = kernel.shape[1], f = kernel.shape[3]
        let oh = window.rows.output, ow = window.columns.output
        let patch = kh * kw * c, positions = oh * ow
        let out = Tensor(uninitializedShape: [n, oh, ow, f])
        let x = input.detached, wt = kernel.detached, b = bias?.detached
        // A 1×1, stride-1 convolution is a plain GEMM on the input itself.
        let direct = kh == 1 && kw == 1 && window.rows.stride == 1 && window.columns.stride == 1
            && window.rows.padBefore == 0 && window.columns.padBefore == 0
        // The input gradient of a 3×3 stride-1 convolution is a 3×3 stride-1 convolution of the output
        // gradient (kernel rotated, padding 2 − padBefore), so Winograd serves both directions.
        // In inference the weights are packed once and the packed form reused (same results).
        let prepared = PackedWeights.applies(to: kernel)
        let winograd = algorithm.usesWinograd(window, kernelH: kh, kernelW: kw, outH: oh, outW: ow, channels: c, filters: f, batch: n,
                                              prepared: prepared)
        let winogradBackward = algorithm.usesWinograd(window, kernelH: kh, kernelW: kw, outH: h, outW: w, channels: f, filters: c, batch: n)
        // A 3×3 first layer (one input channel) is computed directly: as a GEMM its k would be 9.
        let oneChannel = algorithm.usesDirectOneChannel(channels: c, kernelH: kh, kernelW: kw) && !winograd

        func im2col(_ samples: Range<Int>, _ cols: UnsafeMutablePointer<Float>) {
            Kernels.im2col(input: x.storage.pointer + samples.lowerBound * h * w * c, batch: samples.count,
                           height: h, width: w, channels: c, kernelH: kh, kernelW: kw,
                           strideH: window.rows.stride, strideW: window.columns.stride,
                           dilationH: window.rows.dilation, dilationW: window.columns.dilation,
                           padTop: window.rows.padBefore, padLeft: window.columns.padBefore,
                           outH: oh, outW: ow, output: cols, threads: 1)
        }
        // Columns are built and consumed a few images at a time, so that they stay in cache between
        // im2col writing them and the GEMM reading them (a whole batch of a 28×28×64 layer is
        // hundreds of MB).
        let blockImages = Swift.max(1, convolutionBlockFloats / Swift.max(1, positions * patch))
        func blocks(_ samples: Range<Int>) -> StrideTo<Int> { stride(from: samples.lowerBound, to: samples.upperBound, by: blockImages) }
        let split = n >= ThreadPool.threadCount
        if winograd {
            winogradForward(x, kernel: kernel, bias: b, window: window, relu: relu, pool: false, prepared: prepared, output: out)
        } else if oneChannel {
            oneChannelForward(x, kernel: wt, bias: b, window: window, relu: relu, pool: false, output: out)
        } else {
            let packedB = prepared ? PackedWeights.prepared(kernel, form: .gemm(n: f, k: patch), path: Kernels.detectedPath) : nil
            forEachBatchChunk(split ? n : 1) { chunk in
                let samples = split ? chunk : 0..<n
                for start in blocks(samples) {
                    let block = start..<Swift.min(start + blockImages, samples.upperBound)
                    let rows = block.count * positions
                    let scratch = direct ? nil : Kernels.scratch(rows * patch, slot: .columns)
                    if let scratch { im2col(block, scratch) }
                    let a = scratch.map { UnsafePointer($0) } ?? UnsafePointer(x.storage.pointer + start * h * w * c)
                    let biasPointer = b.map { UnsafePointer($0.storage.pointer) }
                    if let packedB {
                        Kernels.sgemm(m: rows, n: f, k: patch, a: a, lda: patch, packedB: packedB,
                                      c: out.storage.pointer + start * positions * f, ldc: f,
                                      bias: biasPointer, relu: relu, threads: split ? 1 : nil)
                    } else {
                        Kernels.sgemm(m: rows, n: f, k: patch, a: a, lda: patch, b: wt.storage.pointer, ldb: f,
                                      c: out.storage.pointer + start * positions * f, ldc: f,
                                      bias: biasPointer, relu: relu, threads: split ? 1 : nil)
                    }
                }
            }
        }
        let y = out.detached
        let needInput = input.node != nil, needKernel = kernel.node != nil
        var inputs = [input, kernel]
        if let bias { inputs.append(bias) }
        // A first layer (one input channel, no input gradient wanted) gets its kernel and bias
        // gradients in one fused pass over the output gradient.
        let firstLayer = c == 1 && !needInput && needKernel && !direct && !winograd
        return recordOp(out, inputs: inputs) { g in
            if firstLayer {
                let (dk, db) = oneChannelGradients(input: x, gradient: g, output: relu ? y : nil, kernelShape: wt.shape,
                                                   window: window, withBias: b != nil)
                return b != nil ? [nil, dk, db] : [nil, dk]
            }
            // The gated gradient lives only inside this pullback: keep it in this thread's scratch
            // (read by the workers below while this thread waits) instead of a fresh tensor.
            let dzp: UnsafeMutablePointer<Float>
            if relu {
                dzp = Kernels.scratch(g.count, slot: .gatedGradient)
                Kernels.reluGate(gradient: g.storage.pointer, output: y.storage.pointer, result: dzp, count: g.count)
            } else {
                dzp = g.storage.pointer
            }
            // col2im accumulates into zeros; Winograd writes every cell.
            let dInput: Tensor? = needInput ? (winogradBackward ? Tensor(uninitializedShape: x.shape) : Tensor.zeros(x.shape)) : nil
            let chunks = split ? Swift.min(ThreadPool.threadCount, n) : 1
            // One weight-gradient accumulator per chunk, summed at the end (no write races).
            let partial = needKernel && !winograd ? UnsafeMutablePointer<Float>.allocate(capacity: chunks * patch * f) : nil
            defer { partial?.deallocate() }
            if partial != nil || (needInput && !winogradBackward) {
                ThreadPool.parallelFor(chunks, threads: chunks) { chunkRange in
                    for chunkIndex in chunkRange {
                        let samples = (n * chunkIndex / chunks)..<(n * (chunkIndex + 1) / chunks)
                        let inner = split ? 1 : nil as Int?
                        if samples.isEmpty, let partial {
                            (partial + chunkIndex * patch * f).initialize(repeating: 0, count: patch * f)
                        }
                        for start in blocks(samples) {
                            let block = start..<Swift.min(start + blockImages, samples.upperBound)
                            let rows = block.count * positions
                            let dzChunk = dzp + start * positions * f
                            if let partial {
                                // The weight gradient sums over the blocks: the first block writes, the rest add.
                                let dw = partial + chunkIndex * patch * f
                                let beta: Float = start == samples.lowerBound ? 0 : 1
                                if direct {
                                    Kernels.sgemm(transA: true, m: patch, n: f, k: rows, a: x.storage.pointer + start * h * w * c, lda: patch,
                                                  b: dzChunk, ldb: f, beta: beta, c: dw, ldc: f, threads: inner)
                                } else {
                                    let cols = Kernels.scratch(rows * patch, slot: .columns)
                                    im2col(block, cols)
                                    Kernels.sgemm(transA: true, m: patch, n: f, k: rows, a: cols, lda: patch, b: dzChunk, ldb: f,
                                                  beta: beta, c: dw, ldc: f, threads: inner)
                                }
                            }
                            if let dIn = dInput, !winogradBackward {
                                let dst = dIn.storage.pointer + start * h * w * c
                                if direct {
                                    Kernels.sgemm(transB: true, m: rows, n: c, k: f, a: dzChunk, lda: f, b: wt.storage.pointer, ldb: f,
                                                  c: dst, ldc: c, threads: inner)
                                } else {
                                    let dcols = Kernels.scratch(rows * patch, slot: .columnGradients)
                                    Kernels.sgemm(transB: true, m: rows, n: patch, k: f, a: dzChunk, lda: f, b: wt.storage.pointer, ldb: f,
                                                  c: dcols, ldc: patch, threads: inner)
                                    Kernels.col2im(columns: dcols, batch: block.count, height: h, width: w, channels: c,
                                                   kernelH: kh, kernelW: kw, strideH: window.rows.stride, strideW: window.columns.stride,
                                                   dilationH: window.rows.dilation, dilationW: window.columns.dilation,
                                                   padTop: window.rows.padBefore, padLeft: window.columns.padBefore,
                                                   outH: oh, outW: ow, gradInput: dst, threads: 1)
                                }
                            }
                        }
                    }
                }
            }
            if let dIn = dInput, winogradBackward {
                Kernels.winogradConv3x3(input: dzp, batch: n, height: oh, width: ow, channels: f,
                                        padTop: 2 - window.rows.padBefore, padLeft: 2 - window.columns.padBefore, outH: h, outW: w,
                                        kernel: wt.storage.pointer, filters: c, adjoint: true, bias: nil, relu: false,
                                        output: dIn.storage.pointer)
            }
            var dKernel: Tensor? = nil
            if needKernel && winograd {
                let dk = Tensor(uninitializedShape: wt.shape)
                Kernels.winogradWeightGradient(input: x.storage.pointer, batch: n, height: h, width: w, channels: c,
                                               padTop: window.rows.padBefore, padLeft: window.columns.padBefore,
                                               gradOutput: dzp, outH: oh, outW: ow, filters: f, gradKernel: dk.storage.pointer)
                dKernel = dk
            }
            if let partial {
                let dk = Tensor(uninitializedShape: wt.shape)
                let p = dk.storage.pointer
                Kernels.sumSlices(partial, slices: chunks, size: patch * f)
                p.update(from: partial, count: patch * f)
                dKernel = dk
            }
            var grads: [Tensor?] = [dInput, dKernel]
            if b != nil { grads.append(biasGradient(dzp, count: g.count, channels: f)) }
            return grads
        }
    }

    /// Runs the forward Winograd convolution on tensors, from weights packed once (`prepared`) or
    /// transformed on this call; with `pool`, `output` is the 2×2/2 max pool of the result.
    static func winogradForward(_ x: Tensor, kernel: Tensor, bias: Tensor?, window: Window2D, relu: Bool, pool: Bool,
                                prepared: Bool, output: Tensor) {
        let c = x.shape[3], f = kernel.shape[3]
        let packed = prepared ? PackedWeights.prepared(kernel, form: .winograd(channels: c, filters: f), path: Kernels.detectedPath) : nil
        Kernels.winogradConv3x3(input: x.storage.pointer, batch: x.shape[0], height: x.shape[1], width: x.shape[2], channels: c,
                                padTop: window.rows.padBefore, padLeft: window.columns.padBefore,
                                outH: window.rows.output, outW: window.columns.output,
                                kernel: kernel.storage.pointer, packed: packed, filters: f,
                                bias: bias.map { UnsafePointer($0.storage.pointer) }, relu: relu, pool: pool,
                                output: output.storage.pointer)
    }

    /// Runs ``Kernels/oneChannelConv2D(input:batch:height:width:kernelH:kernelW:strideH:strideW:dilationH:dilationW:padTop:padLeft:outH:outW:kernel:filters:bias:relu:pool:output:argmax:path:threads:)``
    /// on tensors (`x` is [batch, h, w, 1]).
    static func oneChannelForward(_ x: Tensor, kernel: Tensor, bias: Tensor?, window: Window2D, relu: Bool, pool: Bool,
                                  argmax: UnsafeMutablePointer<UInt8>? = nil, output: Tensor) {
        Kernels.oneChannelConv2D(input: x.storage.pointer, batch: x.shape[0], height: x.shape[1], width: x.shape[2],
                                 kernelH: kernel.shape[0], kernelW: kernel.shape[1],
                                 strideH: window.rows.stride, strideW: window.columns.stride,
                                 dilationH: window.rows.dilation, dilationW: window.columns.dilation,
                                 padTop: window.rows.padBefore, padLeft: window.columns.padBefore,
                                 outH: window.rows.output, outW: window.columns.output,
                                 kernel: kernel.storage.pointer, filters: kernel.shape[3],
                                 bias: bias.map { UnsafePointer($0.storage.pointer) }, relu: relu, pool: pool,
                                 output: output.storage.pointer, argmax: argmax)
    }

    /// A convolution (+ bias, + optional ReLU) followed by a 2×2, stride-2 `valid` max pool, in one
    /// pass when the pair has a fused kernel (the direct first layer, or a Winograd convolution: the
    /// convolution's output is never stored whole); the result equals `maxPool2D(conv2D(…))`.
    /// Gradients: the direct first layer records its own (kernel and bias, from the pooled gradient
    /// and each window's winner, when the input needs none: a network's input is data); anything
    /// else that needs a gradient runs the two recorded ops one after the other.
    public static func conv2DMaxPool2x2(_ input: Tensor, kernel: Tensor, bias: Tensor?, window: Window2D, relu: Bool = false,
                                        algorithm: ConvolutionAlgorithm = .automatic) -> Tensor {
        precondition(input.rank == 4 && kernel.rank == 4 && kernel.shape[2] == input.shape[3],
                     "conv2DMaxPool2x2 needs NHWC input and [kh, kw, c, f] kernel; got \(input.shape), \(kernel.shape)")
        let oh = window.rows.output, ow = window.columns.output
        precondition(oh >= 2 && ow >= 2, "conv2DMaxPool2x2: a \(oh)×\(ow) output has no 2×2 window")
        if let y = fusedConv2DMaxPool2x2(input, kernel: kernel, bias: bias, window: window, relu: relu, algorithm: algorithm) {
            return y
        }
        let y = conv2D(input, kernel: kernel, bias: bias, window: window, relu: relu, algorithm: algorithm)
        return maxPool2D(y, window: Window2D(rows: WindowAxis(input: oh, kernel: 2, stride: 2, padding: .valid)!,
                                    columns: WindowAxis(input: ow, kernel: 2, stride: 2, padding: .valid)!))
    }

    /// ``conv2DMaxPool2x2(_:kernel:bias:window:relu:algorithm:)`` in one pass, or `nil` (nothing
    /// computed) when these operands have no fused kernel: the pair must have one, and when a
    /// gradient is needed only the direct first layer records its own, on an input that needs none.
    static func fusedConv2DMaxPool2x2(_ input: Tensor, kernel: Tensor, bias: Tensor?, window: Window2D, relu: Bool,
                                      algorithm: ConvolutionAlgorithm) -> Tensor? {
        let n = input.shape[0], f = kernel.shape[3]
        let prepared = PackedWeights.applies(to: kernel)
        guard let fused = algorithm.fusedPoolKernel(window, kernelH: kernel.shape[0], kernelW: kernel.shape[1],
                                                    channels: input.shape[3], filters: f, batch: n, prepared: prepared)
        else { return nil }
        let weightsNeedGradient = kernel.node != nil || bias?.node != nil
        if input.node != nil || (weightsNeedGradient && fused != .oneChannel) { return nil }
        let out = Tensor(uninitializedShape: [n, window.rows.output / 2, window.columns.output / 2, f])
        switch fused {
        case .oneChannel:
            let argmax = weightsNeedGradient ? ByteBuffer(count: out.count) : nil
            oneChannelForward(input.detached, kernel: kernel.detached, bias: bias?.detached, window: window, relu: relu, pool: true,
                              argmax: argmax?.pointer, output: out)
            if let argmax {
                let x = input.detached, pooled = out.detached, kernelShape = kernel.shape
                var inputs = [input, kernel]
                if let bias { inputs.append(bias) }
                return recordOp(out, inputs: inputs) { g in
                    let (dk, db) = oneChannelGradients(input: x, gradient: g, output: relu ? pooled : nil, poolArgmax: argmax,
                                                       kernelShape: kernelShape, window: window, withBias: bias != nil)
                    return bias != nil ? [nil, dk, db] : [nil, dk]
                }
            }
        case .winograd:
            winogradForward(input.detached, kernel: kernel.detached, bias: bias?.detached, window: window, relu: relu, pool: true,
                            prepared: prepared, output: out)
        }
        return out
    }

    /// Kernel and bias gradients of a one-input-channel convolution from its output gradient `g`
    /// (gated by `output > 0` when the ReLU was fused), split by output rows over the pool with one
    /// accumulator per chunk. With `poolArgmax`, the convolution had a 2×2 max pool fused into it:
    /// `g` and `output` are the pooled ones and each window's gradient goes to its winner.
    static func oneChannelGradients(input x: Tensor, gradient g: Tensor, output y: Tensor?, poolArgmax: ByteBuffer? = nil,
                                    kernelShape: [Int], window: Window2D, withBias: Bool) -> (Tensor, Tensor?) {
        let n = x.shape[0], h = x.shape[1], w = x.shape[2]
        let kh = kernelShape[0], kw = kernelShape[1], f = kernelShape[3]
        let oh = window.rows.output, ow = window.columns.output
        let size = kh * kw * f + f
        let pairs = n * (poolArgmax == nil ? oh : oh / 2)
        let chunks = Swift.max(1, Swift.min(ThreadPool.threadCount, pairs / 4))
        let acc = UnsafeMutablePointer<Float>.allocate(capacity: chunks * size)
        defer { acc.deallocate() }
        acc.initialize(repeating: 0, count: chunks * size)
        ThreadPool.parallelFor(chunks, threads: chunks) { range in
            for chunk in range {
                let part = acc + chunk * size
                let rows = (pairs * chunk / chunks, pairs * (chunk + 1) / chunks)
                let output = y.map { UnsafePointer($0.storage.pointer) }, biasPart = withBias ? part + kh * kw * f : nil
                let status = if let poolArgmax {
                    fovea_conv1_pool_backward(x.storage.pointer, h, w, kh, kw, window.rows.stride, window.columns.stride,
                                              window.rows.dilation, window.columns.dilation, window.rows.padBefore, window.columns.padBefore,
                                              oh, ow, g.storage.pointer, output, poolArgmax.pointer, f, part, biasPart, rows.0, rows.1)
                } else {
                    fovea_conv1_backward(x.storage.pointer, h, w, kh, kw, window.rows.stride, window.columns.stride,
                                         window.rows.dilation, window.columns.dilation, window.rows.padBefore, window.columns.padBefore,
                                         oh, ow, g.storage.pointer, output, f, part, biasPart, rows.0, rows.1)
                }
                // As for the scratch buffers: a gradient silently missing would be worse than stopping.
                if status != 0 { fatalError("out of memory for first-layer patches (\(2 * ow * kh * kw) floats at most)") }
            }
        }
        Kernels.sumSlices(acc, slices: chunks, size: size)
        let dk = Tensor(uninitializedShape: kernelShape)
        dk.storage.pointer.update(from: acc, count: kh * kw * f)
        var db: Tensor? = nil
        if withBias {
            let bias = Tensor(uninitializedShape: [f])
            bias.storage.pointer.update(from: acc + kh * kw * f, count: f)
            db = bias
        }
        return (dk, db)
    }

    /// The gradient reaching a fused ReLU's input: `g` where the output was positive, else 0.
    static func reluGate(_ g: Tensor, output y: Tensor) -> Tensor {
        precondition(g.shape == y.shape, "reluGate: gradient \(g.shape) and output \(y.shape) differ")
        let result = Tensor(uninitializedShape: g.shape)
        Kernels.reluGate(gradient: g.storage.pointer, output: y.storage.pointer, result: result.storage.pointer, count: g.count)
        return result
    }

    /// A bias gradient: the sum of the `count` values at `dz` over every axis but the last (`channels` wide).
    static func biasGradient(_ dz: UnsafePointer<Float>, count: Int, channels: Int) -> Tensor {
        let sums = Tensor(uninitializedShape: [channels])
        Kernels.columnSums(dz, rows: count / Swift.max(channels, 1), columns: channels, sums: sums.storage.pointer)
        return sums
    }

    /// Fused dense layer: `x · kernel + bias`, then optional ReLU. `x` is `[m, k]`, `kernel` `[k, n]`.
    public static func dense(_ x: Tensor, kernel: Tensor, bias: Tensor?, relu: Bool = false) -> Tensor {
        precondition(x.rank == 2 && kernel.rank == 2 && x.shape[1] == kernel.shape[0],
                     "dense needs [m, k] · [k, n]; got \(x.shape) · \(kernel.shape)")
        let m = x.shape[0], k = x.shape[1], n = kernel.shape[1]
        let out = Tensor(uninitializedShape: [m, n])
        let biasPointer = bias.map { UnsafePointer($0.storage.pointer) }
        if PackedWeights.applies(to: kernel) {
            Kernels.sgemm(m: m, n: n, k: k, a: x.storage.pointer, lda: k,
                          packedB: PackedWeights.prepared(kernel, form: .gemm(n: n, k: k), path: Kernels.detectedPath),
                          c: out.storage.pointer, ldc: n, bias: biasPointer, relu: relu)
        } else {
            Kernels.sgemm(m: m, n: n, k: k, a: x.storage.pointer, lda: k, b: kernel.storage.pointer, ldb: n,
                          c: out.storage.pointer, ldc: n, bias: biasPointer, relu: relu)
        }
        let y = out.detached, xd = x.detached, wd = kernel.detached
        var inputs = [x, kernel]
        if let bias { inputs.append(bias) }
        let needX = x.node != nil, hasBias = bias != nil
        return recordOp(out, inputs: inputs) { g in
            let dz = relu ? reluGate(g, output: y) : g
            var grads: [Tensor?] = [needX ? gemm(dz, wd, transA: false, transB: true) : nil,
                                    gemm(xd, dz, transA: true, transB: false)]
            if hasBias { grads.append(biasGradient(dz.storage.pointer, count: dz.count, channels: n)) }
            return grads
        }
    }

    /// Fused 2-D max pooling over NHWC; remembers each window's winner for the backward pass.
    public static func maxPool2D(_ input: Tensor, window: Window2D) -> Tensor {
        precondition(input.rank == 4, "maxPool2D needs NHWC input; got \(input.shape)")
        let n = input.shape[0], c = input.shape[3]
        let oh = window.rows.output, ow = window.columns.output
        let out = Tensor(uninitializedShape: [n, oh, ow, c])
        let recording = input.node != nil
        let argmax = recording ? UnsafeMutablePointer<Int32>.allocate(capacity: out.count) : nil
        let holder = argmax.map(IndexBuffer.init)
        Kernels.maxPool2D(input: input.storage.pointer, batch: n, height: input.shape[1], width: input.shape[2], channels: c,
                          poolH: window.rows.kernel, poolW: window.columns.kernel,
                          strideH: window.rows.stride, strideW: window.columns.stride,
                          padTop: window.rows.padBefore, padLeft: window.columns.padBefore,
                          outH: oh, outW: ow, output: out.storage.pointer, argmax: argmax)
        let inShape = input.shape, count = out.count
        return recordOp(out, inputs: [input]) { g in
            let dx = Tensor.zeros(inShape)
            Kernels.maxPool2DBackward(gradOutput: g.storage.pointer, argmax: holder!.pointer, count: count,
                                      batch: n, gradInput: dx.storage.pointer)
            return [dx]
        }
    }

    /// Fused 2-D average pooling over NHWC; each window divides by its number of real cells.
    public static func averagePool2D(_ input: Tensor, window: Window2D) -> Tensor {
        precondition(input.rank == 4, "averagePool2D needs NHWC input; got \(input.shape)")
        let n = input.shape[0], h = input.shape[1], w = input.shape[2], c = input.shape[3]
        let oh = window.rows.output, ow = window.columns.output
        let out = Tensor(uninitializedShape: [n, oh, ow, c])
        Kernels.avgPool2D(input: input.storage.pointer, batch: n, height: h, width: w, channels: c,
                          poolH: window.rows.kernel, poolW: window.columns.kernel,
                          strideH: window.rows.stride, strideW: window.columns.stride,
                          padTop: window.rows.padBefore, padLeft: window.columns.padBefore,
                          outH: oh, outW: ow, output: out.storage.pointer)
        let inShape = input.shape
        return recordOp(out, inputs: [input]) { g in
            let dx = Tensor.zeros(inShape)
            Kernels.avgPool2DBackward(gradOutput: g.storage.pointer, batch: n, height: h, width: w, channels: c,
                                      poolH: window.rows.kernel, poolW: window.columns.kernel,
                                      strideH: window.rows.stride, strideW: window.columns.stride,
                                      padTop: window.rows.padBefore, padLeft: window.columns.padBefore,
                                      outH: oh, outW: ow, gradInput: dx.storage.pointer)
            return [dx]
        }
    }

    /// Mean cross-entropy between `softmax(logits)` and integer class labels, in one fused op.
    public static func softmaxCrossEntropy(logits: Tensor, labels: [Int]) -> Tensor {
        precondition(logits.rank == 2 && logits.shape[0] == labels.count,
                     "softmaxCrossEntropy needs [batch, classes] logits and one label per row; got \(logits.shape), \(labels.count) labels")
        return softmaxCrossEntropy(logits: logits, targets: toCategorical(labels, classes: logits.shape[1]))
    }

    /// Mean cross-entropy between `softmax(logits)` and target distributions (one-hot or soft rows),
    /// in one fused op. Each probability is clipped to [1e-7, 1 − 1e-7] inside the logarithm, as
    /// Keras clips probabilities; the gradient is the exact `softmax·Σt − t` of the unclipped loss.
    public static func softmaxCrossEntropy(logits: Tensor, targets: Tensor) -> Tensor {
        precondition(logits.rank == 2 && targets.shape == logits.shape,
                     "softmaxCrossEntropy needs [batch, classes] logits and targets of the same shape; got \(logits.shape), \(targets.shape)")
        let rows = logits.shape[0], classes = logits.shape[1]
        let probs = logits.softmaxValues(log: false)
        let p = probs.storage.pointer, t = targets.storage.pointer
        var total: Double = 0
        for i in 0..<(rows * classes) where t[i] != 0 {
            total -= Double(t[i]) * Foundation.log(Double(Swift.min(Swift.max(p[i], 1e-7), 1 - 1e-7)))
        }
        let loss = Tensor(Float(total / Double(Swift.max(rows, 1))))
        let targetValues = targets.detached
        return recordOp(loss, inputs: [logits]) { g in
            var dx = probs
            dx.makeUnique()
            let scale = g.scalar / Float(Swift.max(rows, 1))
            let d = dx.storage.pointer, t = targetValues.storage.pointer
            for r in 0..<rows {
                var mass: Float = 0
                for j in 0..<classes { mass += t[r * classes + j] }
                for j in 0..<classes { d[r * classes + j] = (d[r * classes + j] * mass - t[r * classes + j]) * scale }
            }
            return [dx]
        }
    }
}

/// Owns an index buffer captured by a pullback and frees it with the graph.
final class IndexBuffer {
    let pointer: UnsafeMutablePointer<Int32>
    init(_ pointer: UnsafeMutablePointer<Int32>) { self.pointer = pointer }
    deinit { pointer.deallocate() }
}

/// Bytes kept alive by a backward closure (a fused max pool's winners).
final class ByteBuffer {
    let pointer: UnsafeMutablePointer<UInt8>
    init(count: Int) { pointer = .allocate(capacity: Swift.max(1, count)) }
    deinit { pointer.deallocate() }
}
