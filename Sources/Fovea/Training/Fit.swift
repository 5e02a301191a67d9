import Foundation
import Synchronization

/// What `compile` configured.
/// What one training or test step reports: the batch's mean loss (regularisation included) and, per
/// metric, how many predictions were right out of how many.
public struct StepResult {
    public var loss: Float
    public var scores: [(correct: Int, total: Int)]
    public init(loss: Float, scores: [(correct: Int, total: Int)]) { self.loss = loss; self.scores = scores }
}

final class CompiledState {
    let optimizer: Optimizer
    let loss: Loss
    let metrics: [Metric]
    /// Where `fit` stands (kept with the optimizer, whose state it goes with).
    var position: TrainingPosition?
    /// The variables the optimizer updates: the trainable ones when the model was compiled (or, for a
    /// model compiled before it knew its input shape, at its first training step). As in Keras, freezing
    /// or unfreezing a layer takes effect at the next `compile`.
    var trainableVariables: [Variable]? { didSet { trainedSet = trainableVariables.map { Set($0.map(ObjectIdentifier.init)) } } }
    /// ``trainableVariables`` as a set, for the training step's recording.
    private(set) var trainedSet: Set<ObjectIdentifier>?
    init(optimizer: Optimizer, loss: Loss, metrics: [Metric], trainableVariables: [Variable]?) {
        self.optimizer = optimizer; self.loss = loss; self.metrics = metrics
        defer { self.trainableVariables = trainableVariables }
    }
}

extension Model {
    /// Configures training (Keras `compile`). The layers trainable now are the ones `fit` updates.
    public func compile(optimizer: Optimizer, loss: Loss, metrics: [Metric] = []) {
        compiledState = CompiledState(optimizer: optimizer, loss: loss, metrics: metrics,
                                      trainableVariables: graph == nil ? nil : trainableVariables)
    }

    var compiled: CompiledState {
        get throws {
            guard let state = compiledState as? CompiledState else {
                throw FoveaError("model \(name) is not compiled; call compile(optimizer:loss:metrics:) before fit or evaluate")
            }
            return state
        }
    }

    /// The optimizer set by `compile`, if any.
    public var optimizer: Optimizer? { (compiledState as? CompiledState)?.optimizer }
    /// The loss set by `compile`, if any.
    public var loss: Loss? { (compiledState as? CompiledState)?.loss }
    /// The metrics set by `compile` (empty when not compiled).
    public var metrics: [Metric] { (compiledState as? CompiledState)?.metrics ?? [] }

    /// Where training stands: `fit` updates it after every batch and every epoch, model files save
    /// and restore it, and `fit(…, resumingFrom:)` continues from it. Nil until the model trains
    /// (or is loaded from a file that holds one); compiling again clears it.
    public internal(set) var trainingPosition: TrainingPosition? {
        get { (compiledState as? CompiledState)?.position }
        set { (compiledState as? CompiledState)?.position = newValue }
    }

    /// The model's output on `x` and the mean loss against `y`, on the gradient graph when
    /// recording. When the output is a softmax and the loss a cross-entropy on probabilities, the two
    /// run as one fused op on the logits (the prediction returned is then the logits).
    func forwardLoss(_ x: Tensor, _ y: Tensor, loss: Loss, training: Bool) throws -> (loss: Tensor, prediction: Tensor) {
        try prepare(for: x)
        let graph = try builtGraph()
        guard graph.inputs.count == 1, graph.outputs.count == 1 else {
            throw FoveaError("model \(name) has \(graph.inputs.count) inputs and \(graph.outputs.count) outputs; fit and evaluate train models of one input and one output")
        }
        var softmaxNode: Node?
        switch loss {
        case .categoricalCrossentropy(false), .sparseCategoricalCrossentropy(false):
            let node = graph.outputs[0].node
            if (node.layer as? SoftmaxOutput)?.endsInSoftmax == true { softmaxNode = node }
        default: break
        }
        let output = try run([x], training: training, logits: softmaxNode)[0]
        guard softmaxNode != nil else { return (loss(target: y, prediction: output), output) }
        guard output.rank == 2 else { return (loss(target: y, prediction: output.softmax()), output) }
        let targets = loss.takesClassIndices ? oneHot(y, classes: output.shape[1]) : y
        try checkTargets(targets, output.shape)
        return (Tensor.softmaxCrossEntropy(logits: output, targets: targets), output)
    }

