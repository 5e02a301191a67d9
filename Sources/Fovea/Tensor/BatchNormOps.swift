import Foundation

/// Batch normalization as single ops on the gradient tape (Keras 3's `BatchNormalization` with the
/// TensorFlow backend, channels last: statistics over every axis but the last).
extension Tensor {
    /// Training-mode batch normalization: the batch's per-channel `mean` and biased `variance` (over
    /// every axis but the last, divided by the number of rows, as Keras's `ops.moments`; summed in
    /// double, then rounded), and `output = (x − mean) · s + beta` with `s = rsqrt(variance +
    /// epsilon) · gamma` rounded as TensorFlow rounds it. TensorFlow's `tf.nn.batch_normalization`
    /// evaluates `x · s + (beta − mean · s)`, equal in exact arithmetic; centring first (with the
    /// mean's rest below Float precision) keeps the output accurate when a channel's mean is large
    /// against its spread, and agrees with Keras within 1e-5 (tested) wherever TensorFlow's own
    /// rounding allows it. `gamma`/`beta` are `[channels]`; nil is Keras's `scale=False`/`center=False`.
    ///
    /// One op on the tape (inputs `x`, `gamma`, `beta`) whose pullback gives the exact gradients,
    /// through the batch statistics: `dbeta = Σ dy`, `dgamma = Σ dy · x̂` and
    /// `dx = gamma · rsqrt(var + ε) · (dy − mean(dy) − x̂ · mean(dy · x̂))` with `x̂ = (x − mean) · rsqrt(var + ε)`.
    /// `mean` and `variance` come back detached (for the layer's moving averages). The statistics
    /// are summed in double in blocks fixed by the shape: bit-identical results whatever the thread
    /// count. An empty batch gives zero statistics and an empty output.
    public static func batchNormalizationTraining(_ x: Tensor, gamma: Tensor?, beta: Tensor?, epsilon: Float)
        -> (output: Tensor, mean: Tensor, variance: Tensor) {
        let channels = checkBatchNorm(x, gamma: gamma, beta: beta, what: "batchNormalizationTraining")
        let rows = channels == 0 ? 0 : x.count / channels
        let xd = x.detached, g = gamma?.detached, b = beta?.detached
        let mean = Tensor(uninitializedShape: [channels]), variance = Tensor(uninitializedShape: [channels])
        let meanLow = Tensor(uninitializedShape: [channels])
        Kernels.batchNormMoments(xd.storage.pointer, rows: rows, channels: channels, mean: mean.storage.pointer,
                                 variance: variance.storage.pointer, meanLow: meanLow.storage.pointer)
        let scale = Tensor(uninitializedShape: [channels]), inverse = Tensor(uninitializedShape: [channels])
        Kernels.batchNormScale(variance: variance.storage.pointer, gamma: g.map { UnsafePointer($0.storage.pointer) },
                               epsilon: epsilon, channels: channels, scale: scale.storage.pointer,
                               inverseDeviation: inverse.storage.pointer)
        let out = Tensor(uninitializedShape: x.shape)
        Kernels.batchNormalize(xd.storage.pointer, rows: rows, channels: channels, mean: mean.storage.pointer,
                               meanLow: meanLow.storage.pointer, scale: scale.storage.pointer,
                               beta: b.map { UnsafePointer($0.storage.pointer) }, output: out.storage.pointer)
        var inputs = [x]
        if let gamma { inputs.append(gamma) }
        if let beta { inputs.append(beta) }
        let needX = x.node != nil, needGamma = gamma?.node != nil, needBeta = beta?.node != nil
        let output = recordOp(out, inputs: inputs) { dy in
            let (sumGrad, sumCentered) = batchNormSums(dy, xd, mean: mean, meanLow: meanLow)
            var grads: [Tensor?] = []
            if needX {
                // dx = dy·A + (x − mean)·B + D per channel, the coefficients in double (D takes the
                // mean's rest below Float precision).
                let a = Tensor(uninitializedShape: [channels]), bb = Tensor(uninitializedShape: [channels])
                let d = Tensor(uninitializedShape: [channels])
                let n = Double(rows)
                for c in 0..<channels {
                    let inv = Double(inverse.storage.pointer[c])
                    let coefficient = inv * (g.map { Double($0.storage.pointer[c]) } ?? 1)
                    let slope = -coefficient * inv * inv * sumCentered[c] / n
                    a.storage.pointer[c] = Float(coefficient)
                    bb.storage.pointer[c] = Float(slope)
                    d.storage.pointer[c] = Float(-coefficient * sumGrad[c] / n - slope * Double(meanLow.storage.pointer[c]))
                }
                let dx = Tensor(uninitializedShape: xd.shape)
                Kernels.batchNormInputGradient(gradOutput: dy.storage.pointer, input: xd.storage.pointer, mean: mean.storage.pointer, rows: rows,
                                               channels: channels, a: a.storage.pointer, b: bb.storage.pointer,
                                               d: d.storage.pointer, gradInput: dx.storage.pointer)
                grads.append(dx)
            } else {
                grads.append(nil)
            }
            if g != nil {
                grads.append(needGamma ? Tensor(shape: [channels], scalars: (0..<channels).map {
                    Float(Double(inverse.storage.pointer[$0]) * sumCentered[$0]) }) : nil)
            }
            if b != nil { grads.append(needBeta ? Tensor(shape: [channels], scalars: sumGrad.map(Float.init)) : nil) }
            return grads
        }
        return (output, mean, variance)
    }

