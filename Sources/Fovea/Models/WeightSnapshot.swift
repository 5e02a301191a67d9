import Foundation

/// A model's weights at one moment, by variable name: what EarlyStopping keeps to restore the best
/// epoch, what `saveWeights` writes and `loadWeights` reads. Taking one is cheap: tensors are
/// copy-on-write, and training copies a weight before changing it in place.
public struct WeightSnapshot {
    /// Each variable's name and value, in the model's variable order.
    public let tensors: [(name: String, tensor: Tensor)]

    /// The current weights of `model`, by their paths in it (``Model/variablePaths``).
    public init(of model: Model) {
        tensors = model.variablePaths.map { ($0.path, $0.variable.value.detached) }
    }

    /// Weights by name (from a file, or made by hand).
    public init(tensors: [(name: String, tensor: Tensor)]) { self.tensors = tensors }

    /// Puts the weights into `model`, matched by name. `strict` requires both sides to hold exactly
    /// the same names; otherwise names missing on either side are skipped. Shapes must always
    /// match. `source` names where the weights came from in errors. Nothing changes unless all fit.
    public func restore(into model: Model, strict: Bool = true, source: String = "weight snapshot") throws {
        let byName = Dictionary(tensors.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        let vars = model.variablePaths.map { (name: $0.path, value: $0.variable.value, variable: $0.variable) }
        if strict {
            let missing = vars.map(\.name).filter { byName[$0] == nil }
            let extra = Set(byName.keys).subtracting(vars.map(\.name)).sorted()
            if !missing.isEmpty || !extra.isEmpty {
                throw FoveaError("\(source): weights do not match model \(model.name): missing \(missing), unexpected \(extra); use strict: false to load the names both share")
            }
        }
        for v in vars {
            guard let t = byName[v.name] else { continue }
            guard t.shape == v.value.shape else {
                throw FoveaError("\(source): tensor '\(v.name)' has shape \(formatShape(t.shape)) but the model expects \(formatShape(v.value.shape))")
            }
        }
        for v in vars { if let t = byName[v.name] { v.variable.value = t.detached } }
    }
}
