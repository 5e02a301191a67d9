import Foundation

/// A number for a JSON config that reads back as exactly `value`: the shortest decimal when it
/// round-trips through `Double` (so files show `0.001`, as Keras's configs do), else the exact `Double`.
func jsonNumber(_ value: Float) -> Double {
    if let short = Double("\(value)"), Float(short) == value { return short }
    return Double(value)
}

/// A JSON number that is a whole number, as an Int; nil otherwise.
func integerValue(_ json: Any?) -> Int? {
    guard let n = json as? NSNumber else { return nil }
    let d = n.doubleValue
    guard d == d.rounded(), Swift.abs(d) < 9e15 else { return nil }
    return n.intValue
}

/// A JSON value as a Float, or an error naming `what`.
func floatValue(_ json: Any?, _ what: String) throws -> Float {
    guard let n = json as? NSNumber else { throw FoveaError("\(what) must be a number, got \(json.map { "\($0)" } ?? "nothing")") }
    return n.floatValue
}

extension LearningRateSchedule {
    /// Keras's serialized form: a number, or `{"class_name": "ExponentialDecay", "config": {…}}`.
    public var serialized: Any {
        switch self {
        case .constant(let lr): return jsonNumber(lr)
        case .exponentialDecay(let initial, let decaySteps, let rate, let staircase):
            return ["class_name": "ExponentialDecay",
                    "config": ["initial_learning_rate": jsonNumber(initial), "decay_steps": decaySteps,
                               "decay_rate": jsonNumber(rate), "staircase": staircase] as [String: Any]]
        case .piecewiseConstant(let boundaries, let values):
            return ["class_name": "PiecewiseConstantDecay",
                    "config": ["boundaries": boundaries, "values": values.map(jsonNumber)] as [String: Any]]
        }
    }

    /// Reads ``serialized``.
    public init(serialized json: Any) throws {
        if let n = json as? NSNumber { self = .constant(n.floatValue); return }
        guard let dict = json as? [String: Any], let name = dict["class_name"] as? String,
              let config = dict["config"] as? [String: Any] else {
            throw FoveaError("learning_rate must be a number or a schedule {\"class_name\", \"config\"}, got \(json)")
        }
        switch name {
        case "ExponentialDecay":
            guard let steps = integerValue(config["decay_steps"]), steps > 0 else { throw FoveaError("ExponentialDecay needs a positive integer decay_steps") }
            self = .exponentialDecay(initial: try floatValue(config["initial_learning_rate"], "ExponentialDecay initial_learning_rate"),
                                     decaySteps: steps, decayRate: try floatValue(config["decay_rate"], "ExponentialDecay decay_rate"),
                                     staircase: config["staircase"] as? Bool ?? false)
        case "PiecewiseConstantDecay":
            guard let boundaries = (config["boundaries"] as? [Any])?.compactMap(integerValue),
                  boundaries.count == (config["boundaries"] as? [Any])?.count, let values = config["values"] as? [NSNumber],
                  values.count == boundaries.count + 1 else {
                throw FoveaError("PiecewiseConstantDecay needs integer boundaries and one more number in values")
            }
            self = .piecewiseConstant(boundaries: boundaries, values: values.map(\.floatValue))
        default:
            throw FoveaError("learning-rate schedule '\(name)' is not supported; use ExponentialDecay or PiecewiseConstantDecay")
        }
    }
}

/// One state tensor of an optimizer: which variable it belongs to and which slot it is.
public struct OptimizerSlot {
    public var variable: String
    public var slot: String
    public var tensor: Tensor
    public init(variable: String, slot: String, tensor: Tensor) {
        self.variable = variable; self.slot = slot; self.tensor = tensor
    }
}

extension Optimizer {
    /// Keras's serialized optimizer: `{"class_name": "Adam", "config": {"learning_rate": …, "beta_1": …}}`.
    public var serializedConfig: [String: Any] {
        var config = hyperparameters.mapValues { ($0 as? Float).map(jsonNumber) ?? $0 }
        config["learning_rate"] = schedule.serialized
        return ["class_name": name, "config": config]
    }

