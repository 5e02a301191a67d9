import Foundation

/// Something that computes a batch: `count` samples laid end to end in, their outputs laid end to
/// end out. ``ServedModel`` is the real one; tests use stand-ins.
public protocol BatchRunner: AnyObject, Sendable {
    var inputCount: Int { get }
    var outputCount: Int { get }
    func run(_ input: [Float], count: Int) throws -> [Float]
}

/// How requests for one model are gathered into batches.
public struct BatchingOptions: Sendable, Equatable {
    /// Most samples in one batch; 1 turns dynamic batching off (every request runs alone).
    public var maxBatchSize: Int
    /// How long the first request of a batch may wait for others to join it, in seconds (0: take
    /// whatever has arrived by the time a worker is free).
    public var maxDelay: Double
    /// Most samples waiting per model version; a request that would exceed it is answered 503.
    public var maxQueuedSamples: Int
    /// Longest a request may wait in the queue, in seconds; then it is answered 503.
    public var timeout: Double
    /// Worker threads per model version, each with its own copy of the model, each running its
    /// batches on one core.
    public var instances: Int

    public init(maxBatchSize: Int = 32, maxDelay: Double = 0.001, maxQueuedSamples: Int = 512, timeout: Double = 30,
                instances: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.maxBatchSize = maxBatchSize; self.maxDelay = maxDelay; self.maxQueuedSamples = maxQueuedSamples
        self.timeout = timeout; self.instances = instances
    }

    /// Checks the values a user passed.
    public func validated() throws(ServingError) -> BatchingOptions {
        guard maxBatchSize >= 1 else { throw .badRequest("the maximum batch size must be at least 1 (got \(maxBatchSize))") }
        guard maxDelay >= 0, maxDelay <= 10 else { throw .badRequest("the maximum batching delay must be 0...10 s (got \(maxDelay))") }
        guard maxQueuedSamples >= 1 else { throw .badRequest("the queue must hold at least one sample (got \(maxQueuedSamples))") }
        guard timeout > 0 else { throw .badRequest("the request timeout must be positive (got \(timeout))") }
        guard instances >= 1, instances <= 64 else { throw .badRequest("instances must be 1...64 (got \(instances))") }
        return self
    }
}

/// Gathers the requests for one model version into batches (dynamic batching) and runs them on
/// its worker threads, one model copy per thread. A request's samples stay contiguous inside a
/// batch and its answer is cut from the same offsets, so answers are never mixed. The queue is
/// bounded in samples; a request that does not fit is refused at once (``ServingError/Kind/queueFull``).
public final class DynamicBatcher: @unchecked Sendable {
    private struct Pending {
        let input: [Float]
        let count: Int
        let enqueued: UInt64
        let deadline: UInt64
        let answer: Answer
        let wake: CheckedContinuation<Void, Never>

        /// Leaves `result` for the request and wakes its task.
        func reply(_ result: Result<[Float], ServingError>) {
            answer.set(result)
            wake.resume()
        }
    }

    /// Where a worker thread leaves one request's answer for the request's task. The continuation
    /// only wakes the task; the answer passes through `lock`. The continuation's resume and await
    /// order the two threads as it is, but ThreadSanitizer does not see that order
    /// (swiftlang/swift#57803) and reported the outputs written by the worker and read by the HTTP
    /// route as a race; through the lock the same order is one it sees.
    private final class Answer: @unchecked Sendable {
        private let lock = NSLock()
        /// Protected by `lock`: set once by the worker, read once by the task after it wakes.
        private var result: Result<[Float], ServingError>?

        func set(_ value: Result<[Float], ServingError>) {
            lock.lock(); result = value; lock.unlock()
        }

        func take() -> Result<[Float], ServingError> {
            lock.lock(); defer { lock.unlock() }
            return result ?? .failure(ServingError(.internal, "no answer was left for the request"))
        }
    }

    private enum State { case running, draining, stopped }

    public let options: BatchingOptions
    public let label: String
    private let runners: [any BatchRunner]
    private let inputCount: Int, outputCount: Int
    private let observer: BatchObserver?
    private let condition = NSCondition()
    private var queue: [Pending] = []
    private var head = 0
    private var queuedSamples = 0
    private var state = State.running
    private var liveWorkers = 0
    private var drained: [CheckedContinuation<Void, Never>] = []

    /// Starts one worker thread per runner (all runners must have the same input and output sizes).
    public init(runners: [any BatchRunner], options: BatchingOptions, label: String, observer: BatchObserver? = nil) {
        precondition(!runners.isEmpty, "DynamicBatcher needs at least one runner")
        self.runners = runners
        self.options = options
        self.label = label
        self.observer = observer
        inputCount = runners[0].inputCount
        outputCount = runners[0].outputCount
        liveWorkers = runners.count
        for (i, runner) in runners.enumerated() {
            let thread = Thread { [self] in work(runner) }
            thread.name = "fovea-batch \(label) #\(i)"
            thread.start()
        }
    }

    /// Samples waiting now.
    public var queueDepth: Int {
        condition.lock(); defer { condition.unlock() }
        return queuedSamples
    }

