import Dispatch
import Foundation

/// The worker pool every kernel splits its work over.
///
/// Work runs on Dispatch's persistent worker threads (`concurrentPerform`), so no thread is
/// created per call. `threadCount` is the one piece of global configuration Fovea has besides
/// the default seed: it defaults to the number of active processor cores.
public enum ThreadPool {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var _threadCount = ProcessInfo.processInfo.activeProcessorCount

    /// Set inside ``serially(_:)``: this thread is already one of several splitting a job.
    @TaskLocal static var inSerialScope = false

    /// How many chunks a parallel loop is split into (at least 1); 1 inside ``serially(_:)``.
    public static var threadCount: Int {
        get {
            if inSerialScope { return 1 }
            lock.lock(); defer { lock.unlock() }; return _threadCount
        }
        set { lock.lock(); _threadCount = max(1, newValue); lock.unlock() }
    }

    /// Runs `body` with every parallel loop inside it on the calling thread (``threadCount`` reads 1
    /// there), for callers that already split their work over the pool at a coarser grain, such as
    /// inference running whole sub-batches through a network on each thread.
    public static func serially<R>(_ body: () throws -> R) rethrows -> R {
        try $inSerialScope.withValue(true) { try body() }
    }

    /// Runs `body(chunk, range)` for `threads` contiguous chunks of `0..<count`, in parallel.
    /// Chunks are as even as possible; a count of zero does nothing.
    public static func parallelFor(_ count: Int, threads: Int? = nil, minChunk: Int = 1,
                                   _ body: (_ range: Range<Int>) -> Void) {
        guard count > 0 else { return }
        let wanted = threads ?? threadCount
        let chunks = max(1, min(wanted, count / max(1, minChunk)))
        if chunks == 1 { body(0..<count); return }
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let lo = count * chunk / chunks, hi = count * (chunk + 1) / chunks
            if lo < hi { body(lo..<hi) }
        }
    }
}
