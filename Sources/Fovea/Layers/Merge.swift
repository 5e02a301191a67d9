import Foundation

/// What Keras's merge layers (`Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum`) share:
/// any number of inputs (Subtract: two) of shapes that broadcast as Keras's `Merge` allows, one
/// element-wise kernel over them. They have no configuration of their own.
public class Merge: Layer {
    public override var inputCountRange: ClosedRange<Int> { 1...Int.max }

    public override func outputShapes(for inputShapes: [[Int?]]) throws -> [[Int?]] {
        do { return [try Tensor.mergedShape(inputShapes)] } catch let error as FoveaError {
            throw FoveaError("\(name) (\(typeName)): \(error.message)")
        }
    }

    public override func forward(_ inputs: [Tensor], training: Bool) throws -> [Tensor] { [combine(inputs)] }

    /// The element-wise operation.
    func combine(_ inputs: [Tensor]) -> Tensor { fatalError("Merge subclasses implement combine(_:)") }

    public override func forwardFLOPs(inputShapes: [[Int]], outputShapes: [[Int]]) -> Double {
        Double(outputShapes[0].reduce(1, *)) * Double(Swift.max(1, inputShapes.count - 1))
    }

    /// Merge layers have no options.
    public struct Configuration: Codable {}
    public var configuration: Configuration { Configuration() }
}

/// Keras `Add`: the element-wise sum of its inputs (ResNet's shortcut).
public final class Add: Merge, ConfigurableLayer {
    override func combine(_ inputs: [Tensor]) -> Tensor { Tensor.add(inputs) }
    public convenience init(configuration: Configuration, name: String?) throws { self.init(name: name) }
}

/// Keras `Subtract`: its first input minus its second.
public final class Subtract: Merge, ConfigurableLayer {
    public override var inputCountRange: ClosedRange<Int> { 2...2 }
    override func combine(_ inputs: [Tensor]) -> Tensor { Tensor.subtract(inputs[0], inputs[1]) }
    public convenience init(configuration: Configuration, name: String?) throws { self.init(name: name) }
}

/// Keras `Multiply`: the element-wise product of its inputs.
public final class Multiply: Merge, ConfigurableLayer {
    override func combine(_ inputs: [Tensor]) -> Tensor { Tensor.multiply(inputs) }
    public convenience init(configuration: Configuration, name: String?) throws { self.init(name: name) }
}

/// Keras `Average`: the element-wise mean of its inputs.
public final class Average: Merge, ConfigurableLayer {
    override func combine(_ inputs: [Tensor]) -> Tensor { Tensor.average(inputs) }
    public convenience init(configuration: Configuration, name: String?) throws { self.init(name: name) }
}

/// Keras `Maximum`: the element-wise largest of its inputs.
public final class Maximum: Merge, ConfigurableLayer {
    override func combine(_ inputs: [Tensor]) -> Tensor { Tensor.maximum(inputs) }
    public convenience init(configuration: Configuration, name: String?) throws { self.init(name: name) }
}

/// Keras `Minimum`: the element-wise smallest of its inputs.
public final class Minimum: Merge, ConfigurableLayer {
    override func combine(_ inputs: [Tensor]) -> Tensor { Tensor.minimum(inputs) }
    public convenience init(configuration: Configuration, name: String?) throws { self.init(name: name) }
}
