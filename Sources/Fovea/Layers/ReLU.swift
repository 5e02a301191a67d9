import Foundation

/// Keras `ReLU`.
public final class ReLU: Layer, ConfigurableLayer {
    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor { input.relu() }

    public struct Configuration: Codable {}
    /// `max_value`, `negative_slope` and `threshold` are not implemented yet: Keras's defaults only.
    public static var acceptedDefaults: [String: JSONValue] { ["negative_slope": 0.0, "threshold": 0.0] }
    public var configuration: Configuration { Configuration() }
    public convenience init(configuration: Configuration, name: String?) throws { self.init(name: name) }
}
