import Foundation

/// Keras `Activation`: applies an activation function.
public final class ActivationLayer: Layer, ConfigurableLayer {
    public let activation: Activation
    public init(_ activation: Activation, name: String? = nil) {
        self.activation = activation
        super.init(name: name)
    }
    public override class var defaultName: String { "activation" }
    public static var className: String { "Activation" }
    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor { activation(input) }

    public struct Configuration: Codable { public var activation: Activation }
    public var configuration: Configuration { Configuration(activation: activation) }
    public convenience init(configuration c: Configuration, name: String?) throws { self.init(c.activation, name: name) }
}
