import Foundation

// Data-parallel training (Horovod's and PyTorch DDP's design). Every rank holds the whole model;
// `fit` gives every rank the same global batch (same batch size, learning rate and data order as one
// process), each rank runs forward and backward on its own contiguous share of it, and the gradients,
// each scaled by its share of the batch, are summed over the ranks in buckets as the backward pass
// finishes them (``gradients(of:wrt:whenReady:)``), so communication overlaps the rest of the backward
// pass. Every rank then applies the same optimizer step to the same summed gradients, so the weights
// stay identical; `fit` checks that after every epoch. Set ``Model/communicator`` to train this way.

/// Where the time of data-parallel training steps went, on this rank.
public struct DataParallelStatistics: Sendable {
    /// Training steps taken.
    public var steps = 0
    /// Wall time of those steps, in seconds (forward, backward, reductions, optimizer).
    public var stepSeconds: Double = 0
    /// Of that, the time spent blocked on communication after the backward pass: waiting for gradient
    /// buckets still in flight, and the reductions of the step's metrics and batch-norm statistics.
    public var communicationWaitSeconds: Double = 0
    /// Gradient buckets per step and the values they hold in all.
    public var buckets = 0
    public var gradientValues = 0
    /// The share of the step time spent waiting on communication.
    public var waitShare: Double { stepSeconds > 0 ? communicationWaitSeconds / stepSeconds : 0 }
}

/// The contiguous part of `count` items that rank `rank` of `size` takes (sizes differ by at most one).
public func shardRange(count: Int, rank: Int, size: Int) -> Range<Int> {
    (count * rank / size)..<(count * (rank + 1) / size)
}

/// Where this rank's share lies in the global batch while a data-parallel step runs its forward pass, so
/// that random layers (Dropout, SpatialDropout2D) draw the masks one process would draw for those samples,
/// and every rank's generators move past the whole global batch as one process's do. Without this every
/// rank would draw the same masks for its own share (rank 1's samples would get rank 0's masks) and the
/// generators would advance by a share, not a batch: another run than one process's.
struct DataParallelShare: Sendable {
    let offset: Int, count: Int, global: Int
    @TaskLocal static var current: DataParallelShare?

    /// Runs `draw`, which takes the random values of `samples` samples (`valuesPerSample` uniforms each)
    /// from `generator`, at this share's place in the global batch: the values of the global batch's
    /// other samples are drawn and discarded, before and after. Outside a data-parallel step (or for a
    /// tensor whose first dimension is not the share) it just runs `draw`.
    static func drawing(_ samples: Int, valuesPerSample: Int, from generator: inout SeededGenerator,
                        _ draw: (inout SeededGenerator) -> Void) {
        guard let share = current, share.count == samples else { return draw(&generator) }
        for _ in 0..<(share.offset * valuesPerSample) { _ = generator.nextUniform() }
        draw(&generator)
        for _ in 0..<((share.global - share.offset - share.count) * valuesPerSample) { _ = generator.nextUniform() }
    }
}

/// The buffers and buckets of one model's data-parallel steps, made once and reused every step.
final class DataParallelState {
    /// Values per bucket: large enough that each all-reduce is not dominated by latency, small
    /// enough that the first buckets go out while much of the backward pass remains.
    static let bucketValues = 1 << 18

    let communicator: Communicator
    let variables: [Variable]
    let identities: [ObjectIdentifier]
    /// Every trainable variable's gradient, laid out in reverse order (the backward pass finishes
    /// the last layers first), cut into buckets of whole variables.
    let buffer: UnsafeMutableBufferPointer<Float>
    let offsets: [Int]
    let bucketOfVariable: [Int]
    let bucketRanges: [Range<Int>]
    let bucketMembers: [Int]
    var remaining: [Int]
    var reported: [Bool]
    var requests: [CommunicatorRequest?]
    var nextBucket = 0
    var scale: Float = 1
    var statistics = DataParallelStatistics()

