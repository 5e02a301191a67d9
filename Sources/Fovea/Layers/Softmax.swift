import Foundation

/// Keras `Softmax` over `axis` (default the last).
public final class Softmax: Layer, ConfigurableLayer {
    public let axis: Int
    public init(axis: Int = -1, name: String? = nil) {
        self.axis = axis
        super.init(name: name)
    }

    func resolvedAxis(_ rank: Int) throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 1 && a < rank else { throw FoveaError("\(name) (Softmax): axis \(axis) is not a non-batch axis of a rank-\(rank) input") }
        return a
    }

    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        _ = try resolvedAxis(inputShape.count)
        return inputShape
    }

    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor {
        let a = try resolvedAxis(input.rank)
        guard a != input.rank - 1 else { return input.softmax() }
        var order = Array(0..<input.rank)
        order.swapAt(a, input.rank - 1)
        return input.transposed(order).softmax().transposed(order)
    }

    public struct Configuration: Codable {
        public var axis: KerasInts = -1
        init(axis: Int) { self.axis = [axis] }
        public init(from decoder: Decoder) throws {
            axis = try decoder.container(keyedBy: CodingKeys.self).value(.axis, default: axis)
        }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(axis.values[0], forKey: .axis)
        }
        enum CodingKeys: String, CodingKey { case axis }
    }
    public var configuration: Configuration { Configuration(axis: axis) }
    public convenience init(configuration c: Configuration, name: String?) throws {
        guard c.axis.values.count == 1 else { throw FoveaError("softmax over several axes (\(c.axis.values)) is not implemented; one axis only") }
        self.init(axis: c.axis.values[0], name: name)
    }
}

extension Softmax: SoftmaxOutput {
    var endsInSoftmax: Bool { axis == -1 }
    func logits(_ input: Tensor, training: Bool) throws -> Tensor { endsInSoftmax ? input : try forward(input, training: training) }
}
