import Foundation

/// Where a `fit` run stands between two batches: enough, with the weights, the optimizer state and
/// the layers' random states, to continue the run and end with the same numbers as if it had never
/// stopped. `fit` keeps ``Model/trainingPosition`` current; model files store it.
public struct TrainingPosition: Sendable, Equatable {
    /// The epoch in progress (0-based); once an epoch ends, the next one with ``step`` 0.
    public var epoch: Int
    /// Batches of ``epoch`` already trained on.
    public var step: Int
    /// Samples per batch; resuming needs the same, or the batches would differ.
    public var batchSize: Int
    /// Training samples (after any validation split).
    public var sampleCount: Int
    /// How samples are shuffled (a ``Model/Shuffle`` raw value: `none`, `every-epoch`, `same-permutation`).
    public var shuffle: String
    /// A 64-bit fingerprint of the training inputs and targets, to refuse resuming on other data.
    public var dataFingerprint: UInt64
    /// The shuffling generator's state at the start of ``epoch``: it gives that epoch's order.
    /// Nil when samples are not shuffled.
    public var shuffleState: [UInt64]?
    /// The sum over the epoch's batches so far of loss × batch size, and the samples seen, so the
    /// resumed epoch reports the same mean loss as an uninterrupted one.
    public var lossSum: Double
    public var samplesSeen: Int
    /// Correct and judged predictions so far this epoch, per compiled metric.
    public var metricCounts: [MetricCount]

    /// A metric's running tally within an epoch.
    public struct MetricCount: Sendable, Equatable {
        public var correct: Int
        public var total: Int
        public init(correct: Int, total: Int) { self.correct = correct; self.total = total }
    }

    public init(epoch: Int, step: Int, batchSize: Int, sampleCount: Int, shuffle: String, dataFingerprint: UInt64,
                shuffleState: [UInt64]?, lossSum: Double = 0, samplesSeen: Int = 0, metricCounts: [MetricCount] = []) {
        self.epoch = epoch; self.step = step; self.batchSize = batchSize; self.sampleCount = sampleCount
        self.shuffle = shuffle; self.dataFingerprint = dataFingerprint; self.shuffleState = shuffleState
        self.lossSum = lossSum; self.samplesSeen = samplesSeen; self.metricCounts = metricCounts
    }

    /// Batches per epoch.
    public var stepsPerEpoch: Int { (sampleCount + batchSize - 1) / batchSize }

    /// The JSON object model files store (64-bit values as hex strings, which JSON numbers cannot
    /// hold exactly; the loss sum also as its bit pattern).
    public var json: [String: Any] {
        ["epoch": epoch, "step": step, "batch_size": batchSize, "sample_count": sampleCount, "shuffle": shuffle,
         "data_fingerprint": hex(dataFingerprint), "shuffle_state": shuffleState.map { $0.map(hex) as Any } ?? NSNull(),
         "loss_sum": lossSum, "loss_sum_bits": hex(lossSum.bitPattern), "samples_seen": samplesSeen,
         "metric_counts": metricCounts.map { [$0.correct, $0.total] }]
    }