    init(communicator: Communicator, variables: [Variable]) {
        self.communicator = communicator
        self.variables = variables
        identities = variables.map(ObjectIdentifier.init)
        var offsets = [Int](repeating: 0, count: variables.count)
        var bucketOf = [Int](repeating: 0, count: variables.count)
        var ranges: [Range<Int>] = [], members: [Int] = []
        var offset = 0, bucketStart = 0, inBucket = 0
        for i in variables.indices.reversed() {
            offsets[i] = offset
            bucketOf[i] = ranges.count
            offset += variables[i].value.count
            inBucket += 1
            if offset - bucketStart >= Self.bucketValues {
                ranges.append(bucketStart..<offset); members.append(inBucket)
                bucketStart = offset; inBucket = 0
            }
        }
        if inBucket > 0 { ranges.append(bucketStart..<offset); members.append(inBucket) }
        buffer = .allocate(capacity: Swift.max(offset, 1))
        buffer.initialize(repeating: 0)
        self.offsets = offsets; bucketOfVariable = bucketOf; bucketRanges = ranges; bucketMembers = members
        remaining = members
        reported = Array(repeating: false, count: variables.count)
        requests = Array(repeating: nil, count: ranges.count)
        statistics.buckets = ranges.count
        statistics.gradientValues = offset
    }

    deinit { buffer.deallocate() }

    func matches(_ communicator: Communicator, _ variables: [Variable]) -> Bool {
        self.communicator === communicator && identities == variables.map(ObjectIdentifier.init)
    }

    /// Starts a step whose local gradients count `scale` times (this rank's share of the global batch).
    func begin(scale: Float) {
        self.scale = scale
        for i in remaining.indices { remaining[i] = bucketMembers[i]; requests[i] = nil }
        for i in reported.indices { reported[i] = false }
        nextBucket = 0
    }

    /// Variable `i`'s local gradient is final: scale it into the buffer and send every bucket that is complete.
    func report(_ i: Int, _ gradient: Tensor) throws {
        precondition(!reported[i], "gradient of \(variables[i].name) reported twice")
        precondition(gradient.count == variables[i].value.count, "gradient of \(variables[i].name) has \(gradient.count) values")
        reported[i] = true
        let out = buffer.baseAddress! + offsets[i], scale = scale
        gradient.withUnsafeBufferPointer { g in for j in 0..<g.count { out[j] = g[j] * scale } }
        remaining[bucketOfVariable[i]] -= 1
        try startCompleteBuckets()
    }

    /// Buckets go out in order, so every rank starts the same collectives in the same order.
    private func startCompleteBuckets() throws {
        while nextBucket < bucketRanges.count && remaining[nextBucket] == 0 {
            let range = bucketRanges[nextBucket]
            requests[nextBucket] = try communicator.startAllreduceSum(UnsafeMutableBufferPointer(rebasing: buffer[range]))
            nextBucket += 1
        }
    }

    /// Zeros for the variables not reported (no gradient on this rank), then waits for every bucket
    /// and returns the summed gradients, in `variables` order.
    func finish() throws -> [Tensor] {
        for i in variables.indices where !reported[i] {
            reported[i] = true
            (buffer.baseAddress! + offsets[i]).update(repeating: 0, count: variables[i].value.count)
            remaining[bucketOfVariable[i]] -= 1
        }
        try startCompleteBuckets()
        let start = Date()
        for request in requests { try request?.wait() }
        statistics.communicationWaitSeconds += Date().timeIntervalSince(start)
        return variables.indices.map { i in
            var t = Tensor.zeros(variables[i].value.shape)
            t.withUnsafeMutableBufferPointer { $0.update(from: UnsafeBufferPointer(rebasing: buffer[offsets[i]..<(offsets[i] + $0.count)])) }
            return t
        }
    }
}

private extension UnsafeMutableBufferPointer where Element == Float {
    func update(from source: UnsafeBufferPointer<Float>) {
        baseAddress!.update(from: source.baseAddress!, count: Swift.min(count, source.count))
    }
}

extension Model {
    /// The communicator `fit` and `evaluate` use when it holds more than one rank.
    var activeCommunicator: Communicator? {
        guard let communicator, communicator.size > 1 else { return nil }
        return communicator
    }

