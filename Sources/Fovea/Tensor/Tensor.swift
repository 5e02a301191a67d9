import Foundation

/// Float32 storage with 64-byte alignment, shared between tensors until one of them writes.
final class TensorStorage: @unchecked Sendable {
    let count: Int
    let pointer: UnsafeMutablePointer<Float>

    init(count: Int) {
        self.count = count
        let raw = LargeBuffers.allocate(byteCount: max(1, count) * MemoryLayout<Float>.stride)
        pointer = raw.bindMemory(to: Float.self, capacity: max(1, count))
    }

    convenience init(zeros count: Int) {
        self.init(count: count)
        pointer.initialize(repeating: 0, count: count)
    }

    func copy() -> TensorStorage {
        let other = TensorStorage(count: count)
        other.pointer.update(from: pointer, count: count)
        return other
    }

    deinit { LargeBuffers.release(UnsafeMutableRawPointer(pointer), byteCount: max(1, count) * MemoryLayout<Float>.stride) }
}

/// Tensor buffers of a megabyte or more, kept when their tensor is freed and handed to the next
/// tensor of the same size. A fresh large allocation comes from the kernel as untouched pages, and
/// every page faults on its first write: a 77 MB activation cost 44-95 ms to allocate and fill
/// against 8-11 ms for the kernel writing it (measured while adding the activation kernels). A
/// network allocates the same sizes at every step and every batch, so nearly all large tensors reuse
/// pages already mapped. The cache is bounded (``capacityBytes``); ``releaseAll()`` empties it.
public enum LargeBuffers {
    /// Buffers below this size go straight to the system allocator, whose own free lists serve them.
    static let minimumBytes = 1 << 20
    /// At most this much freed memory is kept (1 GiB).
    public static let capacityBytes = 1 << 30
    private static let lock = NSLock()
    nonisolated(unsafe) private static var free: [Int: [UnsafeMutableRawPointer]] = [:]
    nonisolated(unsafe) private static var cachedBytes = 0

    static func allocate(byteCount: Int) -> UnsafeMutableRawPointer {
        if byteCount >= minimumBytes {
            lock.lock()
            if let reused = free[byteCount]?.popLast() {
                cachedBytes -= byteCount
                lock.unlock()
                return reused
            }
            lock.unlock()
        }
        return UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
    }

    static func release(_ pointer: UnsafeMutableRawPointer, byteCount: Int) {
        if byteCount >= minimumBytes {
            lock.lock()
            if cachedBytes + byteCount <= capacityBytes {
                free[byteCount, default: []].append(pointer)
                cachedBytes += byteCount
                lock.unlock()
                return
            }
            lock.unlock()
        }
        pointer.deallocate()
    }

    /// Returns every cached buffer to the system (after a large model is done with, say).
    public static func releaseAll() {
        lock.lock()
        let buffers = free.values.flatMap { $0 }
        free = [:]
        cachedBytes = 0
        lock.unlock()
        for b in buffers { b.deallocate() }
    }

    /// Bytes held for reuse now.
    public static var cachedByteCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return cachedBytes
    }
}

/// An n-dimensional array of `Float`, row-major, with copy-on-write storage.
///
/// A tensor that descends from a tracked ``Variable`` or from ``Tensor/requiringGradient()``
/// carries a node of the gradient graph; ``gradients(of:wrt:)`` walks that graph backwards.
public struct Tensor: @unchecked Sendable {
    /// The extent of each axis; `[]` for a scalar.
    public private(set) var shape: [Int]
    var storage: TensorStorage
    var node: GradNode?

    init(shape: [Int], storage: TensorStorage, node: GradNode? = nil) {
        precondition(shape.reduce(1, *) == storage.count,
                     "shape \(shape) holds \(shape.reduce(1, *)) values, storage has \(storage.count)")
        self.shape = shape
        self.storage = storage
        self.node = node
    }

    /// A tensor with `shape` whose elements are uninitialised; kernels fill them.
    init(uninitializedShape shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        self.init(shape: shape, storage: TensorStorage(count: shape.reduce(1, *)))
    }

