import Foundation

/// Keras `BatchNormalization` over one axis (`axis: -1`, the channels of an NHWC image, or `1` for
/// channels first). In training it normalises with the batch's mean and (biased) variance and moves
/// its moving statistics towards them (`moving = moving · momentum + batch · (1 − momentum)`, applied
/// by the training step once the step has succeeded); at inference it uses the moving statistics.
/// A layer with `trainable = false` always runs in inference mode (Keras 3's rule for fine-tuning).
/// Variables in Keras's order: `gamma` (with `scale`), `beta` (with `center`), then the
/// non-trainable `moving_mean` and `moving_variance`.
public final class BatchNormalization: Layer, ConfigurableLayer {
    public let axis: Int
    public let momentum: Float
    public let epsilon: Float
    public let center: Bool
    public let scale: Bool
    public let betaInitializer: Initializer, gammaInitializer: Initializer
    public let movingMeanInitializer: Initializer, movingVarianceInitializer: Initializer
    public let betaRegularizer: Regularizer?, gammaRegularizer: Regularizer?
    public let betaConstraint: Constraint?, gammaConstraint: Constraint?
    public private(set) var gamma: Variable?
    public private(set) var beta: Variable?
    public private(set) var movingMean: Variable!
    public private(set) var movingVariance: Variable!
    /// Batch statistics of training calls, waiting for the training step to commit them.
    private var pendingStatistics: [(mean: Tensor, variance: Tensor)] = []

    public init(axis: Int = -1, momentum: Float = 0.99, epsilon: Float = 1e-3, center: Bool = true, scale: Bool = true,
                betaInitializer: Initializer = .zeros, gammaInitializer: Initializer = .ones,
                movingMeanInitializer: Initializer = .zeros, movingVarianceInitializer: Initializer = .ones,
                betaRegularizer: Regularizer? = nil, gammaRegularizer: Regularizer? = nil,
                betaConstraint: Constraint? = nil, gammaConstraint: Constraint? = nil, name: String? = nil) {
        self.axis = axis; self.momentum = momentum; self.epsilon = epsilon; self.center = center; self.scale = scale
        self.betaInitializer = betaInitializer; self.gammaInitializer = gammaInitializer
        self.movingMeanInitializer = movingMeanInitializer; self.movingVarianceInitializer = movingVarianceInitializer
        self.betaRegularizer = betaRegularizer; self.gammaRegularizer = gammaRegularizer
        self.betaConstraint = betaConstraint; self.gammaConstraint = gammaConstraint
        super.init(name: name)
    }

