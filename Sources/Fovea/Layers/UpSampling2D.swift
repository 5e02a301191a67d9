import Foundation

/// Keras `UpSampling2D`: each row repeated `size.0` times and each column `size.1` times (nearest),
/// or the image resized by those factors with Keras's bilinear interpolation.
public final class UpSampling2D: Layer, ConfigurableLayer {
    public let size: (Int, Int)
    public let dataFormat: DataFormat
    public let interpolation: UpsamplingInterpolation
    public override var channelsFirst: Bool { dataFormat == .channelsFirst }

    public init(size: (Int, Int) = (2, 2), dataFormat: DataFormat = .channelsLast, interpolation: UpsamplingInterpolation = .nearest,
                name: String? = nil) {
        self.size = size; self.dataFormat = dataFormat; self.interpolation = interpolation
        super.init(name: name)
    }
    public convenience init(size: Int, dataFormat: DataFormat = .channelsLast, interpolation: UpsamplingInterpolation = .nearest,
                            name: String? = nil) {
        self.init(size: (size, size), dataFormat: dataFormat, interpolation: interpolation, name: name)
    }

    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        guard inputShape.count == 4 else { throw shapeError(inputShape, "a rank-4 image input") }
        guard size.0 >= 1, size.1 >= 1 else { throw FoveaError("\(name) (UpSampling2D): size must be positive, got \(size)") }
        var out = inputShape
        let (h, w) = dataFormat.heightWidth
        out[h] = out[h].map { $0 * size.0 }
        out[w] = out[w].map { $0 * size.1 }
        return out
    }

    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor {
        input.upsampled(rows: size.0, columns: size.1, interpolation: interpolation, axes: dataFormat.spatialAxes)
    }

    public struct Configuration: Codable {
        public var size: KerasInts = 2
        public var dataFormat: DataFormat = .channelsLast
        public var interpolation: UpsamplingInterpolation = .nearest
        enum CodingKeys: String, CodingKey { case size, dataFormat = "data_format", interpolation }
        init(_ l: UpSampling2D) { size = KerasInts(l.size); dataFormat = l.dataFormat; interpolation = l.interpolation }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            size = try c.value(.size, default: size)
            dataFormat = try c.value(.dataFormat, default: dataFormat)
            interpolation = try c.value(.interpolation, default: interpolation)
        }
    }
    public var configuration: Configuration { Configuration(self) }
    public convenience init(configuration c: Configuration, name: String?) throws {
        self.init(size: try c.size.pair("size"), dataFormat: c.dataFormat, interpolation: c.interpolation, name: name)
    }
}
