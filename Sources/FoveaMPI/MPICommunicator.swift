// Fovea's ``Communicator`` over Open MPI (built with `--traits MPI`; without the trait this target
// is empty and nothing links MPI).
#if MPI
import CMPI
import Foundation
import Fovea

/// The processes `mpirun` started, as a ``Communicator`` over `MPI_COMM_WORLD`.
///
/// One thread of its own owns MPI: it calls `MPI_Init_thread` (asking for `MPI_THREAD_FUNNELED`,
/// which is all it needs, since no other thread calls MPI), starts every collective as a nonblocking
/// operation (`MPI_Iallreduce`, `MPI_Ibcast`, `MPI_Ibarrier`) in the order the training thread asks
/// for them, and drives them with `MPI_Test`, sleeping briefly between polls so that it does not take a
/// core from the backward pass it overlaps. The training thread waits for an operation at most
/// ``timeout`` seconds: a rank that died or hangs makes the others fail with a clear error instead of
/// waiting for ever. Errors on `MPI_COMM_WORLD` are returned (`MPI_ERRORS_RETURN`), not fatal.
public final class MPICommunicator: Communicator {
    public private(set) var rank = 0
    public private(set) var size = 1
    /// The thread level Open MPI provides (`MPI_THREAD_FUNNELED` or more is required).
    public private(set) var threadLevel: Int32 = 0
    /// How long a collective may take before the ranks are given up for dead, in seconds
    /// (`FOVEA_MPI_TIMEOUT`, default 30).
    public let timeout: TimeInterval
    /// Set once a collective failed or timed out: MPI is then not finalized (that would wait for the dead).
    public private(set) var failed = false

    final class Operation: CommunicatorRequest {
        enum Kind {
            case allreduceFloat(UnsafeMutableBufferPointer<Float>)
            case allreduceDouble(UnsafeMutableBufferPointer<Double>)
            case broadcast(UnsafeMutableBufferPointer<Float>, root: Int32)
            case barrier
            var name: String {
                switch self {
                case .allreduceFloat(let b): return "allreduce of \(b.count) floats"
                case .allreduceDouble(let b): return "allreduce of \(b.count) doubles"
                case .broadcast(let b, _): return "broadcast of \(b.count) floats"
                case .barrier: return "barrier"
                }
            }
        }
        let kind: Kind
        unowned let owner: MPICommunicator
        var request = fovea_mpi_request_null()
        var done = false
        var error: String?
        init(_ kind: Kind, owner: MPICommunicator) { self.kind = kind; self.owner = owner }
        func wait() throws { try owner.wait(for: self) }
    }

    private let condition = NSCondition()
    private var queue: [Operation] = []
    private var stopping = false
    private var started = false
    private var finished = false
    private var startupError: String?
    private var thread: Thread!

    /// Starts MPI on its own thread. Throws when MPI cannot start or lacks the thread level needed.
    public init(timeout: TimeInterval? = nil) throws {
        self.timeout = timeout ?? ProcessInfo.processInfo.environment["FOVEA_MPI_TIMEOUT"].flatMap(TimeInterval.init) ?? 30
        thread = Thread { [unowned self] in self.run() }
        thread.name = "fovea-mpi"
        thread.start()
        condition.lock()
        while !started { condition.wait() }
        condition.unlock()
        if let startupError { throw CommunicatorError(startupError) }
    }

    /// Whether this process was started by Open MPI's `mpirun`.
    public static var isLaunchedByMPIRun: Bool { ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil }

