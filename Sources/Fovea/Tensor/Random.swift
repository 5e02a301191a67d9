import Foundation

/// A small, fast, seedable generator (xoshiro256**, seeded through SplitMix64). Every source of
/// randomness in Fovea takes one of these or a seed: same seed, same numbers, on every machine.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s0, s1, s2, s3: UInt64

    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// The generator's four words of state, to save a run's position and resume it exactly.
    public var state: [UInt64] { [s0, s1, s2, s3] }

    /// A generator continuing from a saved ``state``; nil unless there are four words, not all zero
    /// (xoshiro's one invalid state).
    public init?(state: [UInt64]) {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else { return nil }
        (s0, s1, s2, s3) = (state[0], state[1], state[2], state[3])
    }

    /// Uniform in [0, 1).
    public mutating func nextUniform() -> Float { Float(next() >> 40) * (1.0 / Float(1 << 24)) }

    /// Standard normal (Box–Muller).
    public mutating func nextNormal() -> Float {
        var u1 = Double(next() >> 11) * (1.0 / Double(1 << 53))
        if u1 < 1e-300 { u1 = 1e-300 }
        let u2 = Double(next() >> 11) * (1.0 / Double(1 << 53))
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    /// A seed derived from this one and a label, for independent sub-streams.
    public static func derive(_ seed: UInt64, _ label: UInt64) -> UInt64 {
        var g = SeededGenerator(seed: seed ^ (label &* 0x9E37_79B9_7F4A_7C15))
        return g.next()
    }
}

/// The seed used when none is given.
public enum Seeds {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var _default: UInt64 = 0
    public static var `default`: UInt64 {
        get { lock.lock(); defer { lock.unlock() }; return _default }
        set { lock.lock(); _default = newValue; lock.unlock() }
    }
}

extension Tensor {
    /// Uniform values in [low, high).
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1, seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        let t = Tensor(uninitializedShape: shape)
        for i in 0..<t.count { t.storage.pointer[i] = low + (high - low) * g.nextUniform() }
        return t
    }

    /// Normal values with the given mean and standard deviation.
    public static func normal(_ shape: [Int], mean: Float = 0, standardDeviation: Float = 1, seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        let t = Tensor(uninitializedShape: shape)
        for i in 0..<t.count { t.storage.pointer[i] = mean + standardDeviation * g.nextNormal() }
        return t
    }

    /// Normal values redrawn until they lie within two standard deviations of the mean
    /// (Keras's `TruncatedNormal`).
    public static func truncatedNormal(_ shape: [Int], mean: Float = 0, standardDeviation: Float = 1, seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        let t = Tensor(uninitializedShape: shape)
        for i in 0..<t.count {
            var z = g.nextNormal()
            while Swift.abs(z) > 2 { z = g.nextNormal() }
            t.storage.pointer[i] = mean + standardDeviation * z
        }
        return t
    }
}
