import CFoveaKernels

extension Kernels {
    /// About this many floats (2 MiB) of transformed tiles (input and output together) are in flight
    /// per thread: enough tiles (rows) for the 36 GEMMs to amortise packing their weights. On the
    /// deep CNN, 2^17 gave 766 inference images/s, 2^19 903-1,126 and 2^21 1,036-1,192 (Zen 3).
    static let winogradBlockFloats = 1 << 19
    /// With weights packed ahead of time (inference), a block need not amortise packing them, and
    /// smaller blocks stay in L2 between the transforms and the GEMMs. Deep CNN inference, cycles per
    /// batch of 256 (same sitting): 5.3 and 4.8 G at 2^17, 6.2 and 5.6 G at 2^16; the seed CNN did
    /// not tell them apart.
    static let winogradPackedBlockFloats = 1 << 17

    /// Tiles per block for a convolution from `channels` to `filters` channels (see winogradBlockFloats).
    static func winogradTileBlock(channels: Int, filters: Int, packed: Bool = false) -> Int {
        Swift.max(16, (packed ? winogradPackedBlockFloats : winogradBlockFloats) / (36 * (channels + filters)))
    }

    /// Whether Winograd F(4×4, 3×3) computes this convolution: a 3×3, stride-1, undilated window.
    public static func winogradApplies(kernelH: Int, kernelW: Int, strideH: Int, strideW: Int,
                                       dilationH: Int, dilationW: Int) -> Bool {
        kernelH == 3 && kernelW == 3 && strideH == 1 && strideW == 1 && dilationH == 1 && dilationW == 1
    }

    /// A 3×3, stride-1, undilated NHWC convolution (cross-correlation) by Winograd F(4×4, 3×3), with
    /// `bias` and ReLU fused into the output transform: output (oy, ox) reads input rows
    /// oy − padTop … oy − padTop + 2 (likewise for x), zero outside the input.
    ///
    /// `kernel` is `[3, 3, channels, filters]`. With `adjoint`, it is instead the kernel of the
    /// forward convolution whose input gradient this computes — `[3, 3, filters, channels]`, used
    /// rotated by 180° with its channel axes swapped — so that the input gradient of a 3×3 stride-1
    /// convolution is itself a Winograd convolution of the output gradient.
    /// Writes every output cell (no accumulation). With `pool`, `output` is instead
    /// `[batch, outH/2, outW/2, filters]`: the 2×2, stride-2 `valid` max pool of the result, computed
    /// in the output transform. The batch's 4×4 output tiles are split over
    /// `threads ?? ThreadPool.threadCount` threads.
    public static func winogradConv3x3(input: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels: Int,
                                       padTop: Int, padLeft: Int, outH: Int, outW: Int,
                                       kernel: UnsafePointer<Float>, filters: Int, adjoint: Bool = false,
                                       bias: UnsafePointer<Float>?, relu: Bool, pool: Bool = false,
                                       output: UnsafeMutablePointer<Float>, path: KernelPath? = nil, threads: Int? = nil) {
        winogradConv3x3(input: input, batch: batch, height: height, width: width, channels: channels,
                        padTop: padTop, padLeft: padLeft, outH: outH, outW: outW, kernel: kernel, packed: nil,
                        filters: filters, adjoint: adjoint, bias: bias, relu: relu, pool: pool, output: output,
                        path: path, threads: threads)
    }