    /// Inference-mode batch normalization with given statistics (a layer's moving mean and
    /// variance): `(x − mean) · s + beta` with `s = rsqrt(variance + epsilon) · gamma` (see
    /// ``batchNormalizationTraining(_:gamma:beta:epsilon:)`` on the order of operations).
    /// Differentiable with respect to `x`, `gamma` and `beta` (a frozen batch
    /// normalization inside a model being fine-tuned); `mean` and `variance` are constants.
    public static func batchNormalizationInference(_ x: Tensor, mean: Tensor, variance: Tensor, gamma: Tensor?, beta: Tensor?,
                                                   epsilon: Float) -> Tensor {
        let channels = checkBatchNorm(x, gamma: gamma, beta: beta, what: "batchNormalizationInference")
        precondition(mean.shape == [channels] && variance.shape == [channels],
                     "batchNormalizationInference: mean \(mean.shape) and variance \(variance.shape) must be [\(channels)]")
        let rows = channels == 0 ? 0 : x.count / channels
        let xd = x.detached, g = gamma?.detached, meanValues = mean.detached
        let scale = Tensor(uninitializedShape: [channels]), inverse = Tensor(uninitializedShape: [channels])
        Kernels.batchNormScale(variance: variance.storage.pointer, gamma: g.map { UnsafePointer($0.storage.pointer) },
                               epsilon: epsilon, channels: channels, scale: scale.storage.pointer,
                               inverseDeviation: inverse.storage.pointer)
        let out = Tensor(uninitializedShape: x.shape)
        Kernels.batchNormalize(xd.storage.pointer, rows: rows, channels: channels, mean: meanValues.storage.pointer, meanLow: nil,
                               scale: scale.storage.pointer, beta: beta.map { UnsafePointer($0.storage.pointer) },
                               output: out.storage.pointer)
        var inputs = [x]
        if let gamma { inputs.append(gamma) }
        if let beta { inputs.append(beta) }
        let needX = x.node != nil, needGamma = gamma?.node != nil, needBeta = beta?.node != nil
        let hasBeta = beta != nil
        return recordOp(out, inputs: inputs) { dy in
            var grads: [Tensor?] = []
            if needX {
                let dx = Tensor(uninitializedShape: xd.shape)
                Kernels.channelAffine(dy.storage.pointer, rows: rows, channels: channels, scale: scale.storage.pointer,
                                      shift: nil, output: dx.storage.pointer)
                grads.append(dx)
            } else {
                grads.append(nil)
            }
            if needGamma || needBeta {
                let (sumGrad, sumCentered) = batchNormSums(dy, xd, mean: meanValues, meanLow: nil)
                if g != nil {
                    grads.append(needGamma ? Tensor(shape: [channels], scalars: (0..<channels).map {
                        Float(Double(inverse.storage.pointer[$0]) * sumCentered[$0]) }) : nil)
                }
                if hasBeta { grads.append(needBeta ? Tensor(shape: [channels], scalars: sumGrad.map(Float.init)) : nil) }
            } else {
                if g != nil { grads.append(nil) }
                if hasBeta { grads.append(nil) }
            }
            return grads
        }
    }

