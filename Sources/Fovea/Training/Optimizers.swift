import Foundation

/// A learning rate as a function of the optimizer's step count (Keras `LearningRateSchedule`).
public enum LearningRateSchedule: Sendable, Equatable {
    case constant(Float)
    /// `initial · rate^(step / decaySteps)`, the exponent floored when `staircase`.
    case exponentialDecay(initial: Float, decaySteps: Int, decayRate: Float, staircase: Bool = false)
    /// `values[0]` while `step ≤ boundaries[0]`, `values[1]` while `step ≤ boundaries[1]`, …
    case piecewiseConstant(boundaries: [Int], values: [Float])

    public func callAsFunction(_ step: Int) -> Float {
        switch self {
        case .constant(let lr): return lr
        case .exponentialDecay(let initial, let decaySteps, let rate, let staircase):
            var p = Double(step) / Double(decaySteps)
            if staircase { p = p.rounded(.down) }
            return Float(Double(initial) * Foundation.pow(Double(rate), p))
        case .piecewiseConstant(let boundaries, let values):
            precondition(values.count == boundaries.count + 1, "piecewiseConstant needs one more value than boundaries")
            for (i, b) in boundaries.enumerated() where step <= b { return values[i] }
            return values[values.count - 1]
        }
    }
}

/// The base of Keras's optimizers: per-variable state slots, a step counter, a learning rate
/// (constant or scheduled). `apply` updates variables in place and then applies their constraints
/// through the model.
open class Optimizer {
    /// The schedule; setting ``learningRate`` replaces it with a constant.
    public var schedule: LearningRateSchedule
    /// Number of updates applied so far (Keras `iterations`).
    public internal(set) var iterations = 0
    var slots: [ObjectIdentifier: [Tensor]] = [:]

    public init(schedule: LearningRateSchedule) { self.schedule = schedule }

    /// The learning rate for the next step.
    public var learningRate: Float {
        get { schedule(iterations) }
        set { schedule = .constant(newValue) }
    }

    /// Keras's name (`SGD`, `RMSprop`, `Adam`).
    open var name: String { String(describing: type(of: self)) }
    /// Number of state tensors per variable.
    open var slotCount: Int { 0 }
    /// The names of the state tensors per variable, in slot order: Keras's variable suffixes
    /// (`momentum`, `velocity`, …); model files store each as `optimizer/<variable>/<slot>`.
    open var slotNames: [String] { (0..<slotCount).map { "slot\($0)" } }
    /// The hyperparameters besides the learning rate, as Keras's `get_config()` names them.
    open var hyperparameters: [String: Any] { [:] }
    /// One update of `w` with gradient `g`, given this variable's slots and the learning rate.
    open func update(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ count: Int,
                     slots: [UnsafeMutablePointer<Float>], learningRate: Float, step: Int) {}

    /// Applies one step to every variable with its gradient.
    public func apply(gradients: [Tensor], to variables: [Variable]) {
        precondition(gradients.count == variables.count, "\(gradients.count) gradients for \(variables.count) variables")
        let lr = learningRate
        for (g, v) in zip(gradients, variables) {
            precondition(g.shape == v.value.shape, "gradient \(g.shape) for variable \(v.name) of shape \(v.value.shape)")
            let key = ObjectIdentifier(v)
            var state = slots[key] ?? (0..<slotCount).map { _ in Tensor.zeros(v.value.shape) }
            for i in state.indices { state[i].makeUnique() }
            v.value.makeUnique()
            update(v.value.storage.pointer, g.storage.pointer, g.count, slots: state.map(\.storage.pointer),
                   learningRate: lr, step: iterations)
            slots[key] = state
        }
        iterations += 1
    }

    /// Number of scalars of optimizer state.
    public var stateParameterCount: Int { slots.values.reduce(0) { $0 + $1.reduce(0) { $0 + $1.count } } }
}

/// Keras `SGD`: `w −= lr·g`, or with momentum `m = μ·m − lr·g; w += m` (Nesterov: `w += μ·m − lr·g`).
public final class SGD: Optimizer {
    public let momentum: Float
    public let nesterov: Bool

    public convenience init(learningRate: Float = 0.01, momentum: Float = 0, nesterov: Bool = false) {
        self.init(schedule: .constant(learningRate), momentum: momentum, nesterov: nesterov)
    }
    public init(schedule: LearningRateSchedule, momentum: Float = 0, nesterov: Bool = false) {
        self.momentum = momentum; self.nesterov = nesterov
        super.init(schedule: schedule)
    }

    public override var slotCount: Int { slotNames.count }
    public override var slotNames: [String] { momentum != 0 ? ["momentum"] : [] }
    public override var hyperparameters: [String: Any] { ["momentum": momentum, "nesterov": nesterov] }
    public override func update(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ count: Int,
                                slots: [UnsafeMutablePointer<Float>], learningRate lr: Float, step: Int) {
        guard momentum != 0 else { for i in 0..<count { w[i] -= lr * g[i] }; return }
        let m = slots[0]
        for i in 0..<count {
            m[i] = momentum * m[i] - lr * g[i]
            w[i] += nesterov ? momentum * m[i] - lr * g[i] : m[i]
        }
    }
}

