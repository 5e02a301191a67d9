import Foundation

/// Keras's weight initialisers. Fans follow Keras: for a kernel `[..., in, out]`, the receptive
/// field is the product of the leading dimensions.
public enum Initializer: Sendable, Equatable {
    case zeros, ones
    case constant(Float)
    case glorotUniform, glorotNormal, heNormal, heUniform, lecunNormal, lecunUniform
    case randomNormal(mean: Float, standardDeviation: Float)
    case randomUniform(min: Float, max: Float)
    /// A normal distribution cut at two standard deviations (values beyond are drawn again).
    case truncatedNormal(mean: Float, standardDeviation: Float)
    /// Keras's `VarianceScaling`, of which Glorot, He and LeCun are special cases.
    case varianceScaling(scale: Float, mode: VarianceScalingMode, distribution: VarianceScalingDistribution)

    /// Keras's name for the initializer (`glorot_uniform`, …).
    public var kerasName: String {
        switch self {
        case .zeros: return "zeros"
        case .ones: return "ones"
        case .constant: return "constant"
        case .glorotUniform: return "glorot_uniform"
        case .glorotNormal: return "glorot_normal"
        case .heNormal: return "he_normal"
        case .heUniform: return "he_uniform"
        case .lecunNormal: return "lecun_normal"
        case .lecunUniform: return "lecun_uniform"
        case .randomNormal: return "random_normal"
        case .randomUniform: return "random_uniform"
        case .truncatedNormal: return "truncated_normal"
        case .varianceScaling: return "variance_scaling"
        }
    }

    static func fans(_ shape: [Int]) -> (fanIn: Float, fanOut: Float) {
        switch shape.count {
        case 0: return (1, 1)
        case 1: return (Float(shape[0]), Float(shape[0]))
        case 2: return (Float(shape[0]), Float(shape[1]))
        default:
            let receptive = Float(shape.dropLast(2).reduce(1, *))
            return (Float(shape[shape.count - 2]) * receptive, Float(shape[shape.count - 1]) * receptive)
        }
    }

    /// Keras's VarianceScaling: truncated normal (std corrected by 0.8796…) or uniform.
    static func varianceScaling(_ shape: [Int], scale: Float, fan: Float, uniform: Bool, seed: UInt64) -> Tensor {
        let variance = scale / Swift.max(1, fan)
        if uniform {
            let limit = (3 * variance).squareRoot()
            return .uniform(shape, low: -limit, high: limit, seed: seed)
        }
        return .truncatedNormal(shape, standardDeviation: variance.squareRoot() / 0.87962566103423978, seed: seed)
    }

    public func make(shape: [Int], seed: UInt64) -> Tensor {
        let (fanIn, fanOut) = Initializer.fans(shape)
        switch self {
        case .zeros: return .zeros(shape)
        case .ones: return .ones(shape)
        case .constant(let v): return Tensor(repeating: v, shape: shape)
        case .glorotUniform: return Initializer.varianceScaling(shape, scale: 1, fan: (fanIn + fanOut) / 2, uniform: true, seed: seed)
        case .glorotNormal: return Initializer.varianceScaling(shape, scale: 1, fan: (fanIn + fanOut) / 2, uniform: false, seed: seed)
        case .heNormal: return Initializer.varianceScaling(shape, scale: 2, fan: fanIn, uniform: false, seed: seed)
        case .heUniform: return Initializer.varianceScaling(shape, scale: 2, fan: fanIn, uniform: true, seed: seed)
        case .lecunNormal: return Initializer.varianceScaling(shape, scale: 1, fan: fanIn, uniform: false, seed: seed)
        case .lecunUniform: return Initializer.varianceScaling(shape, scale: 1, fan: fanIn, uniform: true, seed: seed)
        case .randomNormal(let mean, let sd): return .normal(shape, mean: mean, standardDeviation: sd, seed: seed)
        case .randomUniform(let lo, let hi): return .uniform(shape, low: lo, high: hi, seed: seed)
        case .truncatedNormal(let mean, let sd): return .truncatedNormal(shape, mean: mean, standardDeviation: sd, seed: seed)
        case .varianceScaling(let scale, let mode, let distribution):
            let fan = mode == .fanIn ? fanIn : mode == .fanOut ? fanOut : (fanIn + fanOut) / 2
            switch distribution {
            case .truncatedNormal: return Initializer.varianceScaling(shape, scale: scale, fan: fan, uniform: false, seed: seed)
            case .uniform: return Initializer.varianceScaling(shape, scale: scale, fan: fan, uniform: true, seed: seed)
            case .untruncatedNormal:
                return .normal(shape, mean: 0, standardDeviation: (scale / Swift.max(1, fan)).squareRoot(), seed: seed)
            }
        }
    }
}

/// Which fan `VarianceScaling` divides by.
public enum VarianceScalingMode: String, Sendable, Equatable {
    case fanIn = "fan_in", fanOut = "fan_out", fanAvg = "fan_avg"
}

/// What `VarianceScaling` draws from.
public enum VarianceScalingDistribution: String, Sendable, Equatable {
    case truncatedNormal = "truncated_normal", untruncatedNormal = "untruncated_normal", uniform
}

/// A weight penalty added to the loss: `l1 · Σ|w| + l2 · Σw²` (Keras's L1, L2, L1L2).
public struct Regularizer: Sendable, Equatable {
    public let l1: Float
    public let l2: Float
    public init(l1: Float = 0, l2: Float = 0) { self.l1 = l1; self.l2 = l2 }
    public static func l1(_ factor: Float = 0.01) -> Regularizer { Regularizer(l1: factor) }
    public static func l2(_ factor: Float = 0.01) -> Regularizer { Regularizer(l2: factor) }
    public static func l1l2(l1: Float = 0, l2: Float = 0) -> Regularizer { Regularizer(l1: l1, l2: l2) }

    public func penalty(_ w: Tensor) -> Tensor {
        var total = Tensor(0)
        if l1 != 0 { total = total + w.abs().sum() * l1 }
        if l2 != 0 { total = total + w.squared().sum() * l2 }
        return total
    }
}

/// A projection applied to a weight after each optimizer update (Keras's constraints).
public enum Constraint: Sendable, Equatable {
    /// Rescales so the norm over `axes` is at most `maxValue`.
    case maxNorm(maxValue: Float = 2, axes: [Int] = [0])
    /// Zeroes negative entries.
    case nonNeg
    /// Rescales to unit norm over `axes`.
    case unitNorm(axes: [Int] = [0])

    public func apply(_ w: Tensor) -> Tensor {
        let epsilon: Float = 1e-7
        switch self {
        case .nonNeg:
            return w.map { $0 >= 0 ? $0 : 0 }
        case .maxNorm(let maxValue, let axes):
            let norms = w.map { $0 * $0 }.sumValues(alongAxes: axes).map { $0.squareRoot() }
            let scale = norms.map { Swift.min(Swift.max($0, 0), maxValue) / (epsilon + $0) }
            return Tensor.zipBroadcast(w, scale, *)
        case .unitNorm(let axes):
            let scale = w.map { $0 * $0 }.sumValues(alongAxes: axes).map { 1 / (epsilon + $0.squareRoot()) }
            return Tensor.zipBroadcast(w, scale, *)
        }
    }
}
