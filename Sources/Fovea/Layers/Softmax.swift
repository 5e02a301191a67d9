import Foundation

/// Keras `Softmax` (last axis).
public final class Softmax: Layer, ConfigurableLayer {
    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor { input.softmax() }

    public struct Configuration: Codable {}
    public static var acceptedDefaults: [String: JSONValue] { ["axis": -1] }
    public var configuration: Configuration { Configuration() }
    public convenience init(configuration: Configuration, name: String?) throws { self.init(name: name) }
}