/// Keras `RMSprop`: `v = ρ·v + (1−ρ)·g²`; `w −= lr·g / sqrt(v + ε)` (centered: `v − ḡ² + ε`);
/// with momentum the increment goes through `m = μ·m + increment`.
public final class RMSprop: Optimizer {
    public let rho: Float, momentum: Float, epsilon: Float
    public let centered: Bool

    public convenience init(learningRate: Float = 0.001, rho: Float = 0.9, momentum: Float = 0, epsilon: Float = 1e-7, centered: Bool = false) {
        self.init(schedule: .constant(learningRate), rho: rho, momentum: momentum, epsilon: epsilon, centered: centered)
    }
    public init(schedule: LearningRateSchedule, rho: Float = 0.9, momentum: Float = 0, epsilon: Float = 1e-7, centered: Bool = false) {
        self.rho = rho; self.momentum = momentum; self.epsilon = epsilon; self.centered = centered
        super.init(schedule: schedule)
    }

    public override var slotCount: Int { slotNames.count }
    public override var slotNames: [String] { ["velocity"] + (momentum > 0 ? ["momentum"] : []) + (centered ? ["average_gradient"] : []) }
    public override var hyperparameters: [String: Any] { ["rho": rho, "momentum": momentum, "epsilon": epsilon, "centered": centered] }
    public override func update(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ count: Int,
                                slots: [UnsafeMutablePointer<Float>], learningRate lr: Float, step: Int) {
        let v = slots[0]
        let m: UnsafeMutablePointer<Float>? = momentum > 0 ? slots[1] : nil
        let avg: UnsafeMutablePointer<Float>? = centered ? slots[slots.count - 1] : nil
        for i in 0..<count {
            let gi = g[i]
            v[i] = rho * v[i] + (1 - rho) * gi * gi
            var denominator = v[i] + epsilon
            if let avg {
                avg[i] = rho * avg[i] + (1 - rho) * gi
                denominator = v[i] - avg[i] * avg[i] + epsilon
            }
            let increment = lr * gi / denominator.squareRoot()
            if let m { m[i] = momentum * m[i] + increment; w[i] -= m[i] } else { w[i] -= increment }
        }
    }
}

/// Keras `Adam`: `m += (g − m)(1−β₁)`, `v += (g² − v)(1−β₂)`,
/// `w −= lr·sqrt(1−β₂ᵗ)/(1−β₁ᵗ) · m / (sqrt(v) + ε)`; AMSGrad uses the running maximum of `v`.
public final class Adam: Optimizer {
    public let beta1: Float, beta2: Float, epsilon: Float
    public let amsgrad: Bool

    public convenience init(learningRate: Float = 0.001, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7, amsgrad: Bool = false) {
        self.init(schedule: .constant(learningRate), beta1: beta1, beta2: beta2, epsilon: epsilon, amsgrad: amsgrad)
    }
    public init(schedule: LearningRateSchedule, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7, amsgrad: Bool = false) {
        self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon; self.amsgrad = amsgrad
        super.init(schedule: schedule)
    }

    public override var slotCount: Int { slotNames.count }
    public override var slotNames: [String] { ["momentum", "velocity"] + (amsgrad ? ["velocity_hat"] : []) }
    public override var hyperparameters: [String: Any] { ["beta_1": beta1, "beta_2": beta2, "epsilon": epsilon, "amsgrad": amsgrad] }
    public override func update(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ count: Int,
                                slots: [UnsafeMutablePointer<Float>], learningRate lr: Float, step: Int) {
        let t = Float(step + 1)
        let alpha = lr * (1 - Foundation.pow(beta2, t)).squareRoot() / (1 - Foundation.pow(beta1, t))
        let m = slots[0], v = slots[1]
        let vHat: UnsafeMutablePointer<Float>? = amsgrad ? slots[2] : nil
        for i in 0..<count {
            let gi = g[i]
            m[i] += (gi - m[i]) * (1 - beta1)
            v[i] += (gi * gi - v[i]) * (1 - beta2)
            var vi = v[i]
            if let vHat { vHat[i] = Swift.max(vHat[i], vi); vi = vHat[i] }
            w[i] -= (m[i] * alpha) / (vi.squareRoot() + epsilon)
        }
    }
}

extension Optimizer {
    /// An optimizer by Keras's name with its defaults (`sgd`, `rmsprop`, `adam`), optionally with a learning rate.
    public static func named(_ name: String, learningRate: Float? = nil) throws -> Optimizer {
        switch name.lowercased() {
        case "sgd": return SGD(learningRate: learningRate ?? 0.01)
        case "rmsprop": return RMSprop(learningRate: learningRate ?? 0.001)
        case "adam": return Adam(learningRate: learningRate ?? 0.001)
        default: throw FoveaError("unknown optimizer '\(name)'; use sgd, rmsprop or adam")
        }
    }
}
