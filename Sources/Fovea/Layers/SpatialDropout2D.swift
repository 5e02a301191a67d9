import Foundation

/// Keras `SpatialDropout2D`: in training, drops whole feature maps (one draw per sample and channel)
/// with probability `rate` and scales the rest by `1 / (1 − rate)`; at inference the identity. Seeded.
public final class SpatialDropout2D: Layer, ConfigurableLayer {
    public let rate: Float
    public let dataFormat: DataFormat
    public override var channelsFirst: Bool { dataFormat == .channelsFirst }
    private var generator: SeededGenerator?

    public init(rate: Float, seed: UInt64? = nil, dataFormat: DataFormat = .channelsLast, name: String? = nil) {
        self.rate = rate; self.dataFormat = dataFormat
        super.init(name: name)
        self.seed = seed
    }

    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        guard rate >= 0 && rate < 1 else { throw FoveaError("\(name) (SpatialDropout2D): rate must be in [0, 1), got \(rate)") }
        guard inputShape.count == 4 else { throw shapeError(inputShape, "a rank-4 image input") }
        return inputShape
    }

    /// The mask generator's state, saved with the model like Dropout's.
    public override var randomState: [UInt64]? {
        get { (generator ?? freshGenerator).state }
        set { generator = newValue.flatMap(SeededGenerator.init(state:)) }
    }
    private var freshGenerator: SeededGenerator { SeededGenerator(seed: SeededGenerator.derive(seed ?? Seeds.default, 0xD2)) }

    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor {
        guard training && rate > 0 else { return input }
        if generator == nil { generator = freshGenerator }
        let keep = 1 - rate, scale = 1 / keep
        let channels = input.shape[dataFormat == .channelsLast ? 3 : 1]
        let maskShape = dataFormat == .channelsLast ? [input.shape[0], 1, 1, channels] : [input.shape[0], channels, 1, 1]
        let mask = Tensor(uninitializedShape: maskShape)
        let p = mask.storage.pointer, count = mask.count
        // In a data-parallel step, the masks one process would draw for this rank's samples.
        DataParallelShare.drawing(input.shape[0], valuesPerSample: channels, from: &generator!) { g in
            for i in 0..<count { p[i] = g.nextUniform() < keep ? scale : 0 }
        }
        return input * mask
    }

    public struct Configuration: Codable {
        public var rate: Float
        public var seed: UInt64?
        public var dataFormat: DataFormat = .channelsLast
        enum CodingKeys: String, CodingKey { case rate, seed, dataFormat = "data_format" }
        init(rate: Float, seed: UInt64?, dataFormat: DataFormat) { self.rate = rate; self.seed = seed; self.dataFormat = dataFormat }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            rate = try c.decode(Float.self, forKey: .rate)
            seed = try c.decodeIfPresent(UInt64.self, forKey: .seed)
            dataFormat = try c.value(.dataFormat, default: dataFormat)
        }
    }
    public var configuration: Configuration { Configuration(rate: rate, seed: seed, dataFormat: dataFormat) }
    public convenience init(configuration c: Configuration, name: String?) throws {
        self.init(rate: c.rate, seed: c.seed, dataFormat: c.dataFormat, name: name)
    }
}