    /// Reads ``json``; every missing or inconsistent field is an error naming it.
    public init(json: [String: Any]) throws {
        func int(_ key: String) throws -> Int {
            guard let n = integerValue(json[key]), n >= 0 else { throw FoveaError("training position: '\(key)' must be a non-negative integer") }
            return n
        }
        func word(_ text: Any?, _ key: String) throws -> UInt64 {
            guard let s = text as? String, let w = UInt64(s, radix: 16) else { throw FoveaError("training position: '\(key)' must be a hexadecimal 64-bit value") }
            return w
        }
        epoch = try int("epoch"); step = try int("step"); batchSize = try int("batch_size"); sampleCount = try int("sample_count")
        samplesSeen = try int("samples_seen")
        guard batchSize > 0, sampleCount > 0 else { throw FoveaError("training position: batch_size and sample_count must be positive") }
        guard let mode = json["shuffle"] as? String, Model.Shuffle(rawValue: mode) != nil else {
            throw FoveaError("training position: 'shuffle' must be one of \(Model.Shuffle.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        shuffle = mode
        dataFingerprint = try word(json["data_fingerprint"], "data_fingerprint")
        if json["shuffle_state"] == nil || json["shuffle_state"] is NSNull {
            shuffleState = nil
        } else {
            guard let state = json["shuffle_state"] as? [Any], state.count == 4 else {
                throw FoveaError("training position: 'shuffle_state' must hold four hexadecimal words or be null")
            }
            let words = try state.map { try word($0, "shuffle_state") }
            guard SeededGenerator(state: words) != nil else { throw FoveaError("training position: 'shuffle_state' is all zeros, not a generator state") }
            shuffleState = words
        }
        guard (shuffleState == nil) == (mode == Model.Shuffle.none.rawValue) else {
            throw FoveaError("training position: shuffle '\(mode)' \(shuffleState == nil ? "needs" : "takes no") shuffle_state")
        }
        lossSum = Double(bitPattern: try word(json["loss_sum_bits"], "loss_sum_bits"))
        let counts = ((json["metric_counts"] as? [Any]) ?? [0]).map { (($0 as? [Any]) ?? []).compactMap(integerValue) }
        guard json["metric_counts"] is [Any], counts.allSatisfy({ $0.count == 2 && $0[0] >= 0 && $0[1] >= $0[0] }) else {
            throw FoveaError("training position: 'metric_counts' must be [correct, total] pairs")
        }
        metricCounts = counts.map { MetricCount(correct: $0[0], total: $0[1]) }
        guard step <= stepsPerEpoch, samplesSeen <= sampleCount else {
            throw FoveaError("training position: step \(step) of \(stepsPerEpoch) and \(samplesSeen) of \(sampleCount) samples are inconsistent")
        }
    }

    /// Refuses to continue this position with other settings or data, naming what differs.
    func checkResumable(batchSize: Int, sampleCount: Int, shuffle: String, dataFingerprint: UInt64, metrics: Int) throws {
        let prefix = "cannot resume: the checkpoint was trained"
        if batchSize != self.batchSize { throw FoveaError("\(prefix) with batch size \(self.batchSize) but this run uses \(batchSize); use the same batch size") }
        if sampleCount != self.sampleCount {
            throw FoveaError("\(prefix) on \(self.sampleCount) samples but this run has \(sampleCount); use the same data (and limit and validation split)")
        }
        if shuffle != self.shuffle { throw FoveaError("\(prefix) with shuffle \(self.shuffle) but this run shuffles \(shuffle); use the same shuffle mode") }
        if dataFingerprint != self.dataFingerprint {
            throw FoveaError("\(prefix) on different data: same number of samples (\(sampleCount)) but other contents (fingerprint \(hex(self.dataFingerprint)), this run's is \(hex(dataFingerprint)))")
        }
        if metricCounts.count != metrics && step > 0 {
            throw FoveaError("\(prefix) with \(metricCounts.count) metrics but the model is compiled with \(metrics)")
        }
    }
}

private func hex(_ w: UInt64) -> String { String(w, radix: 16) }

/// A 64-bit fingerprint of tensors' contents and shapes (not cryptographic: it tells data sets
/// apart, it does not defend against forgery). Reads eight bytes at a time, so even MNIST's
/// 188 MB of training images take a few tens of milliseconds.
func contentFingerprint(_ tensors: [Tensor]) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    func mix(_ w: UInt64) {
        h = (h ^ w) &* 0x0000_0100_0000_01B3
        h ^= h >> 29
    }
    for t in tensors {
        mix(UInt64(t.rank))
        for d in t.shape { mix(UInt64(d)) }
        t.withUnsafeBufferPointer { buffer in
            let raw = UnsafeRawBufferPointer(buffer)
            let words = raw.count / 8
            for i in 0..<words { mix(raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) }
            if raw.count % 8 != 0 {
                var tail: UInt64 = 0
                for i in (words * 8)..<raw.count { tail = tail << 8 | UInt64(raw[i]) }
                mix(tail)
            }
        }
    }
    return h
}
