import Foundation

/// Keras's losses, each reduced to the mean over the batch (Keras's default reduction).
/// Probabilities are clipped to [1e-7, 1 − 1e-7] before a logarithm, as Keras clips them.
public enum Loss: Sendable, Equatable {
    /// `y` one-hot (or soft) `[batch, classes]`.
    case categoricalCrossentropy(fromLogits: Bool = false)
    /// `y` class indices `[batch]` (or `[batch, 1]`).
    case sparseCategoricalCrossentropy(fromLogits: Bool = false)
    case meanSquaredError
    case binaryCrossentropy(fromLogits: Bool = false)

    static let epsilon: Float = 1e-7

    /// Keras's name (`sparse_categorical_crossentropy`, …).
    public var kerasName: String {
        switch self {
        case .categoricalCrossentropy: return "categorical_crossentropy"
        case .sparseCategoricalCrossentropy: return "sparse_categorical_crossentropy"
        case .meanSquaredError: return "mean_squared_error"
        case .binaryCrossentropy: return "binary_crossentropy"
        }
    }

    /// Looks a loss up by Keras's name or alias (`mse`, `categorical_crossentropy`, …).
    public init(named name: String) throws {
        switch name {
        case "categorical_crossentropy": self = .categoricalCrossentropy()
        case "sparse_categorical_crossentropy": self = .sparseCategoricalCrossentropy()
        case "mean_squared_error", "mse": self = .meanSquaredError
        case "binary_crossentropy": self = .binaryCrossentropy()
        default:
            throw FoveaError("unknown loss '\(name)'; use categorical_crossentropy, sparse_categorical_crossentropy, mean_squared_error (mse) or binary_crossentropy")
        }
    }

    /// Whether `y` holds class indices rather than one value per output.
    var takesClassIndices: Bool { if case .sparseCategoricalCrossentropy = self { return true } else { return false } }

    /// The loss of each sample, on the gradient graph when `prediction` is.
    public func perSample(target: Tensor, prediction: Tensor) -> Tensor {
        switch self {
        case .categoricalCrossentropy(let fromLogits):
            return Loss.crossentropy(target: target, prediction: prediction, fromLogits: fromLogits)
        case .sparseCategoricalCrossentropy(let fromLogits):
            return Loss.crossentropy(target: oneHot(target, classes: prediction.shape.last ?? 1), prediction: prediction, fromLogits: fromLogits)
        case .meanSquaredError:
            return (prediction - target.reshaped(prediction.shape)).squared().mean(alongAxes: [-1])
        case .binaryCrossentropy(let fromLogits):
            let t = target.reshaped(prediction.shape)
            if fromLogits {
                // max(x, 0) − x·t + log(1 + exp(−|x|)), stable for any x.
                let x = prediction
                return (x.relu() - x * t + ((-x.abs()).exp() + 1).log()).mean(alongAxes: [-1])
            }
            let p = prediction.clipped(min: Loss.epsilon, max: 1 - Loss.epsilon)
            return (-(t * p.log() + (1 - t) * (1 - p).log())).mean(alongAxes: [-1])
        }
    }

    static func crossentropy(target: Tensor, prediction: Tensor, fromLogits: Bool) -> Tensor {
        if fromLogits { return -(target * prediction.logSoftmax()).sum(alongAxes: [-1]) }
        let normalized = prediction / prediction.sum(alongAxes: [-1], keepDims: true)
        let p = normalized.clipped(min: epsilon, max: 1 - epsilon)
        return -(target * p.log()).sum(alongAxes: [-1])
    }

    /// The mean loss over the batch.
    public func callAsFunction(target: Tensor, prediction: Tensor) -> Tensor {
        perSample(target: target, prediction: prediction).mean()
    }
}

/// Class indices `[n]` or `[n, 1]` → one-hot `[n, classes]` (Keras `to_categorical`).
public func oneHot(_ labels: Tensor, classes: Int) -> Tensor {
    var out = Tensor.zeros([labels.count, classes])
    out.withUnsafeMutableBufferPointer { p in
        for (i, label) in labels.scalars.enumerated() {
            let c = label.checkedInt() ?? -1
            precondition(c >= 0 && c < classes, "label \(label) is out of range 0..<\(classes)")
            p[i * classes + c] = 1
        }
    }
    return out
}

/// Keras `to_categorical`: integer labels to one-hot rows.
public func toCategorical(_ labels: [Int], classes: Int) -> Tensor {
    oneHot(Tensor(shape: [labels.count], scalars: labels.map(Float.init)), classes: classes)
}