    /// The same with the weights already transformed and packed (`packed`, of form
    /// `.winograd(channels:filters:)`, forward only), on the path they were packed for.
    static func winogradConv3x3(input: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels: Int,
                                padTop: Int, padLeft: Int, outH: Int, outW: Int,
                                kernel: UnsafePointer<Float>?, packed: PackedWeights?, filters: Int, adjoint: Bool = false,
                                bias: UnsafePointer<Float>?, relu: Bool, pool: Bool,
                                output: UnsafeMutablePointer<Float>, path: KernelPath? = nil, threads: Int? = nil) {
        precondition(batch >= 0 && height >= 0 && width >= 0 && channels >= 1 && filters >= 1 && outH >= 0 && outW >= 0,
                     "winogradConv3x3: invalid sizes")
        precondition(padTop >= 0 && padLeft >= 0, "winogradConv3x3: negative padding")
        precondition(packed == nil || (packed!.form == .winograd(channels: channels, filters: filters) && !adjoint),
                     "winogradConv3x3: weights packed as \(packed!.form), not for \(channels) → \(filters) channels")
        let tilesPerImage = ((outH + 3) / 4) * ((outW + 3) / 4)
        let tiles = batch * tilesPerImage
        guard tiles > 0 else { return }
        let weights: UnsafePointer<Float>
        let cPath: Int32
        if let packed {
            weights = UnsafePointer(packed.pointer)
            cPath = packed.path.cValue
        } else {
            guard let kernel else { preconditionFailure("winogradConv3x3: no kernel") }
            let u = scratch(36 * channels * filters, slot: .winogradWeights)
            if adjoint {
                fovea_winograd_weights(kernel, filters, channels, 1, u)
            } else {
                fovea_winograd_weights(kernel, channels, filters, 0, u)
            }
            weights = UnsafePointer(u)
            cPath = resolve(path).cValue
        }
        let block = winogradTileBlock(channels: channels, filters: filters, packed: packed != nil)
        // Each thread takes a contiguous run of tiles; a run shorter than a block wastes little.
        ThreadPool.parallelFor(tiles, threads: threads, minChunk: Swift.min(block, 8)) { range in
            let count = Swift.min(block, range.count)
            let v = scratch(36 * count * channels, slot: .columns)
            let m = scratch(36 * count * filters, slot: .columnGradients)
            fovea_winograd_conv3x3(cPath, input, height, width, channels, padTop, padLeft, outH, outW,
                                   weights, packed == nil ? 0 : 1, filters, bias, relu ? 1 : 0, pool ? 1 : 0, output,
                                   range.lowerBound, range.upperBound, count, v, m)
        }
    }

    /// The kernel gradient of a forward ``winogradConv3x3(input:batch:height:width:channels:padTop:padLeft:outH:outW:kernel:filters:adjoint:bias:relu:output:path:threads:)``
    /// (`[3, 3, channels, filters]`, overwritten) from the gradient of its output (`[batch, outH,
    /// outW, filters]`, after any ReLU gate): the products are summed tile by tile in the Winograd
    /// domain, 36 GEMMs per block of tiles, and transformed back once.
    public static func winogradWeightGradient(input: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels: Int,
                                              padTop: Int, padLeft: Int, gradOutput: UnsafePointer<Float>,
                                              outH: Int, outW: Int, filters: Int, gradKernel: UnsafeMutablePointer<Float>,
                                              path: KernelPath? = nil, threads: Int? = nil) {
        precondition(batch >= 0 && height >= 0 && width >= 0 && channels >= 1 && filters >= 1 && outH >= 0 && outW >= 0,
                     "winogradWeightGradient: invalid sizes")
        precondition(padTop >= 0 && padLeft >= 0, "winogradWeightGradient: negative padding")
        let tiles = batch * ((outH + 3) / 4) * ((outW + 3) / 4)
        let size = 36 * channels * filters
        guard tiles > 0 else { gradKernel.initialize(repeating: 0, count: 9 * channels * filters); return }
        let block = winogradTileBlock(channels: channels, filters: filters)
        let chunks = Swift.max(1, Swift.min(threads ?? ThreadPool.threadCount, tiles / 8))
        // One Winograd-domain accumulator per chunk (no write races), summed below.
        let acc = scratch(chunks * size, slot: .winogradGradient)
        let cPath = resolve(path).cValue
        ThreadPool.parallelFor(chunks, threads: chunks) { range in
            for chunk in range {
                let first = tiles * chunk / chunks, last = tiles * (chunk + 1) / chunks
                let count = Swift.min(block, last - first)
                let v = scratch(36 * count * channels, slot: .columns)
                let m = scratch(36 * count * filters, slot: .columnGradients)
                fovea_winograd_weight_gradient(cPath, input, height, width, channels, padTop, padLeft, gradOutput, outH, outW,
                                               filters, first, last, count, v, m, acc + chunk * size, 0)
            }
        }
        sumSlices(acc, slices: chunks, size: size)
        fovea_winograd_weight_gradient_finish(acc, channels, filters, gradKernel)
    }
}
