import Foundation

/// Keras `Dropout`: in training, zeroes each value with probability `rate` and scales the rest by
/// `1 / (1 − rate)` (inverted dropout); at inference it is the identity. Seeded.
public final class Dropout: Layer, ConfigurableLayer {
    public let rate: Float
    private var generator: SeededGenerator?

    public init(rate: Float, seed: UInt64? = nil, name: String? = nil) {
        self.rate = rate
        super.init(name: name)
        self.seed = seed
    }
    public convenience init(_ rate: Float, seed: UInt64? = nil, name: String? = nil) {
        self.init(rate: rate, seed: seed, name: name)
    }

    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        guard rate >= 0 && rate < 1 else { throw FoveaError("\(name) (Dropout): rate must be in [0, 1), got \(rate)") }
        return inputShape
    }

    /// The mask generator's state: where the sequence of dropout masks stands.
    public override var randomState: [UInt64]? {
        get { (generator ?? freshGenerator).state }
        set { generator = newValue.flatMap(SeededGenerator.init(state:)) }
    }

    private var freshGenerator: SeededGenerator { SeededGenerator(seed: SeededGenerator.derive(seed ?? Seeds.default, 0xD0)) }

    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor {
        guard training && rate > 0 else { return input }
        if generator == nil { generator = freshGenerator }
        let keep = 1 - rate, scale = 1 / keep
        let mask = Tensor(uninitializedShape: input.shape)
        let p = mask.storage.pointer, count = mask.count
        let samples = input.shape.first ?? 1
        // In a data-parallel step, the masks one process would draw for this rank's samples.
        DataParallelShare.drawing(samples, valuesPerSample: samples > 0 ? count / samples : 0, from: &generator!) { g in
            for i in 0..<count { p[i] = g.nextUniform() < keep ? scale : 0 }
        }
        return input * mask
    }

    public struct Configuration: Codable {
        public var rate: Float
        /// Keras's seed (a 32-bit integer there); Fovea's models derive a 64-bit one per layer.
        public var seed: UInt64?
        /// Keras's `noise_shape` (dropping whole rows or channels) is not implemented: `null` only.
        enum CodingKeys: String, CodingKey { case rate, seed }
    }
    public var configuration: Configuration { Configuration(rate: rate, seed: seed) }
    public convenience init(configuration c: Configuration, name: String?) throws {
        self.init(rate: c.rate, seed: c.seed, name: name)
    }
}
