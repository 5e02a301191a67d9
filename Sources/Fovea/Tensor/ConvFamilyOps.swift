import Foundation

/// Depthwise, grouped and transposed 2-D convolutions (NHWC), each one op on the gradient tape.
extension Tensor {
    /// Keras's `DepthwiseConv2D`: each input channel convolved with its own `M` filters.
    /// `input` is `[batch, height, width, C]`, `kernel` `[kh, kw, C, M]` (M the depth multiplier),
    /// `bias` `[C·M]`; output channel `c·M + m` (TensorFlow's order) is
    /// `bias + Σ_{ky,kx} x[…][c] · kernel[ky][kx][c][m]`. Strides, padding and dilation come from
    /// `window`. Gradients for the input, kernel and bias are C kernels too; the forward pass and the
    /// input gradient give the same numbers whatever the thread count, and so does the kernel
    /// gradient (its reduction is cut by shape, not by thread). A multiplier above 1 runs as
    /// multiplier 1 on the input with each channel repeated M times.
    public static func depthwiseConv2D(_ input: Tensor, kernel: Tensor, bias: Tensor?, window: Window2D) -> Tensor {
        precondition(input.rank == 4 && kernel.rank == 4 && kernel.shape[2] == input.shape[3],
                     "depthwiseConv2D needs NHWC input and a [kh, kw, C, M] kernel; got \(input.shape), \(kernel.shape)")
        let n = input.shape[0], h = input.shape[1], w = input.shape[2], c = input.shape[3]
        let kh = kernel.shape[0], kw = kernel.shape[1], m = kernel.shape[3], cm = c * m
        precondition(window.rows.input == h && window.columns.input == w && window.rows.kernel == kh && window.columns.kernel == kw,
                     "depthwiseConv2D: window \(window) does not fit input \(input.shape) and kernel \(kernel.shape)")
        precondition(bias == nil || bias!.shape == [cm], "depthwiseConv2D: bias \(bias!.shape) must be [\(cm)]")
        let oh = window.rows.output, ow = window.columns.output
        let x = input.detached, k = kernel.detached
        /// The input the multiplier-1 kernels see: `x` itself, or each channel repeated `m` times.
        func expanded() -> Tensor {
            guard m > 1 else { return x }
            let e = Tensor(uninitializedShape: [n, h, w, cm])
            Kernels.depthwiseExpand(x.storage.pointer, pixels: n * h * w, channels: c, multiplier: m, output: e.storage.pointer)
            return e
        }
        func geometry(_ body: (Int, Int, Int, Int, Int, Int) -> Void) {
            body(window.rows.stride, window.columns.stride, window.rows.dilation, window.columns.dilation,
                 window.rows.padBefore, window.columns.padBefore)
        }
        let out = Tensor(uninitializedShape: [n, oh, ow, cm])
        let source = expanded()
        geometry { sh, sw, dh, dw, pt, pl in
            Kernels.depthwiseConv2D(input: source.storage.pointer, batch: n, height: h, width: w, channels: cm,
                                    kernelH: kh, kernelW: kw, strideH: sh, strideW: sw, dilationH: dh, dilationW: dw,
                                    padTop: pt, padLeft: pl, outH: oh, outW: ow, kernel: k.storage.pointer,
                                    bias: bias.map { UnsafePointer($0.detached.storage.pointer) }, output: out.storage.pointer)
        }
        var inputs = [input, kernel]
        if let bias { inputs.append(bias) }
        let needInput = input.node != nil, needKernel = kernel.node != nil, hasBias = bias != nil
        return recordOp(out, inputs: inputs) { g in
            var dInput: Tensor? = nil, dKernel: Tensor? = nil
            geometry { sh, sw, dh, dw, pt, pl in
                if needInput {
                    let dx = Tensor(uninitializedShape: [n, h, w, cm])
                    Kernels.depthwiseConv2DBackwardInput(gradOutput: g.storage.pointer, batch: n, height: h, width: w, channels: cm,
                                                         kernelH: kh, kernelW: kw, strideH: sh, strideW: sw,
                                                         dilationH: dh, dilationW: dw, padTop: pt, padLeft: pl,
                                                         outH: oh, outW: ow, kernel: k.storage.pointer, gradInput: dx.storage.pointer)
                    if m == 1 {
                        dInput = dx
                    } else {
                        let contracted = Tensor(uninitializedShape: [n, h, w, c])
                        Kernels.depthwiseContract(dx.storage.pointer, pixels: n * h * w, channels: c, multiplier: m,
                                                  output: contracted.storage.pointer)
                        dInput = contracted
                    }
                }
                if needKernel {
                    let dk = Tensor(uninitializedShape: [kh, kw, c, m])
                    let source = expanded()
                    Kernels.depthwiseConv2DBackwardKernel(input: source.storage.pointer, batch: n, height: h, width: w, channels: cm,
                                                          kernelH: kh, kernelW: kw, strideH: sh, strideW: sw,
                                                          dilationH: dh, dilationW: dw, padTop: pt, padLeft: pl,
                                                          outH: oh, outW: ow, gradOutput: g.storage.pointer,
                                                          gradKernel: dk.storage.pointer)
                    dKernel = dk
                }
            }
            var grads: [Tensor?] = [dInput, dKernel]
            if hasBias { grads.append(biasGradient(g.storage.pointer, count: g.count, channels: cm)) }
            return grads
        }
    }

