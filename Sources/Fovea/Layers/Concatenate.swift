import Foundation

/// Keras `Concatenate`: its inputs joined along `axis` (default the last: an NHWC channel concat,
/// as Inception joins its branches). Every other axis must agree.
public final class Concatenate: Layer, ConfigurableLayer {
    public let axis: Int
    public init(axis: Int = -1, name: String? = nil) {
        self.axis = axis
        super.init(name: name)
    }

    public override var inputCountRange: ClosedRange<Int> { 1...Int.max }

    func resolvedAxis(_ rank: Int) throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 1 && a < rank else {
            throw FoveaError("\(name) (Concatenate): axis \(axis) is not a non-batch axis of rank-\(rank) inputs")
        }
        return a
    }

    public override func outputShapes(for inputShapes: [[Int?]]) throws -> [[Int?]] {
        let rank = inputShapes[0].count
        let a = try resolvedAxis(rank)
        let shapes = inputShapes.map(formatShape).joined(separator: ", ")
        guard inputShapes.allSatisfy({ $0.count == rank }) else {
            throw FoveaError("\(name) (Concatenate): inputs of different ranks cannot be joined: \(shapes)")
        }
        var output = inputShapes[0]
        for shape in inputShapes.dropFirst() {
            for i in 1..<rank where i != a {
                if let x = output[i], let y = shape[i], x != y {
                    throw FoveaError("\(name) (Concatenate): inputs must agree on every axis but \(axis) to be joined along it; got \(shapes)")
                }
                output[i] = output[i] ?? shape[i]
            }
            output[a] = output[a].flatMap { x in shape[a].map { x + $0 } }
        }
        return [output]
    }

    public override func forward(_ inputs: [Tensor], training: Bool) throws -> [Tensor] {
        [Tensor.concatenate(inputs, alongAxis: try resolvedAxis(inputs[0].rank))]
    }

    public struct Configuration: Codable {
        public var axis = -1
        init(axis: Int) { self.axis = axis }
        public init(from decoder: Decoder) throws {
            axis = try decoder.container(keyedBy: CodingKeys.self).value(.axis, default: axis)
        }
    }
    public var configuration: Configuration { Configuration(axis: axis) }
    public convenience init(configuration c: Configuration, name: String?) throws { self.init(axis: c.axis, name: name) }
}