    /// ``trainStep(_:_:)``'s work: forward, loss with regularisation, gradients, the optimizer's update,
    /// constraints, then the layers' own state updates (batch-norm moving statistics), which run only
    /// once the step has succeeded.
    func defaultTrainStep(_ x: Tensor, _ y: Tensor) throws -> StepResult {
        if let comm = activeCommunicator { return try dataParallelTrainStep(x, y, comm) }
        let state = try compiled
        if state.trainableVariables == nil {
            try prepare(for: x)
            state.trainableVariables = trainableVariables
        }
        let variables = state.trainableVariables!
        let (total, prediction) = try GradientRecording.$trainedVariables.withValue(state.trainedSet) {
            let (loss, prediction) = try forwardLoss(x, y, loss: state.loss, training: true)
            return (regularizationLosses().reduce(loss, +), prediction)
        }
        let grads = gradients(of: total, wrt: variables)
        state.optimizer.apply(gradients: grads, to: variables)
        applyConstraints()
        commitStateUpdates()
        return StepResult(loss: total.scalar, scores: state.metrics.map { $0.score(target: y, prediction: prediction.detached, loss: state.loss) })
    }

    /// ``testStep(_:_:)``'s work: mean loss with regularisation and metric counts of a batch, in
    /// inference mode, without gradients and without state updates.
    func defaultTestStep(_ x: Tensor, _ y: Tensor) throws -> StepResult {
        let state = try compiled
        return try GradientRecording.withoutGradients {
            let (loss, prediction) = try forwardLoss(x, y, loss: state.loss, training: false)
            discardStateUpdates()
            let penalty = regularizationLosses().reduce(Float(0)) { $0 + $1.scalar }
            return StepResult(loss: loss.scalar + penalty, scores: state.metrics.map { $0.score(target: y, prediction: prediction, loss: state.loss) })
        }
    }

    func checkTargets(_ y: Tensor, _ predictionShape: [Int]) throws {
        guard y.shape == predictionShape else {
            throw FoveaError("targets of shape \(formatShape(y.shape)) do not match the model's output \(formatShape(predictionShape)); for class indices use sparseCategoricalCrossentropy, for one-hot rows categoricalCrossentropy")
        }
    }

    func checkData(_ x: Tensor, _ y: Tensor, _ loss: Loss, what: String) throws {
        guard x.rank >= 1, y.rank >= 1, x.shape[0] == y.shape[0] else {
            throw FoveaError("\(what): x has \(x.shape.first ?? 0) samples but y has \(y.shape.first ?? 0); they must match")
        }
        guard x.shape[0] > 0 else { throw FoveaError("\(what): no samples") }
        if let input = inputShape {
            let expected = Array(input.dropFirst())
            let given = Array(x.shape.dropFirst()).map { Optional($0) }
            if expected != given {
                throw FoveaError("\(what): x has samples of shape \(formatShape(given)) but model \(name) takes \(formatShape(expected))")
            }
        }
        if !loss.takesClassIndices, let output = outputShape, output.dropFirst().allSatisfy({ $0 != nil }) {
            let perSample = output.dropFirst().reduce(1) { $0 * $1! }
            guard y.count == x.shape[0] * perSample else {
                throw FoveaError("\(what): targets of shape \(formatShape(y.shape)) do not fit the model's output \(formatShape(output)); \(loss.kerasName) needs one target per output value (one-hot rows for class labels, or use sparseCategoricalCrossentropy with class indices)")
            }
        }
        if loss.takesClassIndices, let classes = outputShape?.last ?? nil {
            guard y.count == x.shape[0] else {
                throw FoveaError("\(what): sparseCategoricalCrossentropy takes one class index per sample; got targets of shape \(formatShape(y.shape)) for \(x.shape[0]) samples")
            }
            if let bad = y.scalars.first(where: { $0 < 0 || $0 >= Float(classes) || $0 != $0.rounded() }) {
                throw FoveaError("\(what): label \(bad) is not a class index in 0..<\(classes)")
            }
        }
    }

