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
}