    /// Keras's `Conv2D(groups:)`: the input's `C` channels split into `groups` runs of `C/groups`,
    /// each convolved with its own `F/groups` filters. `kernel` is `[kh, kw, C/groups, F]`, filter `f`
    /// belonging to group `f / (F/groups)`; output channels come in group order. `groups == 1` is
    /// exactly ``conv2D(_:kernel:bias:window:relu:algorithm:)`` (same algorithm choice, same speed).
    /// Otherwise each group is an im2col of its channels and a GEMM on its slice of the kernel (a
    /// 1×1 stride-1 window is a GEMM on the input itself), with the optional ReLU fused into the GEMM.
    public static func groupedConv2D(_ input: Tensor, kernel: Tensor, bias: Tensor?, window: Window2D, groups: Int,
                                     relu: Bool = false) -> Tensor {
        precondition(groups >= 1, "groupedConv2D: groups must be at least 1, got \(groups)")
        if groups == 1 { return conv2D(input, kernel: kernel, bias: bias, window: window, relu: relu) }
        precondition(input.rank == 4 && kernel.rank == 4, "groupedConv2D needs NHWC input and [kh, kw, C/groups, F] kernel; got \(input.shape), \(kernel.shape)")
        let n = input.shape[0], h = input.shape[1], w = input.shape[2], c = input.shape[3]
        let kh = kernel.shape[0], kw = kernel.shape[1], cg = kernel.shape[2], f = kernel.shape[3]
        precondition(c % groups == 0 && cg == c / groups && f % groups == 0,
                     "groupedConv2D: \(c) channels and \(f) filters must split into \(groups) groups; kernel \(kernel.shape)")
        precondition(bias == nil || bias!.shape == [f], "groupedConv2D: bias \(bias!.shape) must be [\(f)]")
        precondition(window.rows.input == h && window.columns.input == w && window.rows.kernel == kh && window.columns.kernel == kw,
                     "groupedConv2D: window \(window) does not fit input \(input.shape) and kernel \(kernel.shape)")
        let fg = f / groups, oh = window.rows.output, ow = window.columns.output
        let patch = kh * kw * cg, positions = oh * ow
        let x = input.detached, wt = kernel.detached, b = bias?.detached
        let direct = kh == 1 && kw == 1 && window.rows.stride == 1 && window.columns.stride == 1
            && window.rows.padBefore == 0 && window.columns.padBefore == 0 && oh == h && ow == w
        let split = n >= ThreadPool.threadCount
        let inner = split ? 1 : nil as Int?
        func im2col(_ block: Range<Int>, group: Int, _ cols: UnsafeMutablePointer<Float>) {
            Kernels.im2colGroup(input: x.storage.pointer + block.lowerBound * h * w * c, batch: block.count, height: h, width: w,
                                channels: c, channelBegin: group * cg, groupChannels: cg, kernelH: kh, kernelW: kw,
                                strideH: window.rows.stride, strideW: window.columns.stride,
                                dilationH: window.rows.dilation, dilationW: window.columns.dilation,
                                padTop: window.rows.padBefore, padLeft: window.columns.padBefore,
                                outH: oh, outW: ow, output: cols, threads: inner)
        }
        let blockImages = Swift.max(1, convolutionBlockFloats / Swift.max(1, positions * patch))
        func blocks(_ samples: Range<Int>) -> [Range<Int>] {
            stride(from: samples.lowerBound, to: samples.upperBound, by: blockImages).map { $0..<Swift.min($0 + blockImages, samples.upperBound) }
        }
        let out = Tensor(uninitializedShape: [n, oh, ow, f])
        forEachBatchChunk(split ? n : 1) { chunk in
            for block in blocks(split ? chunk : 0..<n) {
                let rows = block.count * positions
                for group in 0..<groups {
                    let a: UnsafePointer<Float>, lda: Int
                    if direct {
                        a = UnsafePointer(x.storage.pointer + block.lowerBound * h * w * c + group * cg); lda = c
                    } else {
                        let cols = Kernels.scratch(rows * patch, slot: .columns)
                        im2col(block, group: group, cols)
                        a = UnsafePointer(cols); lda = patch
                    }
                    Kernels.sgemm(m: rows, n: fg, k: patch, a: a, lda: lda, b: wt.storage.pointer + group * fg, ldb: f,
                                  c: out.storage.pointer + block.lowerBound * positions * f + group * fg, ldc: f,
                                  bias: b.map { UnsafePointer($0.storage.pointer + group * fg) }, relu: relu, threads: inner)
                }
            }
        }
        let y = out.detached
        var inputs = [input, kernel]
        if let bias { inputs.append(bias) }
        let needInput = input.node != nil, needKernel = kernel.node != nil
        return recordOp(out, inputs: inputs) { g in
            let dz = relu ? reluGate(g, output: y) : g
            let dzp = dz.storage.pointer
            let dInput: Tensor? = needInput ? Tensor.zeros(x.shape) : nil
            let chunks = split ? Swift.max(1, Swift.min(ThreadPool.threadCount, n)) : 1
            let size = patch * f
            // One kernel-gradient accumulator per chunk, summed at the end (no write races).
            let partial = needKernel ? UnsafeMutablePointer<Float>.allocate(capacity: chunks * size) : nil
            defer { partial?.deallocate() }
            ThreadPool.parallelFor(chunks, threads: chunks) { chunkRange in
                for chunkIndex in chunkRange {
                    let samples = (n * chunkIndex / chunks)..<(n * (chunkIndex + 1) / chunks)
                    if let partial { (partial + chunkIndex * size).initialize(repeating: 0, count: size) }
                    for block in blocks(samples) {
                        let rows = block.count * positions
                        let dzBlock = dzp + block.lowerBound * positions * f
                        for group in 0..<groups {
                            if let partial {
                                let dk = partial + chunkIndex * size + group * fg
                                if direct {
                                    Kernels.sgemm(transA: true, m: patch, n: fg, k: rows,
                                                  a: x.storage.pointer + block.lowerBound * h * w * c + group * cg, lda: c,
                                                  b: dzBlock + group * fg, ldb: f, beta: 1, c: dk, ldc: f, threads: inner)
                                } else {
                                    let cols = Kernels.scratch(rows * patch, slot: .columns)
                                    im2col(block, group: group, cols)
                                    Kernels.sgemm(transA: true, m: patch, n: fg, k: rows, a: cols, lda: patch,
                                                  b: dzBlock + group * fg, ldb: f, beta: 1, c: dk, ldc: f, threads: inner)
                                }
                            }
                            if let dIn = dInput {
                                let dst = dIn.storage.pointer + block.lowerBound * h * w * c
                                if direct {
                                    Kernels.sgemm(transB: true, m: rows, n: cg, k: fg, a: dzBlock + group * fg, lda: f,
                                                  b: wt.storage.pointer + group * fg, ldb: f, c: dst + group * cg, ldc: c,
                                                  threads: inner)
                                } else {
                                    let dcols = Kernels.scratch(rows * patch, slot: .columnGradients)
                                    Kernels.sgemm(transB: true, m: rows, n: patch, k: fg, a: dzBlock + group * fg, lda: f,
                                                  b: wt.storage.pointer + group * fg, ldb: f, c: dcols, ldc: patch, threads: inner)
                                    Kernels.col2imGroup(columns: dcols, batch: block.count, height: h, width: w, channels: c,
                                                        channelBegin: group * cg, groupChannels: cg, kernelH: kh, kernelW: kw,
                                                        strideH: window.rows.stride, strideW: window.columns.stride,
                                                        dilationH: window.rows.dilation, dilationW: window.columns.dilation,
                                                        padTop: window.rows.padBefore, padLeft: window.columns.padBefore,
                                                        outH: oh, outW: ow, gradInput: dst, threads: 1)
                                }
                            }
                        }
                    }
                }
            }
            var dKernel: Tensor? = nil
            if let partial {
                Kernels.sumSlices(partial, slices: chunks, size: size)
                let dk = Tensor(uninitializedShape: wt.shape)
                dk.storage.pointer.update(from: partial, count: size)
                dKernel = dk
            }
            var grads: [Tensor?] = [dInput, dKernel]
            if b != nil { grads.append(biasGradient(dzp, count: dz.count, channels: f)) }
            return grads
        }
    }

