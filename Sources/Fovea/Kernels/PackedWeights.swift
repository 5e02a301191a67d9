import CFoveaKernels
import Foundation

/// A layer's weights in the form one kernel path's GEMMs read them (B panels packed, Winograd
/// weights transformed and packed), prepared once and reused while the weights do not change.
final class PackedWeights: @unchecked Sendable {
    /// What the weights were prepared for.
    enum Form: Hashable {
        /// The B of `fovea_sgemm_packed`: a row-major [k, n] matrix (a dense kernel, a convolution's
        /// [kh·kw·c, f] kernel).
        case gemm(n: Int, k: Int)
        /// The 36 packed matrices of a forward Winograd F(4×4, 3×3) convolution.
        case winograd(channels: Int, filters: Int)
    }

    let form: Form
    let path: KernelPath
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    /// Packs `weights` (the tensor's elements in row-major order) for `form` on `path`.
    init(_ weights: UnsafePointer<Float>, form: Form, path: KernelPath) {
        self.form = form
        self.path = path
        switch form {
        case let .gemm(n, k): count = Int(fovea_sgemm_packed_floats(path.cValue, n, k))
        case let .winograd(c, f): count = Int(fovea_winograd_packed_floats(path.cValue, c, f))
        }
        pointer = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(1, count) * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: Swift.max(1, count))
        switch form {
        case let .gemm(n, k):
            fovea_sgemm_pack_b(path.cValue, 0, n, k, weights, n, pointer)
        case let .winograd(c, f):
            let u = UnsafeMutablePointer<Float>.allocate(capacity: 36 * c * f)
            defer { u.deallocate() }
            fovea_winograd_pack_weights(path.cValue, weights, c, f, u, pointer)
        }
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    // MARK: The cache

    /// Prepared weights are kept for at most this many floats (128 MiB) in all, least recently
    /// used dropped first: every layer of the built-in networks, of VGG16 all but a few.
    static let cacheCapacityFloats = 32 << 20

    private struct Key: Hashable {
        let storage: ObjectIdentifier
        let form: Form
        let path: KernelPath
    }

    private final class Entry {
        /// Holding the storage keeps its identity from being reused, and makes any later write to
        /// the weights (every write copies shared storage first) go to a new storage: an entry can
        /// never describe changed weights.
        var source: TensorStorage
        let packed: PackedWeights
        var lastUse: UInt64
        init(source: TensorStorage, packed: PackedWeights, lastUse: UInt64) {
            self.source = source; self.packed = packed; self.lastUse = lastUse
        }
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var entries: [Key: Entry] = [:]
    nonisolated(unsafe) private static var cachedFloats = 0
    nonisolated(unsafe) private static var clock: UInt64 = 0

    /// Whether a forward pass with these weights should use (and fill) the cache: only in inference
    /// (no gradient recording, weights not on a graph). While training, weights change every step
    /// and an entry would only cost a copy of them at the next update.
    static func applies(to weights: Tensor) -> Bool {
        !GradientRecording.isEnabled && weights.node == nil
    }

    /// `weights` prepared for `form` on `path`, from the cache or packed now (and cached when it fits).
    static func prepared(_ weights: Tensor, form: Form, path: KernelPath) -> PackedWeights {
        let key = Key(storage: ObjectIdentifier(weights.storage), form: form, path: path)
        lock.lock()
        clock += 1
        if let entry = entries[key] {
            entry.lastUse = clock
            lock.unlock()
            return entry.packed
        }
        lock.unlock()
        // Packing runs outside the lock; two threads packing the same weights at once both succeed.
        let packed = PackedWeights(weights.storage.pointer, form: form, path: path)
        guard packed.count <= cacheCapacityFloats / 2 else { return packed }
        lock.lock()
        defer { lock.unlock() }
        if entries[key] == nil {
            while cachedFloats + packed.count > cacheCapacityFloats,
                  let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
                cachedFloats -= oldest.value.packed.count
                entries[oldest.key] = nil
            }
            // Entries whose weights are gone (a model that was freed, weights a step replaced) can
            // never be asked for again: drop them rather than wait for eviction.
            for (k, entry) in entries where isKnownUniquelyReferenced(&entry.source) {
                cachedFloats -= entry.packed.count
                entries[k] = nil
            }
            entries[key] = Entry(source: weights.storage, packed: packed, lastUse: clock)
            cachedFloats += packed.count
        }
        return packed
    }

    /// Empties the cache (tests; a server dropping its models can also call it).
    static func removeAll() {
        lock.lock()
        entries.removeAll()
        cachedFloats = 0
        lock.unlock()
    }

    /// How many prepared weight sets are cached.
    static var cachedCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return entries.count
    }
}
