import Foundation

/// Per-epoch (or per-batch) values: `loss`, `accuracy`, `val_loss`, `val_accuracy`, …
public typealias Logs = [String: Float]

/// Hooks into `fit` (Keras `Callback`). Override what you need; `model` is set before training.
/// A hook may throw (a checkpoint that cannot be written): `fit` stops and rethrows the error.
open class Callback {
    public weak var model: Model?
    public init() {}
    open func onTrainBegin(logs: Logs) throws {}
    open func onTrainEnd(logs: Logs) throws {}
    open func onEpochBegin(_ epoch: Int, logs: Logs) throws {}
    open func onEpochEnd(_ epoch: Int, logs: Logs) throws {}
    open func onBatchBegin(_ batch: Int, logs: Logs) throws {}
    open func onBatchEnd(_ batch: Int, logs: Logs) throws {}
}

/// The record `fit` returns: each log key's value per epoch (Keras `History`).
public final class History: Callback {
    public private(set) var epochs: [Int] = []
    public private(set) var values: [String: [Float]] = [:]
    public override func onEpochEnd(_ epoch: Int, logs: Logs) {
        epochs.append(epoch)
        for (k, v) in logs { values[k, default: []].append(v) }
    }
    public subscript(key: String) -> [Float] { values[key] ?? [] }
}

/// Calls closures at the hook points (Keras `LambdaCallback`).
public final class LambdaCallback: Callback {
    let epochBegin: ((Int, Logs) -> Void)?, epochEnd: ((Int, Logs) -> Void)?
    let batchEnd: ((Int, Logs) -> Void)?, trainBegin: ((Logs) -> Void)?, trainEnd: ((Logs) -> Void)?
    public init(onEpochBegin: ((Int, Logs) -> Void)? = nil, onEpochEnd: ((Int, Logs) -> Void)? = nil,
                onBatchEnd: ((Int, Logs) -> Void)? = nil, onTrainBegin: ((Logs) -> Void)? = nil,
                onTrainEnd: ((Logs) -> Void)? = nil) {
        epochBegin = onEpochBegin; epochEnd = onEpochEnd; batchEnd = onBatchEnd
        trainBegin = onTrainBegin; trainEnd = onTrainEnd
    }
    public override func onEpochBegin(_ epoch: Int, logs: Logs) { epochBegin?(epoch, logs) }
    public override func onEpochEnd(_ epoch: Int, logs: Logs) { epochEnd?(epoch, logs) }
    public override func onBatchEnd(_ batch: Int, logs: Logs) { batchEnd?(batch, logs) }
    public override func onTrainBegin(logs: Logs) { trainBegin?(logs) }
    public override func onTrainEnd(logs: Logs) { trainEnd?(logs) }
}

/// Sets the optimizer's learning rate at the start of each epoch from `schedule(epoch, currentRate)`
/// (Keras `LearningRateScheduler`).
public final class LearningRateScheduler: Callback {
    let schedule: (Int, Float) -> Float
    let verbose: Int
    let print: (String) -> Void
    public init(verbose: Int = 0, print: @escaping (String) -> Void = { Swift.print($0) },
                _ schedule: @escaping (_ epoch: Int, _ learningRate: Float) -> Float) {
        self.schedule = schedule; self.verbose = verbose; self.print = print
    }
    public override func onEpochBegin(_ epoch: Int, logs: Logs) {
        guard let optimizer = model?.optimizer else { return }
        let rate = schedule(epoch, optimizer.learningRate)
        optimizer.learningRate = rate
        if verbose > 0 { print("\nEpoch \(epoch + 1): LearningRateScheduler setting learning rate to \(rate).") }
    }
}

/// Whether a monitored value should go down or up.
public enum MonitorMode: String, Sendable { case auto, min, max }

/// Stops training when a monitored value stops improving (Keras `EarlyStopping`, same rules and
/// messages): an improvement is a change beyond `minDelta` in the right direction; after
/// `patience` epochs without one, training stops; `restoreBestWeights` puts back the best epoch's
/// weights when training ends.
public final class EarlyStopping: Callback {
    public let monitor: String
    public let minDelta: Float
    public let patience: Int
    public let verbose: Int
    public let mode: MonitorMode
    public let baseline: Float?
    public let restoreBestWeights: Bool
    public let startFromEpoch: Int
    let print: (String) -> Void

    public private(set) var wait = 0
    public private(set) var stoppedEpoch = 0
    public private(set) var best: Float?
    public private(set) var bestEpoch = 0
    var bestWeights: WeightSnapshot?
    var lowerIsBetter: Bool?

    public init(monitor: String = "val_loss", minDelta: Float = 0, patience: Int = 0, verbose: Int = 0,
                mode: MonitorMode = .auto, baseline: Float? = nil, restoreBestWeights: Bool = false,
                startFromEpoch: Int = 0, print: @escaping (String) -> Void = { Swift.print($0) }) {
        self.monitor = monitor; self.minDelta = Swift.abs(minDelta); self.patience = patience; self.verbose = verbose
        self.mode = mode; self.baseline = baseline; self.restoreBestWeights = restoreBestWeights
        self.startFromEpoch = startFromEpoch; self.print = print
    }

    public override func onTrainBegin(logs: Logs) {
        wait = 0; stoppedEpoch = 0; best = nil; bestWeights = nil; bestEpoch = 0
    }

    func isImprovement(_ value: Float, over reference: Float?) -> Bool {
        guard let reference else { return true }
        return lowerIsBetter! ? value + minDelta < reference : value - minDelta > reference
    }

    public override func onEpochEnd(_ epoch: Int, logs: Logs) {
        if lowerIsBetter == nil {
            switch mode {
            case .min: lowerIsBetter = true
            case .max: lowerIsBetter = false
            case .auto:
                let metric = monitor.hasPrefix("val_") ? String(monitor.dropFirst(4)) : monitor
                lowerIsBetter = !(metric.contains("acc") || metric.contains("auc"))
            }
        }
        guard let current = logs[monitor] else {
            print("Early stopping conditioned on metric `\(monitor)` which is not available. Available metrics are: \(logs.keys.sorted().joined(separator: ","))")
            return
        }
        guard epoch >= startFromEpoch, let model else { return }
        if restoreBestWeights && bestWeights == nil { bestWeights = WeightSnapshot(of: model); bestEpoch = epoch }
        wait += 1
        if isImprovement(current, over: best) {
            best = current
            bestEpoch = epoch
            if restoreBestWeights { bestWeights = WeightSnapshot(of: model) }
            if baseline == nil || isImprovement(current, over: baseline) { wait = 0 }
            return
        }
        if wait >= patience && epoch > 0 {
            stoppedEpoch = epoch
            model.stopTraining = true
        }
    }

    public override func onTrainEnd(logs: Logs) throws {
        if stoppedEpoch > 0 && verbose > 0 { print("Epoch \(stoppedEpoch + 1): early stopping") }
        if restoreBestWeights, let weights = bestWeights, let model {
            if verbose > 0 { print("Restoring model weights from the end of the best epoch: \(bestEpoch + 1).") }
            try weights.restore(into: model, source: "EarlyStopping's best weights")
        }
    }
}
