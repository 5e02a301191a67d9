import Foundation

/// The four margins of Keras's `ZeroPadding2D(padding:)` and `Cropping2D(cropping:)`: written
/// `[[top, bottom], [left, right]]`; read from that, from `[rows, columns]` (symmetric) or from
/// one integer (all four).
public struct Margins2D: Codable, Sendable, Equatable {
    public var top, bottom, left, right: Int
    public init(top: Int, bottom: Int, left: Int, right: Int) { self.top = top; self.bottom = bottom; self.left = left; self.right = right }
    public init(_ all: Int) { self.init(top: all, bottom: all, left: all, right: all) }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let all = try? c.decode(Int.self) { self.init(all); return }
        if let pair = try? c.decode([Int].self), pair.count == 2 { self.init(top: pair[0], bottom: pair[0], left: pair[1], right: pair[1]); return }
        guard let pairs = try? c.decode([[Int]].self), pairs.count == 2, pairs.allSatisfy({ $0.count == 2 }) else {
            throw FoveaError("margins must be an integer, [rows, columns] or [[top, bottom], [left, right]]")
        }
        self.init(top: pairs[0][0], bottom: pairs[0][1], left: pairs[1][0], right: pairs[1][1])
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode([[top, bottom], [left, right]])
    }

    var isNonNegative: Bool { top >= 0 && bottom >= 0 && left >= 0 && right >= 0 }
}

/// The spatial axes of an image tensor in a data format.
extension DataFormat {
    var spatialAxes: SpatialAxes { self == .channelsLast ? .channelsLast : .channelsFirst }
    /// The height and width axes of a rank-4 shape.
    var heightWidth: (Int, Int) { self == .channelsLast ? (1, 2) : (2, 3) }
}

/// Keras `ZeroPadding2D`: rows and columns of zeros around the image.
public final class ZeroPadding2D: Layer, ConfigurableLayer {
    public let padding: Margins2D
    public let dataFormat: DataFormat
    public override var channelsFirst: Bool { dataFormat == .channelsFirst }

    public init(padding: Margins2D = Margins2D(1), dataFormat: DataFormat = .channelsLast, name: String? = nil) {
        self.padding = padding; self.dataFormat = dataFormat
        super.init(name: name)
    }
    public convenience init(padding: Int, dataFormat: DataFormat = .channelsLast, name: String? = nil) {
        self.init(padding: Margins2D(padding), dataFormat: dataFormat, name: name)
    }

    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        guard inputShape.count == 4 else { throw shapeError(inputShape, "a rank-4 image input") }
        guard padding.isNonNegative else { throw FoveaError("\(name) (ZeroPadding2D): padding must not be negative, got \(padding)") }
        var out = inputShape
        let (h, w) = dataFormat.heightWidth
        out[h] = out[h].map { $0 + padding.top + padding.bottom }
        out[w] = out[w].map { $0 + padding.left + padding.right }
        return out
    }

    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor {
        input.zeroPadded(top: padding.top, bottom: padding.bottom, left: padding.left, right: padding.right, axes: dataFormat.spatialAxes)
    }

    public struct Configuration: Codable {
        public var padding = Margins2D(1)
        public var dataFormat: DataFormat = .channelsLast
        enum CodingKeys: String, CodingKey { case padding, dataFormat = "data_format" }
        init(padding: Margins2D, dataFormat: DataFormat) { self.padding = padding; self.dataFormat = dataFormat }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            padding = try c.value(.padding, default: padding)
            dataFormat = try c.value(.dataFormat, default: dataFormat)
        }
    }
    public var configuration: Configuration { Configuration(padding: padding, dataFormat: dataFormat) }
    public convenience init(configuration c: Configuration, name: String?) throws {
        self.init(padding: c.padding, dataFormat: c.dataFormat, name: name)
    }
}
