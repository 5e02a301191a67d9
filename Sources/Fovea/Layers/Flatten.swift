import Foundation

/// Keras `Flatten`: `(batch, ...) → (batch, product)`. A channels-first input is flattened in
/// channels-last order, as Keras does, so weights carry over between layouts.
public final class Flatten: Layer, ConfigurableLayer {
    public let dataFormat: DataFormat
    public override var channelsFirst: Bool { dataFormat == .channelsFirst }
    public init(dataFormat: DataFormat = .channelsLast, name: String? = nil) {
        self.dataFormat = dataFormat
        super.init(name: name)
    }

    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        guard inputShape.count >= 1 else { throw shapeError(inputShape, "an input with a batch axis") }
        let rest = inputShape.dropFirst()
        return [inputShape[0], rest.contains(where: { $0 == nil }) ? nil : rest.reduce(1) { $0 * $1! }]
    }

    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor {
        var x = input
        if dataFormat == .channelsFirst && input.rank > 2 { x = x.transposed([0] + Array(2..<input.rank) + [1]) }
        return x.reshaped([input.shape.first ?? 1, -1])
    }

    public struct Configuration: Codable {
        public var dataFormat: DataFormat
        enum CodingKeys: String, CodingKey { case dataFormat = "data_format" }
        public init(dataFormat: DataFormat) { self.dataFormat = dataFormat }
        public init(from decoder: Decoder) throws {
            dataFormat = try decoder.container(keyedBy: CodingKeys.self).value(.dataFormat, default: .channelsLast)
        }
    }
    public var configuration: Configuration { Configuration(dataFormat: dataFormat) }
    public convenience init(configuration c: Configuration, name: String?) throws { self.init(dataFormat: c.dataFormat, name: name) }
}