    /// Keras's output length of a transposed convolution along one axis (`Conv2DTranspose`'s
    /// shape rule): with `k = (kernel − 1)·dilation + 1`, `valid` gives `(input − 1)·stride + k +
    /// outputPadding` (outputPadding nil: `max(k, stride) − k`), `same` gives `input · stride`
    /// (outputPadding nil) or `(input − 1)·stride + kernel % 2 + outputPadding`.
    ///
    /// Throws a ``FoveaError`` for what Keras rejects: sizes below 1, an output padding that is
    /// negative or not below the stride, and a combination whose output no stride-`stride`
    /// convolution maps back to `input` positions (TensorFlow fails on it at run time; e.g. `same`
    /// with an even kernel and outputPadding 0).
    public static func conv2DTransposeOutputSize(input: Int, kernel: Int, stride: Int, padding: Padding,
                                                 outputPadding: Int? = nil, dilation: Int = 1) throws -> Int {
        try transposedWindow(input: input, kernel: kernel, stride: stride, padding: padding,
                             outputPadding: outputPadding, dilation: dilation).input
    }

    /// The window of the convolution whose input gradient a transposed convolution is: over the
    /// transposed convolution's output (`input` of the result), producing its `input` positions
    /// (`output` of the result).
    public static func transposedWindow(input: Int, kernel: Int, stride: Int, padding: Padding,
                                        outputPadding: Int? = nil, dilation: Int = 1) throws -> WindowAxis {
        guard input >= 1, kernel >= 1, stride >= 1, dilation >= 1 else {
            throw FoveaError("Conv2DTranspose: input \(input), kernel \(kernel), stride \(stride) and dilation \(dilation) must all be at least 1")
        }
        if let outputPadding, outputPadding < 0 || outputPadding >= stride {
            throw FoveaError("Conv2DTranspose: outputPadding \(outputPadding) must be at least 0 and strictly less than the stride \(stride)")
        }
        let extent = (kernel - 1) * dilation + 1
        let size: Int
        switch padding {
        case .valid: size = (input - 1) * stride + extent + (outputPadding ?? (Swift.max(extent, stride) - extent))
        case .same: size = outputPadding.map { (input - 1) * stride + kernel % 2 + $0 } ?? input * stride
        case .causal: throw FoveaError("Conv2DTranspose: 'causal' padding is for 1-D convolutions; use 'valid' or 'same'")
        }
        guard size >= 1, let axis = WindowAxis(input: size, kernel: kernel, stride: stride, dilation: dilation, padding: padding),
              axis.output == input else {
            throw FoveaError("Conv2DTranspose: kernel \(kernel), stride \(stride), dilation \(dilation), padding \(padding.rawValue) and outputPadding \(outputPadding.map(String.init) ?? "nil") give \(size) output positions, which a stride-\(stride) convolution does not map back to \(input); choose another outputPadding (or nil)")
        }
        return axis
    }

