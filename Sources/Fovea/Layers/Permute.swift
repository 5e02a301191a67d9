import Foundation

/// Keras `Permute`: the non-batch axes reordered, `dims` numbering them from 1 (`Permute([2, 1])`
/// swaps the two axes after the batch).
public final class Permute: Layer, ConfigurableLayer {
    public let dims: [Int]
    public init(dims: [Int], name: String? = nil) {
        self.dims = dims
        super.init(name: name)
    }
    public convenience init(_ dims: [Int], name: String? = nil) { self.init(dims: dims, name: name) }

    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        guard dims.sorted() == Array(1...Swift.max(1, dims.count)), inputShape.count == dims.count + 1 else {
            throw FoveaError("\(name) (Permute): dims \(dims) must be a permutation of 1…\(inputShape.count - 1) for input \(formatShape(inputShape))")
        }
        return [inputShape[0]] + dims.map { inputShape[$0] }
    }

    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor {
        _ = try outputShape(for: input.optionalShape)
        return input.transposed([0] + dims)
    }

    public struct Configuration: Codable { public var dims: [Int] }
    public var configuration: Configuration { Configuration(dims: dims) }
    public convenience init(configuration c: Configuration, name: String?) throws { self.init(dims: c.dims, name: name) }
}