    /// How `fit` orders the training samples of each epoch.
    public enum Shuffle: String, Sendable, CaseIterable, ExpressibleByBooleanLiteral {
        /// The stored order, every epoch.
        case none
        /// A new seeded permutation each epoch: what Keras documents for `shuffle=True`, and what
        /// PyTorch's `DataLoader(shuffle=True)` does.
        case everyEpoch = "every-epoch"
        /// One seeded permutation, reused by every epoch. This is what Keras 3 on TensorFlow actually
        /// does once `keras.utils.set_random_seed` has been called, as in its MNIST recipe: the
        /// seeded shuffle op restarts with each epoch (scripts/keras_shuffle_order.py shows it).
        case samePermutation = "same-permutation"

        public init(booleanLiteral value: Bool) { self = value ? .everyEpoch : .none }

        /// The sample order of epoch `epoch` (from 0) for `count` samples, seeded by `seed`.
        public func order(count: Int, epoch: Int, seed: UInt64) -> [Int] {
            var order = Array(0..<count)
            if var g = generator(epoch: epoch, seed: seed) { order.shuffle(using: &g) }
            return order
        }

        /// The generator that shuffles epoch `epoch`, in the state before shuffling; nil for `.none`.
        /// Checkpoints save its state, so a resumed epoch gets the same order.
        public func generator(epoch: Int, seed: UInt64) -> SeededGenerator? {
            switch self {
            case .none: return nil
            case .everyEpoch: return SeededGenerator(seed: SeededGenerator.derive(seed, 0x5F + UInt64(epoch)))
            case .samePermutation: return SeededGenerator(seed: SeededGenerator.derive(seed, 0x5F))
            }
        }
    }

    /// How many of `samples` rows `fit(validationSplit:)` trains on (the rest validate), or an error
    /// when the split is outside [0, 1) or leaves either part empty.
    public static func trainingCount(samples n: Int, validationSplit: Float) throws -> Int {
        guard validationSplit > 0 else { return n }
        guard validationSplit < 1 else { throw FoveaError("fit: validationSplit must be in [0, 1), got \(validationSplit)") }
        // Keras floors n·(1 − split) in double precision with the split as typed (0.2, not the
        // Float 0.2000000029…, which would turn 2,000 × 0.8 into 1,599.99… and keep 1,599 rows).
        let fraction = Double(validationSplit.description) ?? Double(validationSplit)
        let splitAt = Int((Double(n) * (1 - fraction)).rounded(.down))
        guard splitAt > 0 && splitAt < n else {
            throw FoveaError("fit: \(n) samples are not enough to split with validationSplit \(validationSplit)")
        }
        return splitAt
    }

