import Foundation
import Synchronization

/// The caps every architecture is held to before its shapes are multiplied or its weights allocated.
///
/// A model file (native safetensors, `.keras` or legacy `.h5`, which share ``Model/fromConfig(_:source:)``)
/// may come from anyone, and a checksum is no defence (anyone can write a file with a valid one, and
/// a native file of format version 1, or one without a version, carries none). So the bounds are
/// checked in the places every layer goes through, whatever file or code made it:
///
/// - ``LayerRegistry`` checks every integer of a layer's configuration (filters, units, kernel sizes,
///   strides, dilations, padding and cropping amounts, sizes, shapes, depth multipliers, axes; seeds
///   excepted) against ``maxValue``: no later arithmetic on them can overflow.
/// - ``Layer/buildIfNeeded(inputShapes:)`` checks the input and output shapes of every layer it builds:
///   no negative size, and at most ``maxTensorElements`` values per sample (overflow-checked).
/// - ``Layer/addWeight(_:shape:initializer:regularizer:constraint:trainable:)`` checks each weight
///   against ``maxTensorElements`` and, while a model is read from a file, the running total
///   against ``maxParameters`` — before the memory is reserved.
///
/// Each cap has an environment variable that raises (or lowers) it.
public enum ArchitectureLimits {
    /// The largest magnitude of any integer in a layer's configuration: 16,777,216 (2²⁴) unless
    /// `FOVEA_MAX_ARCHITECTURE_VALUE` says otherwise.
    public static var maxValue: Int { limit("FOVEA_MAX_ARCHITECTURE_VALUE", default: 1 << 24) }
    /// The most values one tensor may hold: a weight, or one sample of a layer's input or output.
    /// 268,435,456 (2²⁸, 1 GiB of float32) unless `FOVEA_MAX_TENSOR_ELEMENTS` says otherwise.
    public static var maxTensorElements: Int { limit("FOVEA_MAX_TENSOR_ELEMENTS", default: 1 << 28) }
    /// The most parameters a model read from a file may have: 268,435,456 (2²⁸; VGG19 has 143.7
    /// million) unless `FOVEA_MAX_PARAMETERS` says otherwise.
    public static var maxParameters: Int { limit("FOVEA_MAX_PARAMETERS", default: 1 << 28) }

    static func limit(_ variable: String, default fallback: Int) -> Int {
        guard let text = getenv(variable).map({ String(cString: $0) }), let value = Int(text), value > 0 else { return fallback }
        return value
    }

    /// The running parameter count of the model being read (set by ``Model/fromConfig(_:source:)``).
    final class ParameterBudget: Sendable {
        let used = Mutex<Int>(0)
    }
    @TaskLocal static var budget: ParameterBudget?

    /// Runs `body` with a parameter budget, the enclosing one if there is one (a nested model shares it).
    static func withBudget<R>(_ body: () throws -> R) rethrows -> R {
        if budget != nil { return try body() }
        return try $budget.withValue(ParameterBudget(), operation: body)
    }

    /// `n` with thousands separators.
    static func grouped(_ n: Int) -> String { groupedThousands(n) }

    // MARK: Checks

    /// Every integer of a layer's (decoded and re-encoded) configuration is within ``maxValue``;
    /// `seed` keys are exempt (64-bit by design).
    static func checkConfiguration(_ config: JSONValue) throws {
        let cap = maxValue
        func visit(_ value: JSONValue, key: String) throws {
            switch value {
            case .int(let i) where i.magnitude > UInt(cap):
                throw tooLarge(key, "\(i)", cap)
            case .unsigned(let u) where key != "seed":
                throw tooLarge(key, "\(u)", cap)
            case .array(let items):
                for item in items { try visit(item, key: key) }
            case .object(let members):
                for (k, v) in members.sorted(by: { $0.key < $1.key }) where k != "seed" { try visit(v, key: k) }
            default: break
            }
        }
        try visit(config, key: "")
    }

    private static func tooLarge(_ key: String, _ value: String, _ cap: Int) -> FoveaError {
        FoveaError("\(key) = \(value) is beyond Fovea's cap on an architecture value (±\(grouped(cap))); "
                   + "set FOVEA_MAX_ARCHITECTURE_VALUE to raise it")
    }

    /// The number of values per sample of `shape` (batch axis first, not counted; unknown axes
    /// count 1), or an error when an axis is negative or the count passes ``maxTensorElements``.
    static func checkShape(_ shape: [Int?], _ what: @autoclosure () -> String) throws {
        let cap = maxTensorElements
        var count = 1
        for dim in shape.dropFirst() {
            guard let dim else { continue }
            guard dim >= 0 else { throw FoveaError("\(what()) \(formatShape(shape)) has a negative size") }
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow, product <= cap else {
                throw FoveaError("\(what()) \(formatShape(shape)) holds \(overflow ? "more than \(grouped(Int.max))" : grouped(product)) values per sample, "
                                 + "more than one tensor may (\(grouped(cap))); set FOVEA_MAX_TENSOR_ELEMENTS to raise the cap")
            }
            count = product
        }
    }

    /// A weight of `shape` may be allocated: its size within ``maxTensorElements``, and the model's
    /// running total within ``maxParameters`` while a model is read.
    static func checkWeight(_ shape: [Int], layer: Layer, name: String) throws {
        let cap = maxTensorElements
        var count = 1
        for dim in shape {
            guard dim >= 0 else { throw FoveaError("\(layer.name) (\(layer.typeName)): \(name) of shape \(formatShape(shape)) has a negative size") }
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow, product <= cap else {
                throw FoveaError("\(layer.name) (\(layer.typeName)): \(name) of shape \(formatShape(shape)) would hold "
                                 + "\(overflow ? "more than \(grouped(Int.max))" : grouped(product)) values, more than one tensor may "
                                 + "(\(grouped(cap))); set FOVEA_MAX_TENSOR_ELEMENTS to raise the cap")
            }
            count = product
        }
        guard let budget else { return }
        let total = maxParameters
        try budget.used.withLock { used in
            guard used <= total - count else {
                throw FoveaError("\(layer.name) (\(layer.typeName)): \(name) of shape \(formatShape(shape)) takes the model past "
                                 + "\(grouped(total)) parameters (\(grouped(used)) before it), Fovea's cap for a model read from a file; "
                                 + "set FOVEA_MAX_PARAMETERS to raise it")
            }
            used += count
        }
    }
}
