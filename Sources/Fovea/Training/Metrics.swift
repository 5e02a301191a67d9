import Foundation

/// Keras's accuracy metrics. `.accuracy` resolves, as in Keras, to the sparse or categorical form
/// from the loss.
public enum Metric: String, Sendable, Equatable {
    case accuracy
    case categoricalAccuracy = "categorical_accuracy"
    case sparseCategoricalAccuracy = "sparse_categorical_accuracy"
    case binaryAccuracy = "binary_accuracy"

    /// The name shown in logs (`accuracy`, `val_accuracy`).
    public var name: String { rawValue }

    /// The number of correct predictions in a batch and the number of predictions judged
    /// (one per sample, or one per output for binary accuracy).
    func score(target: Tensor, prediction: Tensor, loss: Loss) -> (correct: Int, total: Int) {
        var kind = self
        if kind == .accuracy {
            switch loss {
            case .sparseCategoricalCrossentropy: kind = .sparseCategoricalAccuracy
            case .binaryCrossentropy: kind = .binaryAccuracy
            default: kind = (prediction.shape.last ?? 1) == 1 ? .binaryAccuracy : .categoricalAccuracy
            }
        }
        let rows = prediction.shape.first ?? 1
        switch kind {
        case .binaryAccuracy:
            return (zip(target.scalars, prediction.scalars).filter { t, p in (p > 0.5 ? 1 : 0) == t }.count, prediction.count)
        case .sparseCategoricalAccuracy:
            let predicted = prediction.argmax(alongAxis: -1)
            return (zip(target.scalars, predicted).filter { $0.checkedInt() == $1 }.count, rows)
        default:
            return (zip(target.argmax(alongAxis: -1), prediction.argmax(alongAxis: -1)).filter { $0 == $1 }.count, rows)
        }
    }

    /// The metric over a whole prediction, in [0, 1].
    public func value(target: Tensor, prediction: Tensor, loss: Loss) -> Float {
        let (correct, total) = score(target: target, prediction: prediction, loss: loss)
        return Float(correct) / Float(Swift.max(total, 1))
    }
}