    /// Trains for `epochs` epochs (Keras `fit`). `validationSplit` holds out the *last* fraction of
    /// the samples before any shuffling; `validationData` overrides it. `verbose`: 0 silent,
    /// 1 progress bar, 2 one line per epoch. Shuffling is seeded from the model's seed; `true` means
    /// ``Shuffle/everyEpoch`` and `false` ``Shuffle/none``.
    ///
    /// With a ``communicator`` of several ranks every rank calls `fit` with the same arguments and
    /// data: rank 0's weights are broadcast first, each global batch of `batchSize` is split across
    /// the ranks (see ``dataParallelTrainStep``), validation is split too, logs are the whole batch's
    /// on every rank (callbacks see the same values everywhere), only rank 0 prints, and after every
    /// epoch the ranks' weights must be identical or `fit` throws.
    ///
    /// `resumingFrom` continues an interrupted run (usually the ``trainingPosition`` of a model
    /// loaded from a checkpoint) at its epoch and step, with the same data order and epoch tallies,
    /// so the run ends with the same weights as one never stopped. It takes precedence over
    /// `initialEpoch`; the batch size, shuffle mode and training data must be those of the
    /// checkpoint, or it is an error saying what differs. `epochs` may differ (train longer or less).
    @discardableResult
    public func fit(x: Tensor, y: Tensor, batchSize: Int = 32, epochs: Int = 1, verbose: Int = 1,
                    validationSplit: Float = 0, validationData: (x: Tensor, y: Tensor)? = nil,
                    shuffle: Shuffle = .everyEpoch, callbacks: [Callback] = [], initialEpoch: Int = 0,
                    resumingFrom resume: TrainingPosition? = nil,
                    output: ProgressOutput = .standardOutput) throws -> History {
        let state = try compiled
        let comm = activeCommunicator
        let verbose = (comm?.rank ?? 0) == 0 ? verbose : 0
        try checkData(x, y, state.loss, what: "fit")
        guard batchSize > 0, epochs >= 0 else { throw FoveaError("fit: batchSize must be positive and epochs not negative") }
        var (trainX, trainY) = (x, y)
        var validation = validationData
        if let v = validation { try checkData(v.x, v.y, state.loss, what: "validation data") }
        if validation == nil && validationSplit > 0 {
            let n = x.shape[0]
            let splitAt = try Model.trainingCount(samples: n, validationSplit: validationSplit)
            (trainX, trainY) = (x.slice(batch: 0..<splitAt), y.slice(batch: 0..<splitAt))
            validation = (x.slice(batch: splitAt..<n), y.slice(batch: splitAt..<n))
        }
        try prepare(for: x)
        // Every rank takes rank 0's weights and data order (its seed), whatever it was made with.
        if let comm { try broadcastWeights(comm) }
        let shuffleSeed = try comm.map { try broadcast(modelSeed, from: 0, $0) } ?? modelSeed
        let n = trainX.shape[0]
        let steps = (n + batchSize - 1) / batchSize
        let fingerprint = contentFingerprint([trainX, trainY])
        try resume?.checkResumable(batchSize: batchSize, sampleCount: n, shuffle: shuffle.rawValue, dataFingerprint: fingerprint,
                                   metrics: state.metrics.count)
        func initialShuffleState(for epoch: Int) -> [UInt64]? { shuffle.generator(epoch: epoch, seed: shuffleSeed)?.state }
        func position(_ epoch: Int, _ step: Int, _ shuffleState: [UInt64]?, _ lossSum: Double, _ seen: Int,
                      _ scores: [TrainingPosition.MetricCount]) -> TrainingPosition {
            TrainingPosition(epoch: epoch, step: step, batchSize: batchSize, sampleCount: n, shuffle: shuffle.rawValue,
                             dataFingerprint: fingerprint, shuffleState: shuffleState, lossSum: lossSum, samplesSeen: seen,
                             metricCounts: scores)
        }

        let history = History()
        let all = [history] + callbacks
        for c in all { c.model = self }
        stopTraining = false
        let firstEpoch = resume?.epoch ?? initialEpoch
        trainingPosition = resume ?? position(firstEpoch, 0, initialShuffleState(for: firstEpoch), 0, 0,
                                              state.metrics.map { _ in .init(correct: 0, total: 0) })
        for c in all { try c.onTrainBegin(logs: [:]) }
        var lastLogs: Logs = [:]
        for epoch in firstEpoch..<Swift.max(firstEpoch, epochs) {
            let resuming = resume != nil && epoch == firstEpoch
            for c in all { try c.onEpochBegin(epoch, logs: [:]) }
            if verbose > 0 { output.write("Epoch \(epoch + 1)/\(epochs)\n") }
            var progress = Progbar(target: steps, verbose: verbose, output: output)
            // A resumed epoch replays the order from the saved generator state.
            var generator = resuming ? resume!.shuffleState.flatMap(SeededGenerator.init(state:)) : shuffle.generator(epoch: epoch, seed: shuffleSeed)
            let shuffleState = generator?.state
            var order = Array(0..<n)
            if generator != nil { order.shuffle(using: &generator!) }
            var lossSum: Double = 0, seen = 0
            var scores = state.metrics.map { _ in TrainingPosition.MetricCount(correct: 0, total: 0) }
            let firstStep = resuming ? resume!.step : 0
            if resuming && firstStep > 0 {
                (lossSum, seen, scores) = (resume!.lossSum, resume!.samplesSeen, resume!.metricCounts)
            }
            var logs: Logs = seen > 0 ? epochLogs(lossSum, seen, scores, state) : [:]
            for step in firstStep..<steps {
                for c in all { try c.onBatchBegin(step, logs: logs) }
                let rows = Array(order[(step * batchSize)..<Swift.min(n, (step + 1) * batchSize)])
                let xb = trainX.gathering(batchIndices: rows), yb = trainY.gathering(batchIndices: rows)
                let result = try trainStep(xb, yb)
                lossSum += Double(result.loss) * Double(rows.count)
                seen += rows.count
                for (i, s) in result.scores.enumerated() { scores[i].correct += s.correct; scores[i].total += s.total }
                logs = epochLogs(lossSum, seen, scores, state)
                trainingPosition = position(epoch, step + 1, shuffleState, lossSum, seen, scores)
                for c in all { try c.onBatchEnd(step, logs: logs) }
                if step + 1 < steps { progress.update(step + 1, logs: logs) }
            }
            if let v = validation {
                for (k, value) in try evaluateLogs(x: v.x, y: v.y, batchSize: batchSize, state: state) { logs["val_" + k] = value }
            }
            progress.update(steps, logs: logs, finished: true)
            if let comm { try checkWeightsIdentical(comm, after: "after epoch \(epoch + 1)") }
            trainingPosition = position(epoch + 1, 0, initialShuffleState(for: epoch + 1), 0, 0,
                                        state.metrics.map { _ in .init(correct: 0, total: 0) })
            for c in all { try c.onEpochEnd(epoch, logs: logs) }
            lastLogs = logs
            if stopTraining { break }
        }
        for c in all { try c.onTrainEnd(logs: lastLogs) }
        return history
    }

