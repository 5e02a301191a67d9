import Foundation

/// Keras `ReLU`: `max_value` caps the output (`ReLU(maxValue: 6)` is ReLU6, as in MobileNetV2),
/// values below `threshold` become `negative_slope · (x − threshold)`.
public final class ReLU: Layer, ConfigurableLayer {
    public let maxValue: Float?
    public let negativeSlope: Float
    public let threshold: Float

    public init(maxValue: Float? = nil, negativeSlope: Float = 0, threshold: Float = 0, name: String? = nil) {
        self.maxValue = maxValue; self.negativeSlope = negativeSlope; self.threshold = threshold
        super.init(name: name)
    }

    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        if let maxValue, maxValue < 0 { throw FoveaError("\(name) (ReLU): maxValue must not be negative, got \(maxValue)") }
        guard negativeSlope >= 0 else { throw FoveaError("\(name) (ReLU): negativeSlope must not be negative, got \(negativeSlope)") }
        return inputShape
    }

    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor {
        input.relu(negativeSlope: negativeSlope, maxValue: maxValue, threshold: threshold)
    }

    public struct Configuration: Codable {
        public var maxValue: Float?
        public var negativeSlope: Float = 0
        public var threshold: Float = 0
        enum CodingKeys: String, CodingKey { case maxValue = "max_value", negativeSlope = "negative_slope", threshold }
        init(maxValue: Float?, negativeSlope: Float, threshold: Float) {
            self.maxValue = maxValue; self.negativeSlope = negativeSlope; self.threshold = threshold
        }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            maxValue = try c.decodeIfPresent(Float.self, forKey: .maxValue)
            negativeSlope = try c.value(.negativeSlope, default: negativeSlope)
            threshold = try c.value(.threshold, default: threshold)
        }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeOrNull(maxValue, forKey: .maxValue)
            try c.encode(negativeSlope, forKey: .negativeSlope)
            try c.encode(threshold, forKey: .threshold)
        }
    }
    public var configuration: Configuration { Configuration(maxValue: maxValue, negativeSlope: negativeSlope, threshold: threshold) }
    public convenience init(configuration c: Configuration, name: String?) throws {
        self.init(maxValue: c.maxValue, negativeSlope: c.negativeSlope, threshold: c.threshold, name: name)
    }
}
