import Foundation

/// Keras `Reshape`: each sample reshaped to `targetShape` (batch axis excluded; one entry may be −1,
/// inferred from the rest).
public final class Reshape: Layer, ConfigurableLayer {
    public let targetShape: [Int]
    public init(targetShape: [Int], name: String? = nil) {
        self.targetShape = targetShape
        super.init(name: name)
    }
    public convenience init(_ targetShape: [Int], name: String? = nil) { self.init(targetShape: targetShape, name: name) }

    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        guard inputShape.count >= 1 else { throw shapeError(inputShape, "an input with a batch axis") }
        let unknown = targetShape.filter { $0 == -1 }.count
        guard unknown <= 1, targetShape.allSatisfy({ $0 > 0 || $0 == -1 }) else {
            throw FoveaError("\(name) (Reshape): target shape \(targetShape) must hold positive sizes and at most one -1")
        }
        try ArchitectureLimits.checkShape([nil] + targetShape.map { $0 > 0 ? $0 : nil }, "\(name) (Reshape): target shape")
        let known = targetShape.filter { $0 > 0 }.reduce(1, *)
        let rest = inputShape.dropFirst()
        guard !rest.contains(where: { $0 == nil }) else {
            return [inputShape[0]] + targetShape.map { $0 == -1 ? nil : $0 }
        }
        let total = rest.reduce(1) { $0 * $1! }
        if unknown == 1 {
            guard known > 0, total % known == 0 else { throw shapeError(inputShape, "a size divisible by \(known) to reshape to \(targetShape)") }
            return [inputShape[0]] + targetShape.map { $0 == -1 ? total / known : $0 }
        }
        guard total == known else { throw shapeError(inputShape, "\(known) values per sample to reshape to \(targetShape)") }
        return [inputShape[0]] + targetShape.map { Optional($0) }
    }

    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor {
        let shape = try outputShape(for: input.optionalShape)
        return input.reshaped([input.shape[0]] + shape.dropFirst().map { $0! })
    }

    public struct Configuration: Codable {
        public var targetShape: [Int]
        enum CodingKeys: String, CodingKey { case targetShape = "target_shape" }
    }
    public var configuration: Configuration { Configuration(targetShape: targetShape) }
    public convenience init(configuration c: Configuration, name: String?) throws { self.init(targetShape: c.targetShape, name: name) }
}