    func epochLogs(_ lossSum: Double, _ seen: Int, _ scores: [TrainingPosition.MetricCount], _ state: CompiledState) -> Logs {
        var logs: Logs = ["loss": Float(lossSum / Double(Swift.max(seen, 1)))]
        for (i, metric) in state.metrics.enumerated() {
            logs[metric.name] = Float(scores[i].correct) / Float(Swift.max(scores[i].total, 1))
        }
        return logs
    }

    func evaluateLogs(x: Tensor, y: Tensor, batchSize: Int, state: CompiledState) throws -> Logs {
        let n = x.shape[0]
        if let comm = activeCommunicator {
            // Each rank evaluates its share of the samples; the tallies are summed.
            let part = shardRange(count: n, rank: comm.rank, size: comm.size)
            let t = try comm.allreduceSum(try evaluateTallies(x: x, y: y, range: part, batchSize: batchSize, state: state))
            var scores: [TrainingPosition.MetricCount] = []
            for i in state.metrics.indices {
                scores.append(TrainingPosition.MetricCount(correct: Int(t[1 + 2 * i].rounded()), total: Int(t[2 + 2 * i].rounded())))
            }
            return epochLogs(t[0], n, scores, state)
        }
        var lossSum: Double = 0
        var scores = state.metrics.map { _ in TrainingPosition.MetricCount(correct: 0, total: 0) }
        var start = 0
        while start < n {
            let end = Swift.min(n, start + batchSize)
            let result = try testStep(x.slice(batch: start..<end), y.slice(batch: start..<end))
            lossSum += Double(result.loss) * Double(end - start)
            for (i, s) in result.scores.enumerated() { scores[i].correct += s.correct; scores[i].total += s.total }
            start = end
        }
        return epochLogs(lossSum, n, scores, state)
    }

    /// Loss and metrics on `x`, `y` (Keras `evaluate`), batched, dropout off.
    public func evaluate(x: Tensor, y: Tensor, batchSize: Int = 32) throws -> Logs {
        let state = try compiled
        try checkData(x, y, state.loss, what: "evaluate")
        guard batchSize > 0 else { throw FoveaError("evaluate: batchSize must be positive") }
        return try evaluateLogs(x: x, y: y, batchSize: batchSize, state: state)
    }

