import Foundation

/// Keras `Rescaling`: `x · scale + offset` (`Rescaling(scale: 1 / 255)` maps bytes to [0, 1]).
public final class Rescaling: Layer, ConfigurableLayer {
    public let scale: Double
    public let offset: Double
    public init(scale: Double, offset: Double = 0, name: String? = nil) {
        self.scale = scale; self.offset = offset
        super.init(name: name)
    }

    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor {
        offset == 0 ? input * Float(scale) : input * Float(scale) + Float(offset)
    }

    public override func forwardFLOPs(inputShapes: [[Int]], outputShapes: [[Int]]) -> Double { 2 * Double(inputShapes[0].reduce(1, *)) }

    public struct Configuration: Codable {
        /// Kept in double precision: Keras writes `1/255` as `0.00392156862745098`.
        public var scale: Double
        public var offset: Double = 0
        init(scale: Double, offset: Double) { self.scale = scale; self.offset = offset }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            guard let scale = try? c.decode(Double.self, forKey: .scale) else {
                throw FoveaError("config key 'scale' must be a number (a scale per channel is not implemented)")
            }
            self.scale = scale
            guard let offset = try? c.decodeIfPresent(Double.self, forKey: .offset) ?? 0 else {
                throw FoveaError("config key 'offset' must be a number (an offset per channel is not implemented)")
            }
            self.offset = offset
        }
    }
    public var configuration: Configuration { Configuration(scale: scale, offset: offset) }
    public convenience init(configuration c: Configuration, name: String?) throws { self.init(scale: c.scale, offset: c.offset, name: name) }
}
