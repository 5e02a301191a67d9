import Foundation

/// The collective operations data-parallel training needs from the processes (ranks) that train one
/// model together: Open MPI's in the `MPI` build (`FoveaMPI`), threads of one process in tests
/// (``InProcessCommunicator``), or nothing at all (``SingleProcessCommunicator``).
///
/// Every rank must call the same operations in the same order with buffers of the same size, as MPI
/// requires of collectives. An operation that cannot complete (a rank died, a time limit passed)
/// throws a ``CommunicatorError`` instead of waiting for ever.
public protocol Communicator: AnyObject {
    /// This process's number, 0..<size.
    var rank: Int { get }
    /// How many processes train together.
    var size: Int { get }
    /// Overwrites `buffer` on every rank with `root`'s.
    func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws
    /// Replaces `buffer` on every rank with the element-wise sum over the ranks (the same result on all).
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws
    /// The same for `Double`s (loss sums and metric counts).
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws
    /// Returns once every rank has called it.
    func barrier() throws
    /// Starts summing `buffer` over the ranks and returns at once; the buffer must stay untouched until
    /// the request's `wait()` returns, after which it holds the sum. Requests complete in the order
    /// they were started.
    func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> CommunicatorRequest
}

/// An operation ``Communicator/startAllreduceSum(_:)`` started.
public protocol CommunicatorRequest: AnyObject {
    /// Waits until the operation has completed (throws if it cannot).
    func wait() throws
}

/// A collective operation failed: a rank is gone, did not answer in time, or the transport reported an error.
public struct CommunicatorError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension Communicator {
    /// Sums an array of `Double`s over the ranks.
    public func allreduceSum(_ values: [Double]) throws -> [Double] {
        var values = values
        try values.withUnsafeMutableBufferPointer { try allreduceSum($0) }
        return values
    }
}

/// A request that completed when it was started.
final class CompletedRequest: CommunicatorRequest {
    func wait() throws {}
}

/// One process training alone: every collective is the identity.
public final class SingleProcessCommunicator: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {}
    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {}
    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {}
    public func barrier() throws {}
    public func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> CommunicatorRequest { CompletedRequest() }
}

/// Ranks that are threads of one process: each thread uses its own member of ``group(size:timeout:)``.
/// For tests of data-parallel training without MPI, and to check that a rank that stops answering
/// makes the others fail rather than hang. Sums are taken in rank order, so every rank gets the
/// same bits.
public final class InProcessCommunicator: Communicator {
    final class Shared {
        let condition = NSCondition()
        let size: Int
        let timeout: TimeInterval
        var arrived = 0
        var generation = 0
        var floatSlots: [[Float]]
        var doubleSlots: [[Double]]
        var floatResult: [Float] = []
        var doubleResult: [Double] = []
        var failure: String?
        init(size: Int, timeout: TimeInterval) {
            self.size = size; self.timeout = timeout
            floatSlots = Array(repeating: [], count: size); doubleSlots = Array(repeating: [], count: size)
        }
    }

    public let rank: Int
    public var size: Int { shared.size }
    let shared: Shared

    init(rank: Int, shared: Shared) { self.rank = rank; self.shared = shared }

    /// `size` communicators over shared memory; a collective that waits more than `timeout` seconds
    /// for the other ranks throws, and so do all later ones, on every rank.
    public static func group(size: Int, timeout: TimeInterval = 60) -> [InProcessCommunicator] {
        precondition(size > 0, "a communicator group has at least one rank")
        let shared = Shared(size: size, timeout: timeout)
        return (0..<size).map { InProcessCommunicator(rank: $0, shared: shared) }
    }

    /// Marks the group failed (as a rank that dies would): every waiting and later collective throws.
    public func abandon(_ reason: String) {
        shared.condition.lock()
        shared.failure = shared.failure ?? "rank \(rank): \(reason)"
        shared.condition.broadcast()
        shared.condition.unlock()
    }

    /// Each rank deposits its part, the last to arrive combines them, then every rank collects.
    private func collective(_ what: String, deposit: (Shared) -> Void, combine: (Shared) -> Void, collect: (Shared) -> Void) throws {
        let s = shared
        s.condition.lock()
        defer { s.condition.unlock() }
        if let failure = s.failure { throw CommunicatorError("\(what) on rank \(rank) failed: \(failure)") }
        let generation = s.generation
        deposit(s)
        s.arrived += 1
        if s.arrived == s.size {
            combine(s)
            s.arrived = 0
            s.generation += 1
            s.condition.broadcast()
        } else {
            let deadline = Date(timeIntervalSinceNow: s.timeout)
            while s.generation == generation {
                if let failure = s.failure { throw CommunicatorError("\(what) on rank \(rank) failed: \(failure)") }
                if !s.condition.wait(until: deadline) && s.generation == generation {
                    s.failure = s.failure ?? "\(s.size - s.arrived) of \(s.size) ranks did not reach \(what) within \(s.timeout) s"
                    s.condition.broadcast()
                    throw CommunicatorError("\(what) on rank \(rank) failed: \(s.failure!)")
                }
            }
        }
        collect(s)
    }

    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {
        try collective("broadcast", deposit: { if rank == root { $0.floatSlots[rank] = Array(buffer) } }, combine: { $0.floatResult = $0.floatSlots[root] }, collect: { s in
            precondition(s.floatResult.count == buffer.count, "broadcast of \(buffer.count) values, root sent \(s.floatResult.count)")
            if rank != root { _ = buffer.update(fromContentsOf: s.floatResult) }
        })
    }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        try collective("allreduce", deposit: { $0.floatSlots[rank] = Array(buffer) }, combine: { s in
            var sum = s.floatSlots[0]
            for r in 1..<s.size {
                precondition(s.floatSlots[r].count == sum.count, "allreduce of different sizes across ranks")
                for i in sum.indices { sum[i] += s.floatSlots[r][i] }
            }
            s.floatResult = sum
        }, collect: { _ = buffer.update(fromContentsOf: $0.floatResult) })
    }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
        try collective("allreduce", deposit: { $0.doubleSlots[rank] = Array(buffer) }, combine: { s in
            var sum = s.doubleSlots[0]
            for r in 1..<s.size {
                precondition(s.doubleSlots[r].count == sum.count, "allreduce of different sizes across ranks")
                for i in sum.indices { sum[i] += s.doubleSlots[r][i] }
            }
            s.doubleResult = sum
        }, collect: { _ = buffer.update(fromContentsOf: $0.doubleResult) })
    }

    public func barrier() throws {
        try collective("barrier", deposit: { _ in }, combine: { _ in }, collect: { _ in })
    }

    /// Completes before returning (threads have no transport to overlap with).
    public func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> CommunicatorRequest {
        try allreduceSum(buffer)
        return CompletedRequest()
    }
}
