import Foundation

/// Keras `PReLU`: a leaky ReLU whose negative slope `alpha` is learned, one per input value (batch
/// axis excluded) or shared along `sharedAxes` (1-based, as in Keras: `[1, 2]` shares over height
/// and width of an NHWC image, one slope per channel).
public final class PReLU: Layer, ConfigurableLayer {
    public let alphaInitializer: Initializer
    public let alphaRegularizer: Regularizer?
    public let alphaConstraint: Constraint?
    public let sharedAxes: [Int]?
    public private(set) var alpha: Variable?

    public init(alphaInitializer: Initializer = .zeros, alphaRegularizer: Regularizer? = nil, alphaConstraint: Constraint? = nil,
                sharedAxes: [Int]? = nil, name: String? = nil) {
        self.alphaInitializer = alphaInitializer; self.alphaRegularizer = alphaRegularizer
        self.alphaConstraint = alphaConstraint; self.sharedAxes = sharedAxes
        super.init(name: name)
    }

    func alphaShape(_ inputShape: [Int?]) throws -> [Int] {
        guard inputShape.count >= 2 else { throw shapeError(inputShape, "an input with a batch axis and at least one more") }
        return try inputShape.dropFirst().enumerated().map { i, dim in
            if sharedAxes?.contains(i + 1) == true { return 1 }
            guard let dim else { throw shapeError(inputShape, "known sizes on every axis PReLU does not share") }
            return dim
        }
    }

    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        if let bad = sharedAxes?.first(where: { $0 < 1 || $0 >= inputShape.count }) {
            throw FoveaError("\(name) (PReLU): shared axis \(bad) is not an axis of input \(formatShape(inputShape)) (1 to \(inputShape.count - 1))")
        }
        _ = try alphaShape(inputShape)
        return inputShape
    }

    public override func build(inputShape: [Int?]) throws {
        alpha = try addWeight("alpha", shape: try alphaShape(inputShape), initializer: alphaInitializer,
                          regularizer: alphaRegularizer, constraint: alphaConstraint)
    }

    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor { input.prelu(alpha: alpha!.tracked) }

    public struct Configuration: Codable {
        public var alphaInitializer: Initializer = .zeros
        public var alphaRegularizer: Regularizer?
        public var alphaConstraint: Constraint?
        public var sharedAxes: [Int]?
        enum CodingKeys: String, CodingKey {
            case alphaInitializer = "alpha_initializer", alphaRegularizer = "alpha_regularizer"
            case alphaConstraint = "alpha_constraint", sharedAxes = "shared_axes"
        }
        init() {}
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            alphaInitializer = try c.value(.alphaInitializer, default: alphaInitializer)
            alphaRegularizer = try c.decodeIfPresent(Regularizer.self, forKey: .alphaRegularizer)
            alphaConstraint = try c.decodeIfPresent(Constraint.self, forKey: .alphaConstraint)
            sharedAxes = try c.decodeIfPresent(KerasInts.self, forKey: .sharedAxes)?.values
        }
    }
    public var configuration: Configuration {
        var c = Configuration()
        c.alphaInitializer = alphaInitializer; c.alphaRegularizer = alphaRegularizer; c.alphaConstraint = alphaConstraint
        c.sharedAxes = sharedAxes
        return c
    }
    public convenience init(configuration c: Configuration, name: String?) throws {
        self.init(alphaInitializer: c.alphaInitializer, alphaRegularizer: c.alphaRegularizer, alphaConstraint: c.alphaConstraint,
                  sharedAxes: c.sharedAxes, name: name)
    }
}
