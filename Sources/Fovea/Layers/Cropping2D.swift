import Foundation

/// Keras `Cropping2D`: rows and columns cut from the edges of the image.
public final class Cropping2D: Layer, ConfigurableLayer {
    public let cropping: Margins2D
    public let dataFormat: DataFormat
    public override var channelsFirst: Bool { dataFormat == .channelsFirst }

    public init(cropping: Margins2D = Margins2D(0), dataFormat: DataFormat = .channelsLast, name: String? = nil) {
        self.cropping = cropping; self.dataFormat = dataFormat
        super.init(name: name)
    }
    public convenience init(cropping: Int, dataFormat: DataFormat = .channelsLast, name: String? = nil) {
        self.init(cropping: Margins2D(cropping), dataFormat: dataFormat, name: name)
    }

    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        guard inputShape.count == 4 else { throw shapeError(inputShape, "a rank-4 image input") }
        guard cropping.isNonNegative else { throw FoveaError("\(name) (Cropping2D): cropping must not be negative, got \(cropping)") }
        var out = inputShape
        let (h, w) = dataFormat.heightWidth
        out[h] = out[h].map { $0 - cropping.top - cropping.bottom }
        out[w] = out[w].map { $0 - cropping.left - cropping.right }
        if let rows = out[h], rows < 1 { throw shapeError(inputShape, "more rows than the \(cropping.top + cropping.bottom) cropped") }
        if let columns = out[w], columns < 1 { throw shapeError(inputShape, "more columns than the \(cropping.left + cropping.right) cropped") }
        return out
    }

    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor {
        _ = try outputShape(for: input.optionalShape)
        return input.cropped(top: cropping.top, bottom: cropping.bottom, left: cropping.left, right: cropping.right, axes: dataFormat.spatialAxes)
    }

    public struct Configuration: Codable {
        public var cropping = Margins2D(0)
        public var dataFormat: DataFormat = .channelsLast
        enum CodingKeys: String, CodingKey { case cropping, dataFormat = "data_format" }
        init(cropping: Margins2D, dataFormat: DataFormat) { self.cropping = cropping; self.dataFormat = dataFormat }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            cropping = try c.value(.cropping, default: cropping)
            dataFormat = try c.value(.dataFormat, default: dataFormat)
        }
    }
    public var configuration: Configuration { Configuration(cropping: cropping, dataFormat: dataFormat) }
    public convenience init(configuration c: Configuration, name: String?) throws {
        self.init(cropping: c.cropping, dataFormat: c.dataFormat, name: name)
    }
}