    /// Runs `batch` (with whatever else is waiting) and returns its outputs, `count × outputCount`
    /// floats. Throws ``ServingError`` when the queue is full, the wait exceeds the timeout, or the
    /// batcher has stopped.
    public func submit(_ batch: InferenceBatch) async throws(ServingError) -> [Float] {
        precondition(batch.count >= 1 && batch.values.count == batch.count * inputCount, "DynamicBatcher.submit: malformed batch")
        let answer = Answer()
        await withCheckedContinuation { (wake: CheckedContinuation<Void, Never>) in
            let now = DispatchTime.now().uptimeNanoseconds
            condition.lock()
            if state == .stopped {
                condition.unlock()
                answer.set(.failure(ServingError(.unavailable, "\(label) is unloading; retry")))
                wake.resume()
                return
            }
            // A request larger than the whole queue is still taken when the queue is empty.
            if queuedSamples > 0 && queuedSamples + batch.count > options.maxQueuedSamples {
                let depth = queuedSamples
                condition.unlock()
                answer.set(.failure(ServingError(.queueFull, "\(label): \(depth) samples are waiting (the limit is \(options.maxQueuedSamples)); retry shortly")))
                wake.resume()
                return
            }
            queue.append(Pending(input: batch.values, count: batch.count, enqueued: now,
                                 deadline: now + UInt64((options.timeout * 1e9).clampedInt(0...(1 << 62))), answer: answer, wake: wake))
            queuedSamples += batch.count
            let depth = queuedSamples
            if depth >= options.maxBatchSize { condition.broadcast() } else { condition.signal() }
            condition.unlock()
            observer?.queueDepthChanged(depth)
        }
        return try answer.take().get()
    }

    /// Stops taking requests once those already queued have run, then ends the workers; returns
    /// when they have ended. Requests submitted after the workers ended are refused (503).
    public func drain() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            condition.lock()
            if state == .stopped {
                condition.unlock()
                done.resume()
                return
            }
            state = .draining
            drained.append(done)
            condition.broadcast()
            condition.unlock()
        }
    }

    private func work(_ runner: any BatchRunner) {
        while let batch = nextBatch() {
            run(batch, on: runner)
        }
        condition.lock()
        liveWorkers -= 1
        var waiting: [CheckedContinuation<Void, Never>] = []
        if liveWorkers == 0 {
            state = .stopped
            // Anything that slipped in after the last batch was taken.
            for pending in queue[head...] { pending.reply(.failure(ServingError(.unavailable, "\(label) is unloading; retry"))) }
            queue.removeAll(); head = 0; queuedSamples = 0
            waiting = drained
            drained.removeAll()
        }
        condition.unlock()
        for done in waiting { done.resume() }
    }

    /// Waits for requests and takes the next batch: the oldest request, and those after it while
    /// they fit `maxBatchSize`, after waiting up to `maxDelay` from the oldest's arrival for the
    /// batch to fill. Nil when draining and the queue is empty.
    private func nextBatch() -> [Pending]? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            while head == queue.count {
                if state != .running { return nil }
                condition.wait()
            }
            guard options.maxDelay > 0 && options.maxBatchSize > 1 else { break }
            let deadline = queue[head].enqueued + UInt64((options.maxDelay * 1e9).clampedInt(0...(1 << 62)))
            while queuedSamples < options.maxBatchSize && state == .running && head < queue.count {
                let now = DispatchTime.now().uptimeNanoseconds
                guard now < deadline else { break }
                _ = condition.wait(until: Date(timeIntervalSinceNow: Double(deadline - now) / 1e9))
            }
            // Another worker may have taken everything while this one waited.
            if head < queue.count { break }
        }
        var taken: [Pending] = []
        var samples = 0
        while head < queue.count {
            let next = queue[head]
            if !taken.isEmpty && samples + next.count > options.maxBatchSize { break }
            taken.append(next)
            samples += next.count
            head += 1
            queuedSamples -= next.count
        }
        if head > 64 && head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
        observer?.queueDepthChanged(queuedSamples)
        return taken
    }

    private func run(_ batch: [Pending], on runner: any BatchRunner) {
        let now = DispatchTime.now().uptimeNanoseconds
        var live: [Pending] = []
        for pending in batch {
            if now > pending.deadline {
                pending.reply(.failure(ServingError(.timedOut, "\(label): the request waited longer than the \(options.timeout) s timeout; retry")))
            } else {
                live.append(pending)
            }
        }
        guard !live.isEmpty else { return }
        let count = live.reduce(0) { $0 + $1.count }
        var input: [Float]
        if live.count == 1 {
            input = live[0].input
        } else {
            input = []
            input.reserveCapacity(count * inputCount)
            for pending in live { input.append(contentsOf: pending.input) }
        }
        let started = DispatchTime.now().uptimeNanoseconds
        let result: Result<[Float], ServingError>
        do {
            let output = try runner.run(input, count: count)
            if output.count == count * outputCount {
                result = .success(output)
            } else {
                result = .failure(ServingError(.internal, "\(label): the model returned \(output.count) values for \(count) samples"))
            }
        } catch {
            result = .failure(ServingError(.internal, "\(label): inference failed: \(error)"))
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        observer?.batchRan(samples: count, requests: live.count, seconds: seconds)
        switch result {
        case let .success(output):
            var offset = 0
            for pending in live {
                let size = pending.count * outputCount
                pending.reply(.success(Array(output[offset..<(offset + size)])))
                offset += size
            }
        case let .failure(error):
            for pending in live { pending.reply(.failure(error)) }
        }
    }
}

/// Receives a batcher's measurements (the metrics of ``ServingMetrics``).
public protocol BatchObserver: Sendable {
    func queueDepthChanged(_ samples: Int)
    func batchRan(samples: Int, requests: Int, seconds: Double)
}
