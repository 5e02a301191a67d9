import Foundation

/// Keras `LeakyReLU`: `x` where positive, `negativeSlope · x` elsewhere (the layer's default slope is
/// 0.3; the `leaky_relu` activation's is 0.2).
public final class LeakyReLU: Layer, ConfigurableLayer {
    public let negativeSlope: Float
    public init(negativeSlope: Float = 0.3, name: String? = nil) {
        self.negativeSlope = negativeSlope
        super.init(name: name)
    }
    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        guard negativeSlope >= 0 else { throw FoveaError("\(name) (LeakyReLU): negativeSlope must not be negative, got \(negativeSlope)") }
        return inputShape
    }
    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor { input.leakyRelu(negativeSlope: negativeSlope) }

    public struct Configuration: Codable {
        public var negativeSlope: Float = 0.3
        enum CodingKeys: String, CodingKey { case negativeSlope = "negative_slope", alpha }
        init(negativeSlope: Float) { self.negativeSlope = negativeSlope }
        public init(from decoder: Decoder) throws {
            // Keras 2 called the slope `alpha`.
            let c = try decoder.container(keyedBy: CodingKeys.self)
            negativeSlope = try c.decodeIfPresent(Float.self, forKey: .negativeSlope) ?? c.value(.alpha, default: negativeSlope)
        }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(negativeSlope, forKey: .negativeSlope)
        }
    }
    /// Keras 2's spelling of the slope; its value is read into `negative_slope`.
    public static var legacyKeys: Set<String> { ["alpha"] }
    public var configuration: Configuration { Configuration(negativeSlope: negativeSlope) }
    public convenience init(configuration c: Configuration, name: String?) throws { self.init(negativeSlope: c.negativeSlope, name: name) }
}