    /// A tensor from row-major scalars; `scalars.count` must equal the product of `shape`.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(shape.reduce(1, *) == scalars.count,
                     "shape \(shape) needs \(shape.reduce(1, *)) scalars, got \(scalars.count)")
        let storage = TensorStorage(count: scalars.count)
        scalars.withUnsafeBufferPointer { storage.pointer.update(from: $0.baseAddress!, count: scalars.count) }
        self.init(shape: shape, storage: storage)
    }

    /// A rank-1 tensor.
    public init(_ scalars: [Float]) { self.init(shape: [scalars.count], scalars: scalars) }

    /// A rank-2 tensor from rows of equal length.
    public init(_ rows: [[Float]]) {
        let width = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == width }, "rows of a matrix must have equal lengths")
        self.init(shape: [rows.count, width], scalars: rows.flatMap { $0 })
    }

    /// A rank-0 (scalar) tensor.
    public init(_ scalar: Float) { self.init(shape: [], scalars: [scalar]) }

    /// A tensor of `shape` filled with `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(uninitializedShape: shape)
        storage.pointer.initialize(repeating: value, count: storage.count)
    }

    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(repeating: 0, shape: shape) }
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(repeating: 1, shape: shape) }

    /// Number of axes.
    public var rank: Int { shape.count }
    /// `shape` as layers' `[Int?]` shapes. Spelled out as a map: the implicit `[Int]` → `[Int?]`
    /// conversion casts element by element at run time (a few percent of one-image inference).
    var optionalShape: [Int?] { shape.map { Optional($0) } }
    /// Number of elements.
    public var count: Int { storage.count }

    /// The elements in row-major order.
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: storage.pointer, count: count)) }

    /// The single element of a one-element tensor.
    public var scalar: Float {
        precondition(count == 1, "scalar asked of a tensor of shape \(shape)")
        return storage.pointer[0]
    }

    /// Element at a full multi-index.
    public subscript(indices: Int...) -> Float {
        get { storage.pointer[flatIndex(indices)] }
        set { makeUnique(); storage.pointer[flatIndex(indices)] = newValue }
    }

    func flatIndex(_ indices: [Int]) -> Int {
        precondition(indices.count == rank, "\(indices.count) indices for a tensor of rank \(rank)")
        var flat = 0
        for (axis, index) in indices.enumerated() {
            precondition(index >= 0 && index < shape[axis], "index \(index) out of range for axis \(axis) of \(shape)")
            flat = flat * shape[axis] + index
        }
        return flat
    }

    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
    }

    /// Read access to the elements.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// Write access to the elements (copies the storage first if it is shared). The result is
    /// detached from the gradient graph: an in-place write is not differentiable.
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        makeUnique()
        node = nil
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
    }

    /// This tensor without its place in the gradient graph (gradients stop here).
    public var detached: Tensor { Tensor(shape: shape, storage: storage) }

    /// Whether this tensor takes part in gradient computation.
    public var requiresGradient: Bool { node != nil }

    /// A copy of this tensor that is a leaf of the gradient graph: ``gradients(of:wrt:)`` can
    /// differentiate with respect to it.
    public func requiringGradient() -> Tensor {
        Tensor(shape: shape, storage: storage, node: GradNode(leafFor: nil))
    }

    /// Element-wise equality within an absolute tolerance (shapes must match).
    public func isApproximatelyEqual(to other: Tensor, tolerance: Float = 1e-5) -> Bool {
        guard shape == other.shape else { return false }
        for i in 0..<count where Swift.abs(storage.pointer[i] - other.storage.pointer[i]) > tolerance { return false }
        return true
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        func render(_ axis: Int, _ offset: Int) -> String {
            if axis == rank { return String(format: "%g", storage.pointer[offset]) }
            let stride = shape[(axis + 1)...].reduce(1, *)
            let shown = shape[axis] > 8 ? Array(0..<3) + [-1] + Array((shape[axis] - 3)..<shape[axis])
                                       : Array(0..<shape[axis])
            let parts = shown.map { $0 < 0 ? "..." : render(axis + 1, offset + $0 * stride) }
            return "[" + parts.joined(separator: axis == rank - 1 ? ", " : ",\n" + String(repeating: " ", count: axis + 1)) + "]"
        }
        return rank == 0 ? render(0, 0) : render(0, 0) + " shape=\(shape)"
    }
}

/// An error a user of Fovea can cause: bad shapes, bad arguments, bad files. The message names the
/// thing that is wrong and, where there is one, the fix.
public struct FoveaError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Formats a shape with `None` for unknown (batch) dimensions, as Keras prints it: `(None, 26, 26, 32)`.
public func formatShape(_ shape: [Int?]) -> String {
    let parts = shape.map { $0.map(String.init) ?? "None" }
    return "(" + parts.joined(separator: ", ") + (shape.count == 1 ? ",)" : ")")
}