    /// This rank's counters of data-parallel training steps (nil before the first such step).
    public var dataParallelStatistics: DataParallelStatistics? { (dataParallelState as? DataParallelState)?.statistics }

    /// The batch-norm layers whose moving statistics a training step updates.
    var statefulBatchNormalizations: [BatchNormalization] {
        var result: [BatchNormalization] = [], seen = Set<ObjectIdentifier>()
        func visit(_ layer: Layer) {
            guard seen.insert(ObjectIdentifier(layer)).inserted else { return }
            if let bn = layer as? BatchNormalization, bn.trainable, bn.isBuilt { result.append(bn) }
            for sub in layer.sublayers { visit(sub) }
        }
        for layer in layers { visit(layer) }
        return result
    }

    /// One data-parallel training step on the global batch `x`, `y` (the same on every rank): this rank
    /// trains on its share, the gradients are summed over the ranks bucket by bucket during the backward
    /// pass, every rank applies the same update, and the batch-norm moving statistics are averaged
    /// (weighted by share, which is what one process would have computed). Returns the global batch's
    /// mean loss and metric counts.
    func dataParallelTrainStep(_ x: Tensor, _ y: Tensor, _ comm: Communicator) throws -> StepResult {
        let started = Date()
        let state = try compiled
        if state.trainableVariables == nil {
            try prepare(for: x)
            state.trainableVariables = trainableVariables
        }
        let variables = state.trainableVariables!
        let dp: DataParallelState
        if let existing = dataParallelState as? DataParallelState, existing.matches(comm, variables) { dp = existing } else {
            dp = DataParallelState(communicator: comm, variables: variables)
            dataParallelState = dp
        }
        let global = x.shape[0]
        let part = shardRange(count: global, rank: comm.rank, size: comm.size)
        let share = Float(part.count) / Float(global)
        dp.begin(scale: share)
        let metricCount = state.metrics.count
        var tallies = [Double](repeating: 0, count: 1 + 2 * metricCount)
        if !part.isEmpty {
            let xs = x.slice(batch: part), ys = y.slice(batch: part)
            // (A rank whose share is empty draws no dropout masks this step, so its generators fall
            // behind the others'; that happens only when a global batch has fewer samples than ranks.)
            let here = DataParallelShare(offset: part.lowerBound, count: part.count, global: global)
            let (total, prediction) = try DataParallelShare.$current.withValue(here) {
                try GradientRecording.$trainedVariables.withValue(state.trainedSet) {
                    let (loss, prediction) = try forwardLoss(xs, ys, loss: state.loss, training: true)
                    return (regularizationLosses().reduce(loss, +), prediction)
                }
            }
            _ = try gradients(of: total, wrt: variables) { i, g in try dp.report(i, g) }
            tallies[0] = Double(total.scalar) * Double(part.count)
            for (i, s) in state.metrics.map({ $0.score(target: ys, prediction: prediction.detached, loss: state.loss) }).enumerated() {
                tallies[1 + 2 * i] = Double(s.correct); tallies[2 + 2 * i] = Double(s.total)
            }
        }
        let grads = try dp.finish()
        let waitStart = Date()
        let summed = try comm.allreduceSum(tallies)
        dp.statistics.communicationWaitSeconds += Date().timeIntervalSince(waitStart)
        state.optimizer.apply(gradients: grads, to: variables)
        applyConstraints()
        commitStateUpdates()
        try averageMovingStatistics(share: share, comm, dp)
        dp.statistics.steps += 1
        dp.statistics.stepSeconds += Date().timeIntervalSince(started)
        return StepResult(loss: Float(summed[0] / Double(global)),
                          scores: (0..<metricCount).map { (Int(summed[1 + 2 * $0].rounded()), Int(summed[2 + 2 * $0].rounded())) })
    }