    /// Keras's `Conv2DTranspose` (NHWC): `input` `[batch, h, w, C_in]`, `kernel` `[kh, kw, filters, C_in]`,
    /// `bias` `[filters]`; the output is `[batch, H, W, filters]` with `H`, `W` from
    /// ``conv2DTransposeOutputSize(input:kernel:stride:padding:outputPadding:dilation:)``.
    /// It is the adjoint with respect to its input of the convolution of an `H×W` image with that
    /// kernel (read as `[kh, kw, filters, C_in]`) over ``transposedWindow(input:kernel:stride:padding:outputPadding:dilation:)``:
    /// forward = GEMM then col2im; input gradient = im2col then GEMM; kernel gradient = GEMM of
    /// im2col(dy) and x. The shape arguments must be valid (the layer checks them with the throwing
    /// size function).
    public static func conv2DTranspose(_ input: Tensor, kernel: Tensor, bias: Tensor?, strides: (Int, Int), padding: Padding,
                                       outputPadding: (Int, Int)?, dilation: (Int, Int)) -> Tensor {
        precondition(input.rank == 4 && kernel.rank == 4 && kernel.shape[3] == input.shape[3],
                     "conv2DTranspose needs NHWC input and a [kh, kw, filters, C_in] kernel; got \(input.shape), \(kernel.shape)")
        let n = input.shape[0], ih = input.shape[1], iw = input.shape[2], cin = input.shape[3]
        let kh = kernel.shape[0], kw = kernel.shape[1], f = kernel.shape[2]
        precondition(bias == nil || bias!.shape == [f], "conv2DTranspose: bias \(bias!.shape) must be [\(f)]")
        let rowsAxis: WindowAxis, columnsAxis: WindowAxis
        do {
            rowsAxis = try transposedWindow(input: ih, kernel: kh, stride: strides.0, padding: padding,
                                            outputPadding: outputPadding?.0, dilation: dilation.0)
            columnsAxis = try transposedWindow(input: iw, kernel: kw, stride: strides.1, padding: padding,
                                               outputPadding: outputPadding?.1, dilation: dilation.1)
        } catch {
            preconditionFailure("conv2DTranspose: \(error)")
        }
        let window = Window2D(rows: rowsAxis, columns: columnsAxis)
        let oh = rowsAxis.input, ow = columnsAxis.input
        let patch = kh * kw * f, positions = ih * iw
        let x = input.detached, wt = kernel.detached, b = bias?.detached
        let direct = kh == 1 && kw == 1 && strides == (1, 1) && oh == ih && ow == iw
            && rowsAxis.padBefore == 0 && columnsAxis.padBefore == 0
        let split = n >= ThreadPool.threadCount
        let inner = split ? 1 : nil as Int?
        // Layout transforms split over the pool too when the batch is not (a single image).
        func col2im(_ columns: UnsafePointer<Float>, images: Int, into output: UnsafeMutablePointer<Float>) {
            Kernels.col2im(columns: columns, batch: images, height: oh, width: ow, channels: f, kernelH: kh, kernelW: kw,
                           strideH: window.rows.stride, strideW: window.columns.stride,
                           dilationH: window.rows.dilation, dilationW: window.columns.dilation,
                           padTop: window.rows.padBefore, padLeft: window.columns.padBefore,
                           outH: ih, outW: iw, gradInput: output, threads: inner)
        }
        func im2col(_ gradient: UnsafePointer<Float>, images: Int, into columns: UnsafeMutablePointer<Float>) {
            Kernels.im2col(input: gradient, batch: images, height: oh, width: ow, channels: f, kernelH: kh, kernelW: kw,
                           strideH: window.rows.stride, strideW: window.columns.stride,
                           dilationH: window.rows.dilation, dilationW: window.columns.dilation,
                           padTop: window.rows.padBefore, padLeft: window.columns.padBefore,
                           outH: ih, outW: iw, output: columns, threads: inner)
        }
        let blockImages = Swift.max(1, convolutionBlockFloats / Swift.max(1, positions * patch))
        func blocks(_ samples: Range<Int>) -> [Range<Int>] {
            stride(from: samples.lowerBound, to: samples.upperBound, by: blockImages).map { $0..<Swift.min($0 + blockImages, samples.upperBound) }
        }
        let out = Tensor(uninitializedShape: [n, oh, ow, f])
        let outImage = oh * ow * f
        forEachBatchChunk(split ? n : 1) { chunk in
            for block in blocks(split ? chunk : 0..<n) {
                let rows = block.count * positions
                let a = x.storage.pointer + block.lowerBound * positions * cin
                let dst = out.storage.pointer + block.lowerBound * outImage
                if direct {
                    Kernels.sgemm(transB: true, m: rows, n: f, k: cin, a: a, lda: cin, b: wt.storage.pointer, ldb: cin,
                                  c: dst, ldc: f, bias: b.map { UnsafePointer($0.storage.pointer) }, threads: inner)
                    continue
                }
                // col2im adds into the output: start from the bias (or zeros).
                if let b {
                    for cell in 0..<(block.count * oh * ow) { (dst + cell * f).update(from: b.storage.pointer, count: f) }
                } else {
                    dst.initialize(repeating: 0, count: block.count * outImage)
                }
                let cols = Kernels.scratch(rows * patch, slot: .columnGradients)
                Kernels.sgemm(transB: true, m: rows, n: patch, k: cin, a: a, lda: cin, b: wt.storage.pointer, ldb: cin,
                              c: cols, ldc: patch, threads: inner)
                col2im(cols, images: block.count, into: dst)
            }
        }
        var inputs = [input, kernel]
        if let bias { inputs.append(bias) }
        let needInput = input.node != nil, needKernel = kernel.node != nil
        return recordOp(out, inputs: inputs) { g in
            let gp = g.storage.pointer
            let dInput: Tensor? = needInput ? Tensor(uninitializedShape: x.shape) : nil
            let chunks = split ? Swift.max(1, Swift.min(ThreadPool.threadCount, n)) : 1
            let size = patch * cin
            let partial = needKernel ? UnsafeMutablePointer<Float>.allocate(capacity: chunks * size) : nil
            defer { partial?.deallocate() }
            ThreadPool.parallelFor(chunks, threads: chunks) { chunkRange in
                for chunkIndex in chunkRange {
                    let samples = (n * chunkIndex / chunks)..<(n * (chunkIndex + 1) / chunks)
                    if let partial { (partial + chunkIndex * size).initialize(repeating: 0, count: size) }
                    for block in blocks(samples) {
                        let rows = block.count * positions
                        let gBlock = gp + block.lowerBound * outImage
                        let cols: UnsafePointer<Float>, ldCols: Int
                        if direct {
                            cols = UnsafePointer(gBlock); ldCols = f
                        } else {
                            let scratch = Kernels.scratch(rows * patch, slot: .columns)
                            im2col(gBlock, images: block.count, into: scratch)
                            cols = UnsafePointer(scratch); ldCols = patch
                        }
                        if let dIn = dInput {
                            Kernels.sgemm(m: rows, n: cin, k: patch, a: cols, lda: ldCols, b: wt.storage.pointer, ldb: cin,
                                          c: dIn.storage.pointer + block.lowerBound * positions * cin, ldc: cin, threads: inner)
                        }
                        if let partial {
                            Kernels.sgemm(transA: true, m: patch, n: cin, k: rows, a: cols, lda: ldCols,
                                          b: x.storage.pointer + block.lowerBound * positions * cin, ldb: cin,
                                          beta: 1, c: partial + chunkIndex * size, ldc: cin, threads: inner)
                        }
                    }
                }
            }
            var dKernel: Tensor? = nil
            if let partial {
                Kernels.sumSlices(partial, slices: chunks, size: size)
                let dk = Tensor(uninitializedShape: wt.shape)
                dk.storage.pointer.update(from: partial, count: size)
                dKernel = dk
            }
            var grads: [Tensor?] = [dInput, dKernel]
            if b != nil { grads.append(biasGradient(gp, count: g.count, channels: f)) }
            return grads
        }
    }
}