    /// The ranks `mpirun` started on this machine (to share its cores), from Open MPI's environment.
    public static var localSize: Int? { ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init) }

    private func check(_ code: Int32, _ what: String) -> String? {
        guard code != MPI_SUCCESS else { return nil }
        var text = [CChar](repeating: 0, count: 512)   // MPI_MAX_ERROR_STRING is 256 in Open MPI
        var length: Int32 = 0
        MPI_Error_string(code, &text, &length)
        return "\(what) failed on rank \(rank): \(String(cString: text))"
    }

    /// The MPI thread: initialises MPI, then starts and polls operations until ``finalize()``.
    private func run() {
        var provided: Int32 = 0
        var error = check(MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided), "MPI_Init_thread")
        if error == nil {
            threadLevel = provided
            if provided < Int32(MPI_THREAD_FUNNELED) {
                error = "Open MPI provides thread level \(provided), below MPI_THREAD_FUNNELED; Fovea's MPI thread needs FUNNELED"
            }
        }
        if error == nil {
            MPI_Comm_set_errhandler(fovea_mpi_comm_world(), fovea_mpi_errors_return())
            var r: Int32 = 0, s: Int32 = 0
            MPI_Comm_rank(fovea_mpi_comm_world(), &r)
            MPI_Comm_size(fovea_mpi_comm_world(), &s)
            rank = Int(r); size = Int(s)
        }
        condition.lock()
        startupError = error
        started = true
        condition.broadcast()
        condition.unlock()
        if error != nil { return }

        var active: [Operation] = []
        while true {
            condition.lock()
            while queue.isEmpty && active.isEmpty && !stopping { condition.wait() }
            let new = queue
            queue.removeAll()
            let stop = stopping && active.isEmpty && new.isEmpty
            condition.unlock()
            if stop { break }
            for op in new {
                if let message = start(op) { complete(op, error: message) } else { active.append(op) }
            }
            // Requests complete in the order they were started: test the next one only when this one is done.
            while let op = active.first {
                var flag: Int32 = 0
                if let message = check(MPI_Test(&op.request, &flag, fovea_mpi_status_ignore()), "MPI_Test (\(op.kind.name))") {
                    complete(op, error: message)
                } else if flag != 0 {
                    complete(op, error: nil)
                } else {
                    break
                }
                active.removeFirst()
            }
            if !active.isEmpty {
                var pause = timespec(tv_sec: 0, tv_nsec: 20_000)
                nanosleep(&pause, nil)
            }
        }
        if !failed { MPI_Finalize() }
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Starts one nonblocking collective on MPI's thread; returns an error message when MPI refuses it.
    private func start(_ op: Operation) -> String? {
        let world = fovea_mpi_comm_world()
        switch op.kind {
        case .allreduceFloat(let b):
            return check(MPI_Iallreduce(fovea_mpi_in_place(), b.baseAddress, Int32(b.count), fovea_mpi_float(), fovea_mpi_sum(), world, &op.request), "MPI_Iallreduce")
        case .allreduceDouble(let b):
            return check(MPI_Iallreduce(fovea_mpi_in_place(), b.baseAddress, Int32(b.count), fovea_mpi_double(), fovea_mpi_sum(), world, &op.request), "MPI_Iallreduce")
        case .broadcast(let b, let root):
            return check(MPI_Ibcast(b.baseAddress, Int32(b.count), fovea_mpi_float(), root, world, &op.request), "MPI_Ibcast")
        case .barrier:
            return check(MPI_Ibarrier(world, &op.request), "MPI_Ibarrier")
        }
    }

    private func complete(_ op: Operation, error: String?) {
        condition.lock()
        op.done = true
        op.error = error
        if error != nil { failed = true }
        condition.broadcast()
        condition.unlock()
    }

    private func submit(_ kind: Operation.Kind) throws -> Operation {
        condition.lock()
        defer { condition.unlock() }
        if failed { throw CommunicatorError("rank \(rank): an earlier MPI operation failed; the ranks cannot go on together") }
        guard !stopping else { throw CommunicatorError("rank \(rank): MPI is finalized") }
        let op = Operation(kind, owner: self)
        queue.append(op)
        condition.broadcast()
        return op
    }

    func wait(for op: Operation) throws {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: timeout)
        while !op.done {
            if !condition.wait(until: deadline) && !op.done {
                failed = true
                throw CommunicatorError("rank \(rank) of \(size): the \(op.kind.name) did not complete within \(Int(timeout)) s; another rank has probably died or hangs (FOVEA_MPI_TIMEOUT sets the limit)")
            }
        }
        if let error = op.error { throw CommunicatorError(error) }
    }

    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {
        guard buffer.count > 0 else { return }
        try wait(for: try submit(.broadcast(buffer, root: Int32(root))))
    }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        guard buffer.count > 0 else { return }
        try wait(for: try submit(.allreduceFloat(buffer)))
    }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
        guard buffer.count > 0 else { return }
        try wait(for: try submit(.allreduceDouble(buffer)))
    }

    public func barrier() throws { try wait(for: try submit(.barrier)) }

    public func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> CommunicatorRequest {
        try submit(.allreduceFloat(buffer))
    }

    /// Finishes MPI (after a barrier) once training is over; skipped after a failure, which would
    /// make it wait for a rank that is gone.
    public func finalize() throws {
        if !failed { try barrier() }
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished && !failed { condition.wait() }
        condition.unlock()
    }
}
#endif