    /// moving = Σ_r share_r · moving_r: with moving_r = m·old + (1 − m)·batch_r this is the update by
    /// the share-weighted mean of the ranks' batch statistics. Every rank gets the same bits.
    func averageMovingStatistics(share: Float, _ comm: Communicator, _ dp: DataParallelState) throws {
        let variables = statefulBatchNormalizations.flatMap { [$0.movingMean!, $0.movingVariance!] }
        guard !variables.isEmpty else { return }
        var packed = [Float]()
        packed.reserveCapacity(variables.reduce(0) { $0 + $1.value.count })
        for v in variables { v.value.withUnsafeBufferPointer { for x in $0 { packed.append(x * share) } } }
        let start = Date()
        try packed.withUnsafeMutableBufferPointer { try comm.allreduceSum($0) }
        dp.statistics.communicationWaitSeconds += Date().timeIntervalSince(start)
        var offset = 0
        for v in variables {
            var t = Tensor.zeros(v.value.shape)
            t.withUnsafeMutableBufferPointer { out in for j in 0..<out.count { out[j] = packed[offset + j] } }
            offset += t.count
            v.value = t
        }
    }

    /// Makes every rank's weights and layers' random states (Dropout's generators) rank 0's (at the
    /// start of `fit`: each rank may have been made with its own seed).
    func broadcastWeights(_ comm: Communicator) throws {
        for v in variables {
            var value = v.value
            try value.withUnsafeMutableBufferPointer { try comm.broadcast($0, root: 0) }
            v.value = value
        }
        for (_, layer) in layerPaths {
            guard let state = layer.randomState else { continue }
            layer.randomState = try state.map { try broadcast($0, from: 0, comm) }
        }
    }

    /// A 64-bit FNV-1a hash of every variable's bits, in ``Layer/variables`` order.
    func weightHash() -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for v in variables {
            v.value.withUnsafeBufferPointer { values in
                for x in values { h = (h ^ UInt64(x.bitPattern)) &* 0x0000_0100_0000_01B3 }
            }
        }
        return h
    }

    /// `root`'s `value` on every rank (sent in four 16-bit pieces, each exact as a Float).
    func broadcast(_ value: UInt64, from root: Int, _ comm: Communicator) throws -> UInt64 {
        var pieces = (0..<4).map { Float((value >> (16 * UInt64($0))) & 0xFFFF) }
        try pieces.withUnsafeMutableBufferPointer { try comm.broadcast($0, root: root) }
        return pieces.enumerated().reduce(UInt64(0)) { $0 | (UInt64($1.element) << (16 * UInt64($1.offset))) }
    }

    /// Throws unless every rank holds exactly rank 0's weights (checked by hash); every rank throws alike.
    func checkWeightsIdentical(_ comm: Communicator, after what: String) throws {
        let own = weightHash()
        let reference = try broadcast(own, from: 0, comm)
        var differs = [Double](repeating: 0, count: comm.size)
        differs[comm.rank] = reference == own ? 0 : 1
        differs = try comm.allreduceSum(differs)
        let ranks = differs.indices.filter { differs[$0] > 0 }
        guard ranks.isEmpty else {
            throw FoveaError("data-parallel training: \(what), the weights of rank\(ranks.count == 1 ? "" : "s") \(ranks.map(String.init).joined(separator: ", ")) differ from rank 0's; the ranks no longer train the same model (different data, code or floating-point results on different machines?)")
        }
    }

    /// Loss and metric tallies of `x[range]`, `y[range]`, batched: [loss sum, correct₀, total₀, …].
    func evaluateTallies(x: Tensor, y: Tensor, range: Range<Int>, batchSize: Int, state: CompiledState) throws -> [Double] {
        var tallies = [Double](repeating: 0, count: 1 + 2 * state.metrics.count)
        var start = range.lowerBound
        while start < range.upperBound {
            let end = Swift.min(range.upperBound, start + batchSize)
            let result = try testStep(x.slice(batch: start..<end), y.slice(batch: start..<end))
            tallies[0] += Double(result.loss) * Double(end - start)
            for (i, s) in result.scores.enumerated() { tallies[1 + 2 * i] += Double(s.correct); tallies[2 + 2 * i] += Double(s.total) }
            start = end
        }
        return tallies
    }
}