    /// Rebuilds a built-in optimizer (`SGD`, `RMSprop`, `Adam`) from ``serializedConfig``; its state
    /// starts empty.
    public static func fromConfig(_ json: [String: Any]) throws -> Optimizer {
        guard let name = json["class_name"] as? String, let config = json["config"] as? [String: Any] else {
            throw FoveaError("optimizer config needs class_name and config")
        }
        let schedule = try LearningRateSchedule(serialized: config["learning_rate"] ?? NSNull())
        func number(_ key: String, _ fallback: Float) throws -> Float {
            config[key] == nil ? fallback : try floatValue(config[key], "\(name) \(key)")
        }
        func flag(_ key: String) -> Bool { config[key] as? Bool ?? false }
        switch name {
        case "SGD": return SGD(schedule: schedule, momentum: try number("momentum", 0), nesterov: flag("nesterov"))
        case "RMSprop":
            return RMSprop(schedule: schedule, rho: try number("rho", 0.9), momentum: try number("momentum", 0),
                           epsilon: try number("epsilon", 1e-7), centered: flag("centered"))
        case "Adam":
            return Adam(schedule: schedule, beta1: try number("beta_1", 0.9), beta2: try number("beta_2", 0.999),
                        epsilon: try number("epsilon", 1e-7), amsgrad: flag("amsgrad"))
        default:
            throw FoveaError("optimizer '\(name)' is not one Fovea can rebuild (SGD, RMSprop, Adam); load the model with compile: false and compile it yourself")
        }
    }

    /// The state tensors of those `variables` that have any (a variable gets them at its first update).
    /// Each variable is named by its path in the model (``Model/variablePaths``).
    public func slotTensors(for variables: [(path: String, variable: Variable)]) -> [OptimizerSlot] {
        let names = slotNames
        return variables.flatMap { path, v -> [OptimizerSlot] in
            guard let state = slots[ObjectIdentifier(v)] else { return [] }
            return zip(names, state).map { OptimizerSlot(variable: path, slot: $0, tensor: $1) }
        }
    }

    /// Puts back the step count and the state tensors saved by ``slotTensors(for:)``, matched to
    /// `variables` by name. Every tensor must belong to a variable, name one of this optimizer's
    /// slots and have the variable's shape; a variable has all its slots or none. `file` names the
    /// source in errors. Nothing changes unless everything fits.
    public func restoreState(iterations: Int, slots saved: [OptimizerSlot], variables: [(path: String, variable: Variable)], file: String) throws {
        guard iterations >= 0 else { throw FoveaError("\(file): optimizer iterations must not be negative, got \(iterations)") }
        let byName = Dictionary(variables.map { ($0.path, $0.variable) }, uniquingKeysWith: { a, _ in a })
        let names = slotNames
        var grouped: [String: [String: Tensor]] = [:]
        for s in saved {
            let tensorName = "optimizer/\(s.variable)/\(s.slot)"
            guard let v = byName[s.variable] else {
                throw FoveaError("\(file): optimizer tensor '\(tensorName)' belongs to no variable of the model")
            }
            guard names.contains(s.slot) else {
                throw FoveaError("\(file): optimizer tensor '\(tensorName)': \(name) has no slot '\(s.slot)' (its slots: \(names.joined(separator: ", ")))")
            }
            guard s.tensor.shape == v.value.shape else {
                throw FoveaError("\(file): optimizer tensor '\(tensorName)' has shape \(formatShape(s.tensor.shape)) but variable \(v.name) has shape \(formatShape(v.value.shape))")
            }
            grouped[s.variable, default: [:]][s.slot] = s.tensor
        }
        var restored: [ObjectIdentifier: [Tensor]] = [:]
        for (variable, tensors) in grouped {
            let missing = names.filter { tensors[$0] == nil }
            guard missing.isEmpty else {
                throw FoveaError("\(file): optimizer state of \(variable) lacks \(missing.map { "'optimizer/\(variable)/\($0)'" }.joined(separator: ", "))")
            }
            restored[ObjectIdentifier(byName[variable]!)] = names.map { tensors[$0]!.detached }
        }
        slots = restored
        self.iterations = iterations
    }
}