    /// Images per piece when inference runs a batch depth-first. Batch-256 inference in fovea bench
    /// (same sitting): seed CNN 24,000-27,000 img/s layer by layer, 27,700 with pieces of 8,
    /// 30,800-32,200 with 16, 31,600 with 32; the deep CNN 1,160 layer by layer, 850 with 4, 1,150 with 16.
    static let depthFirstImages = 16

    /// Inference on one batch. Layer by layer, each layer's output for the whole batch passes
    /// through memory before the next layer reads it; instead, each thread runs small pieces of the
    /// batch through the whole network on its own, so activations stay in its cache. The first
    /// piece runs alone first, so that a layer that still has to build itself does so on one thread.
    func inferDepthFirst(_ x: Tensor) throws -> Tensor {
        let n = x.shape[0], piece = Self.depthFirstImages, threads = ThreadPool.threadCount
        guard piece > 0, threads > 1, n >= 2 * piece else { return try self(x, training: false) }
        let pieces = (n + piece - 1) / piece
        let results = UnsafeMutableBufferPointer<Tensor?>.allocate(capacity: pieces)
        results.initialize(repeating: nil)
        defer { results.deinitialize(); results.deallocate() }
        let failure = Mutex<Error?>(nil)
        results[0] = try self(x.slice(batch: 0..<piece), training: false)
        ThreadPool.parallelFor(pieces - 1, threads: threads) { range in
            GradientRecording.withoutGradients {
                ThreadPool.serially {
                    for i in range.lowerBound + 1..<range.upperBound + 1 {
                        do { results[i] = try self(x.slice(batch: (i * piece)..<Swift.min(n, (i + 1) * piece)), training: false) } catch {
                            failure.withLock { $0 = $0 ?? error }
                            return
                        }
                    }
                }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
        return Tensor.concatenate(results.map { $0! }, alongAxis: 0)
    }

    /// The model's outputs for `x` (Keras `predict`), batched, dropout off, no gradients kept.
    public func predict(_ x: Tensor, batchSize: Int = 32) throws -> Tensor {
        guard x.rank >= 1, x.shape[0] > 0 else { throw FoveaError("predict: x has no samples") }
        guard batchSize > 0 else { throw FoveaError("predict: batchSize must be positive") }
        try prepare(for: x)
        if let graph, graph.inputs.count != 1 || graph.outputs.count != 1 {
            throw FoveaError("predict: model \(name) has \(graph.inputs.count) inputs and \(graph.outputs.count) outputs; use predict(_ inputs: [Tensor])")
        }
        return try GradientRecording.withoutGradients {
            var parts: [Tensor] = []
            var start = 0
            while start < x.shape[0] {
                let end = Swift.min(x.shape[0], start + batchSize)
                parts.append(try inferDepthFirst(x.slice(batch: start..<end)))
                start = end
            }
            return parts.count == 1 ? parts[0] : Tensor.concatenate(parts, alongAxis: 0)
        }
    }

    /// The outputs of a model of several inputs or outputs, batched, dropout off, no gradients kept:
    /// one tensor per output, samples first.
    public func predict(_ inputs: [Tensor], batchSize: Int = 32) throws -> [Tensor] {
        guard let n = inputs.first?.shape.first, n > 0 else { throw FoveaError("predict: no samples") }
        guard inputs.allSatisfy({ $0.shape.first == n }) else {
            throw FoveaError("predict: the inputs hold different numbers of samples (\(inputs.map { $0.shape.first ?? 0 }))")
        }
        guard batchSize > 0 else { throw FoveaError("predict: batchSize must be positive") }
        if let first = inputs.first { try prepare(for: first) }
        return try GradientRecording.withoutGradients {
            var parts: [[Tensor]] = []
            var start = 0
            while start < n {
                let end = Swift.min(n, start + batchSize)
                parts.append(try run(inputs.map { $0.slice(batch: start..<end) }, training: false))
                start = end
            }
            return parts[0].indices.map { i in parts.count == 1 ? parts[0][i] : Tensor.concatenate(parts.map { $0[i] }, alongAxis: 0) }
        }
    }
}
