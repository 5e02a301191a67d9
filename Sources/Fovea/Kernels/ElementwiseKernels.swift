import CFoveaKernels

extension Kernels {
    /// `result[i] = output[i] > 0 ? gradient[i] : 0`: the backward pass of a ReLU fused into the
    /// op that produced `output`.
    public static func reluGate(gradient: UnsafePointer<Float>, output: UnsafePointer<Float>,
                                result: UnsafeMutablePointer<Float>, count: Int) {
        precondition(count >= 0, "negative count")
        fovea_relu_gate(gradient, output, result, count)
    }

    /// `sums[j] = Σᵢ x[i·columns + j]` over a row-major `[rows, columns]` array (a bias gradient).
    public static func columnSums(_ x: UnsafePointer<Float>, rows: Int, columns: Int, sums: UnsafeMutablePointer<Float>) {
        precondition(rows >= 0 && columns >= 0, "negative size")
        fovea_column_sums(x, rows, columns, sums)
    }

    /// Adds slices 1..<slices of `size` floats each (per-thread partial sums laid end to end) into slice 0.
    public static func sumSlices(_ base: UnsafeMutablePointer<Float>, slices: Int, size: Int) {
        precondition(slices >= 1 && size >= 0, "sumSlices: invalid sizes")
        fovea_sum_slices(base, slices, size)
    }
}

/// Per-thread scratch buffers, reused across calls (see `fovea_scratch`).
public enum ScratchSlot: Int32, Sendable {
    /// im2col columns of a convolution's forward pass or its weight gradient.
    case columns = 0
    /// Column gradients of a convolution's input-gradient pass (before col2im).
    case columnGradients = 1
    /// A convolution's output gradient after its fused ReLU.
    case gatedGradient = 2
    /// A convolution's Winograd-transformed weights (read by every worker of one call).
    case winogradWeights = 3
    /// Per-thread Winograd-domain weight gradients of one call, summed by the calling thread.
    case winogradGradient = 4
}

extension Kernels {
    /// This thread's buffer for `slot`, at least `count` floats, contents undefined. Valid until this
    /// thread asks for the same slot again; never hand it to another thread.
    public static func scratch(_ count: Int, slot: ScratchSlot) -> UnsafeMutablePointer<Float> {
        precondition(count >= 0, "negative scratch size")
        guard let p = fovea_scratch(count, slot.rawValue) else {
            fatalError("out of memory for a \(count)-float scratch buffer")
        }
        return p
    }
}