    /// The normalised axis of a rank-`rank` input.
    func resolvedAxis(_ rank: Int) throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 1 && a < rank else { throw FoveaError("\(name) (BatchNormalization): axis \(axis) is not a non-batch axis of a rank-\(rank) input") }
        return a
    }

    public override var channelsFirst: Bool { axis == 1 }

    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        let a = try resolvedAxis(inputShape.count)
        guard inputShape[a] != nil else { throw shapeError(inputShape, "a known size on axis \(axis)") }
        guard epsilon > 0, momentum >= 0, momentum <= 1 else {
            throw FoveaError("\(name) (BatchNormalization): epsilon must be positive and momentum in [0, 1]; got \(epsilon), \(momentum)")
        }
        return inputShape
    }

    public override func build(inputShape: [Int?]) throws {
        let channels = inputShape[try resolvedAxis(inputShape.count)]!
        if scale { gamma = try addWeight("gamma", shape: [channels], initializer: gammaInitializer, regularizer: gammaRegularizer, constraint: gammaConstraint) }
        if center { beta = try addWeight("beta", shape: [channels], initializer: betaInitializer, regularizer: betaRegularizer, constraint: betaConstraint) }
        movingMean = try addWeight("moving_mean", shape: [channels], initializer: movingMeanInitializer, trainable: false)
        movingVariance = try addWeight("moving_variance", shape: [channels], initializer: movingVarianceInitializer, trainable: false)
    }

    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor {
        let a = try resolvedAxis(input.rank)
        // The kernels normalise the last axis; another axis is moved there and back.
        var order = Array(0..<input.rank)
        order.remove(at: a)
        order.append(a)
        let moved = a == input.rank - 1 ? input : input.transposed(order)
        let y: Tensor
        if training && trainable {
            let result = Tensor.batchNormalizationTraining(moved, gamma: gamma?.tracked, beta: beta?.tracked, epsilon: epsilon)
            pendingStatistics.append((result.mean, result.variance))
            y = result.output
        } else {
            y = Tensor.batchNormalizationInference(moved, mean: movingMean.value, variance: movingVariance.value,
                                                   gamma: gamma?.tracked, beta: beta?.tracked, epsilon: epsilon)
        }
        guard a != input.rank - 1 else { return y }
        var back = [Int](repeating: 0, count: input.rank)
        for (i, axis) in order.enumerated() { back[axis] = i }
        return y.transposed(back)
    }

    /// Moves the moving statistics towards each training call's batch statistics, as Keras does in its call.
    public override func commitStateUpdates() {
        for (mean, variance) in pendingStatistics {
            movingMean.value = movingMean.value * momentum + mean * (1 - momentum)
            movingVariance.value = movingVariance.value * momentum + variance * (1 - momentum)
        }
        pendingStatistics.removeAll()
    }

    public override func discardStateUpdates() { pendingStatistics.removeAll() }

    public override func forwardFLOPs(inputShapes: [[Int]], outputShapes: [[Int]]) -> Double { 2 * Double(inputShapes[0].reduce(1, *)) }

    /// The per-channel scale and shift this layer applies at inference (`y = x · scale + shift`), which
    /// a convolution before it can absorb into its weights.
    var inferenceAffine: (mean: Tensor, variance: Tensor, gamma: Tensor?, beta: Tensor?) {
        (movingMean.value, movingVariance.value, gamma?.value, beta?.value)
    }

    public struct Configuration: Codable {
        public var axis = -1
        public var momentum: Float = 0.99
        public var epsilon: Float = 1e-3
        public var center = true
        public var scale = true
        public var betaInitializer: Initializer = .zeros
        public var gammaInitializer: Initializer = .ones
        public var movingMeanInitializer: Initializer = .zeros
        public var movingVarianceInitializer: Initializer = .ones
        public var betaRegularizer: Regularizer?
        public var gammaRegularizer: Regularizer?
        public var betaConstraint: Constraint?
        public var gammaConstraint: Constraint?
        enum CodingKeys: String, CodingKey {
            case axis, momentum, epsilon, center, scale
            case betaInitializer = "beta_initializer", gammaInitializer = "gamma_initializer"
            case movingMeanInitializer = "moving_mean_initializer", movingVarianceInitializer = "moving_variance_initializer"
            case betaRegularizer = "beta_regularizer", gammaRegularizer = "gamma_regularizer"
            case betaConstraint = "beta_constraint", gammaConstraint = "gamma_constraint"
        }
        init(_ l: BatchNormalization) {
            axis = l.axis; momentum = l.momentum; epsilon = l.epsilon; center = l.center; scale = l.scale
            betaInitializer = l.betaInitializer; gammaInitializer = l.gammaInitializer
            movingMeanInitializer = l.movingMeanInitializer; movingVarianceInitializer = l.movingVarianceInitializer
            betaRegularizer = l.betaRegularizer; gammaRegularizer = l.gammaRegularizer
            betaConstraint = l.betaConstraint; gammaConstraint = l.gammaConstraint
        }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            // Keras accepts a list of axes; Fovea normalises over one.
            let axes = try c.value(.axis, default: KerasInts([axis])).values
            guard axes.count == 1 else { throw FoveaError("config key 'axis': normalising over several axes (\(axes)) is not implemented; one axis only") }
            axis = axes[0]
            momentum = try c.value(.momentum, default: momentum)
            epsilon = try c.value(.epsilon, default: epsilon)
            center = try c.value(.center, default: center)
            scale = try c.value(.scale, default: scale)
            betaInitializer = try c.value(.betaInitializer, default: betaInitializer)
            gammaInitializer = try c.value(.gammaInitializer, default: gammaInitializer)
            movingMeanInitializer = try c.value(.movingMeanInitializer, default: movingMeanInitializer)
            movingVarianceInitializer = try c.value(.movingVarianceInitializer, default: movingVarianceInitializer)
            betaRegularizer = try c.decodeIfPresent(Regularizer.self, forKey: .betaRegularizer)
            gammaRegularizer = try c.decodeIfPresent(Regularizer.self, forKey: .gammaRegularizer)
            betaConstraint = try c.decodeIfPresent(Constraint.self, forKey: .betaConstraint)
            gammaConstraint = try c.decodeIfPresent(Constraint.self, forKey: .gammaConstraint)
        }
    }

    /// Synchronized (multi-device) batch norm and batch renormalization are not implemented.
    public static var acceptedDefaults: [String: JSONValue] {
        ["synchronized": false, "renorm": false, "renorm_clipping": nil, "renorm_momentum": 0.99]
    }
    public var configuration: Configuration { Configuration(self) }
    public convenience init(configuration c: Configuration, name: String?) throws {
        self.init(axis: c.axis, momentum: c.momentum, epsilon: c.epsilon, center: c.center, scale: c.scale,
                  betaInitializer: c.betaInitializer, gammaInitializer: c.gammaInitializer,
                  movingMeanInitializer: c.movingMeanInitializer, movingVarianceInitializer: c.movingVarianceInitializer,
                  betaRegularizer: c.betaRegularizer, gammaRegularizer: c.gammaRegularizer,
                  betaConstraint: c.betaConstraint, gammaConstraint: c.gammaConstraint, name: name)
    }
}
