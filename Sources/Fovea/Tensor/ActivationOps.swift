import CFoveaKernels

/// Keras 3's element-wise activations (`keras.activations`, the `ReLU`, `LeakyReLU`, `ELU` and
/// `PReLU` layers), each one op on the gradient tape with a forward and a backward pass in C.
///
/// Numbers follow Keras with the TensorFlow backend: the same formulas in the same Float order
/// (equal to Keras's within 1e-6 relative where TensorFlow's own result is accurate to that), and
/// TensorFlow's gradients, including the value taken at a kink: relu's gradient is 0 at 0, relu6's
/// at 0 and 6, leaky_relu's is the slope at 0, PReLU's is 0 at 0, ELU's is alpha at 0.
extension Tensor {
    /// Keras `relu(x, negative_slope, max_value, threshold)` and the `ReLU` layer:
    /// `x` from `threshold` up, capped at `maxValue` (nil: no cap), and
    /// `negativeSlope · (x − threshold)` below `threshold`. With the defaults it is `max(x, 0)`;
    /// `maxValue: 6` alone is `relu6()`, `negativeSlope` alone `leakyRelu(negativeSlope:)`.
    /// Gradients as TensorFlow's through Keras's composition: 0 at the threshold, and at `maxValue`
    /// 1 (a clip passes a tie) except for relu6, whose gradient is 0 at 6.
    public func relu(negativeSlope: Float = 0, maxValue: Float? = nil, threshold: Float = 0) -> Tensor {
        switch (negativeSlope, maxValue, threshold) {
        case (0, nil, 0): return activation(FOVEA_ACT_RELU)
        case (0, 6?, 0): return activation(FOVEA_ACT_RELU6)
        case (_, nil, 0): return activation(FOVEA_ACT_LEAKY_RELU, slope: negativeSlope)
        default:
            return activation(FOVEA_ACT_RELU_GENERAL, slope: negativeSlope, threshold: threshold, maxValue: maxValue)
        }
    }

    /// Keras `relu6`: `min(max(x, 0), 6)`; the gradient is 1 strictly between 0 and 6.
    public func relu6() -> Tensor { activation(FOVEA_ACT_RELU6) }

    /// Keras `leaky_relu`: `x` where `x > 0`, else `negativeSlope · x` (gradient `negativeSlope` at 0).
    /// The default 0.2 is the activation function's; Keras's `LeakyReLU` layer defaults to 0.3.
    public func leakyRelu(negativeSlope: Float = 0.2) -> Tensor { activation(FOVEA_ACT_LEAKY_RELU, slope: negativeSlope) }

    /// Keras `elu`: `x` where `x > 0`, else `alpha · (exp(x) − 1)`.
    public func elu(alpha: Float = 1) -> Tensor { activation(FOVEA_ACT_ELU, alpha: alpha) }

    /// Keras `selu`: `1.0507010 · x` where `x >= 0`, else `1.0507010 · 1.6732632 · (exp(x) − 1)`.
    public func selu() -> Tensor { activation(FOVEA_ACT_SELU) }

    /// Keras `silu` (also `swish`): `x · sigmoid(x)`.
    public func silu() -> Tensor { activation(FOVEA_ACT_SILU) }

    /// Keras `swish`, the same as ``silu()``.
    public func swish() -> Tensor { silu() }

    /// Keras `gelu`: `0.5 · x · (1 + erf(x / √2))` (computed as `0.5 · x · erfc(−x / √2)`), or with
    /// `approximate` the tanh form `0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))`. Keras's
    /// `"gelu"` activation string is the exact form (`approximate: false`).
    public func gelu(approximate: Bool = false) -> Tensor {
        activation(approximate ? FOVEA_ACT_GELU_TANH : FOVEA_ACT_GELU)
    }

    /// Keras 3 `hard_sigmoid`: `relu6(x + 3) / 6` (0 up to −3, 1 from 3).
    public func hardSigmoid() -> Tensor { activation(FOVEA_ACT_HARD_SIGMOID) }

    /// Keras 3 `hard_silu` (also `hard_swish`): `x · relu6(x + 3) / 6`.
    public func hardSilu() -> Tensor { activation(FOVEA_ACT_HARD_SILU) }

    /// Keras `hard_swish`, the same as ``hardSilu()``.
    public func hardSwish() -> Tensor { hardSilu() }

    /// Keras `softplus`: `log(1 + exp(x))` (x itself above 13.94 and exp(x) below −13.94, as
    /// TensorFlow cuts it).
    public func softplus() -> Tensor { activation(FOVEA_ACT_SOFTPLUS) }