    /// A convolution's kernel and bias with an inference-mode batch normalization folded in:
    /// `conv(x, kernel′) + bias′` equals `batchNormalizationInference(conv(x, kernel) + bias, …)` up to
    /// float rounding (`kernel′ = kernel · s`, `bias′ = (bias − mean) · s + beta` per output channel,
    /// `s` as in batch normalization). The output channel of a kernel element is its flat
    /// index modulo `mean.count`, which holds for Conv2D, grouped Conv2D and Dense kernels (output
    /// channels on the last axis) and for depthwise kernels `[kh, kw, C, M]` (output channel `c·M + m`),
    /// not for Conv2DTranspose kernels. A nil `bias` is zero. Not differentiable (an inference pass).
    public static func foldingBatchNorm(kernel: Tensor, bias: Tensor?, mean: Tensor, variance: Tensor, gamma: Tensor?,
                                        beta: Tensor?, epsilon: Float) -> (kernel: Tensor, bias: Tensor) {
        let channels = mean.count
        precondition(mean.shape == [channels] && variance.shape == [channels] && channels > 0,
                     "foldingBatchNorm: mean \(mean.shape) and variance \(variance.shape) must be the same [channels]")
        let trailing = (0...kernel.rank).map { kernel.shape[$0...].reduce(1, *) }
        precondition(trailing.contains(channels),
                     "foldingBatchNorm: no trailing axes of kernel \(kernel.shape) hold \(channels) output channels")
        for (name, t) in [("gamma", gamma), ("beta", beta), ("bias", bias)] {
            precondition(t == nil || t!.shape == [channels], "foldingBatchNorm: \(name) \(t!.shape) must be [\(channels)]")
        }
        var folded = kernel.detached
        folded.makeUnique()
        var newBias = bias?.detached ?? Tensor.zeros([channels])
        newBias.makeUnique()
        Kernels.foldBatchNorm(kernel: folded.storage.pointer, count: folded.count, bias: newBias.storage.pointer,
                              mean: mean.storage.pointer, variance: variance.storage.pointer,
                              gamma: gamma.map { UnsafePointer($0.storage.pointer) },
                              beta: beta.map { UnsafePointer($0.storage.pointer) }, epsilon: epsilon, channels: channels)
        return (folded, newBias)
    }

    /// The channel count of a batch normalization's input, after checking gamma and beta against it.
    private static func checkBatchNorm(_ x: Tensor, gamma: Tensor?, beta: Tensor?, what: String) -> Int {
        precondition(x.rank >= 1, "\(what) needs channels on a last axis; got a scalar")
        let channels = x.shape[x.rank - 1]
        precondition(gamma == nil || gamma!.shape == [channels], "\(what): gamma \(gamma!.shape) must be [\(channels)]")
        precondition(beta == nil || beta!.shape == [channels], "\(what): beta \(beta!.shape) must be [\(channels)]")
        return channels
    }

    /// Σ dy and Σ dy·(x − mean) per channel, in double.
    private static func batchNormSums(_ dy: Tensor, _ x: Tensor, mean: Tensor, meanLow: Tensor?) -> ([Double], [Double]) {
        let channels = mean.count, rows = channels == 0 ? 0 : x.count / channels
        var sumGrad = [Double](repeating: 0, count: channels), sumCentered = [Double](repeating: 0, count: channels)
        sumGrad.withUnsafeMutableBufferPointer { s in
            sumCentered.withUnsafeMutableBufferPointer { q in
                guard let sp = s.baseAddress, let qp = q.baseAddress else { return }
                Kernels.batchNormBackwardSums(gradOutput: dy.storage.pointer, input: x.storage.pointer, mean: mean.storage.pointer,
                                              meanLow: meanLow.map { UnsafePointer($0.storage.pointer) },
                                              rows: rows, channels: channels, sumGrad: sp, sumGradCentered: qp)
            }
        }
        return (sumGrad, sumCentered)
    }
}
