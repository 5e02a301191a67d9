import Foundation

/// Keras `ELU`: `x` where positive, `alpha · (eˣ − 1)` elsewhere.
public final class ELU: Layer, ConfigurableLayer {
    public let alpha: Float
    public init(alpha: Float = 1, name: String? = nil) {
        self.alpha = alpha
        super.init(name: name)
    }
    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor { input.elu(alpha: alpha) }

    public struct Configuration: Codable {
        public var alpha: Float = 1
        init(alpha: Float) { self.alpha = alpha }
        public init(from decoder: Decoder) throws {
            alpha = try decoder.container(keyedBy: CodingKeys.self).value(.alpha, default: alpha)
        }
    }
    public var configuration: Configuration { Configuration(alpha: alpha) }
    public convenience init(configuration c: Configuration, name: String?) throws { self.init(alpha: c.alpha, name: name) }
}