    /// Keras `softsign`: `x / (|x| + 1)`.
    public func softsign() -> Tensor { activation(FOVEA_ACT_SOFTSIGN) }

    /// Keras `exponential`: `exp(x)`, in one C pass (the same values as ``exp()``).
    public func exponential() -> Tensor { activation(FOVEA_ACT_EXPONENTIAL) }

    /// Keras `PReLU`: `x` where `x > 0`, else `alpha · x`, with a learned `alpha` shaped as this
    /// tensor without its first (batch) axis, size 1 on the axes it is shared along (Keras
    /// `PReLU(shared_axes:)`: `[1, 1, channels]` for NHWC with `shared_axes=[1, 2]`). Gradients for
    /// both; the input's is 0 at 0 (TensorFlow's, through `relu(x) − alpha · relu(−x)`).
    public func prelu(alpha: Tensor) -> Tensor {
        let rest = Array(shape.dropFirst())
        precondition(rank >= 1 && alpha.rank == rest.count && zip(alpha.shape, rest).allSatisfy { $0 == $1 || $0 == 1 },
                     "prelu: alpha of shape \(alpha.shape) does not fit an input of shape \(shape) (it needs the input's shape without its batch axis, with 1 on shared axes)")
        let width = rest.reduce(1, *), rows = shape.first ?? 1
        let alphaRow = alpha.broadcastValues(to: rest)
        let out = Tensor(uninitializedShape: shape)
        let x = self.detached
        let minimumRows = Swift.max(1, Tensor.elementwiseMinimumChunk / Swift.max(1, width))
        ThreadPool.parallelFor(rows, minChunk: minimumRows) { range in
            fovea_prelu_forward(x.storage.pointer, alphaRow.storage.pointer, out.storage.pointer, width, range.lowerBound, range.upperBound)
        }
        let needX = node != nil, needAlpha = alpha.node != nil, alphaShape = alpha.shape
        return Tensor.recordOp(out, inputs: [self, alpha]) { g in
            let dx = needX ? Tensor(uninitializedShape: x.shape) : nil
            // Per-chunk alpha sums, folded into the first.
            let chunks = needAlpha ? Swift.max(1, Swift.min(ThreadPool.threadCount, rows / minimumRows)) : 1
            let partial = needAlpha ? Tensor.zeros([chunks, width]) : nil
            ThreadPool.parallelFor(chunks, threads: chunks) { chunkRange in
                for chunk in chunkRange {
                    let begin = rows * chunk / chunks, end = rows * (chunk + 1) / chunks
                    fovea_prelu_backward(x.storage.pointer, alphaRow.storage.pointer, g.storage.pointer, dx?.storage.pointer,
                                         partial.map { $0.storage.pointer + chunk * width }, width, begin, end)
                }
            }
            var dAlpha: Tensor? = nil
            if let partial {
                Kernels.sumSlices(partial.storage.pointer, slices: chunks, size: width)
                let sums = Tensor(uninitializedShape: rest)
                sums.storage.pointer.update(from: partial.storage.pointer, count: width)
                dAlpha = sums.unbroadcast(to: alphaShape)
            }
            return [dx, dAlpha]
        }
    }

    /// One of the C activations as one op on the tape: the pullback keeps the output when the
    /// derivative is a function of it (relu, relu6, leaky_relu, selu, exponential), else the input.
    func activation(_ kind: Int, slope: Float = 0, alpha: Float = 1, threshold: Float = 0, maxValue: Float? = nil) -> Tensor {
        let params = fovea_activation_params(slope: slope, alpha: alpha, threshold: threshold,
                                             max_value: maxValue ?? 0, has_max_value: maxValue == nil ? 0 : 1)
        let kind = Int32(kind)
        let out = Tensor(uninitializedShape: shape)
        let x = self.detached
        Tensor.forEachElementRange(count) { begin, end in
            fovea_activation_forward(kind, params, x.storage.pointer + begin, out.storage.pointer + begin, end - begin)
        }
        let fromOutput = fovea_activation_backward_uses_output(kind, params) != 0
        let saved = fromOutput ? out.detached : x
        return Tensor.recordOp(out, inputs: [self]) { g in
            let dx = Tensor(uninitializedShape: g.shape)
            let source = saved.storage.pointer
            Tensor.forEachElementRange(g.count) { begin, end in
                fovea_activation_backward(kind, params, fromOutput ? nil : source + begin, fromOutput ? source + begin : nil,
                                          g.storage.pointer + begin, dx.storage.pointer + begin, end - begin)
            }
            return [dx]
        }
    }
}
