import Foundation

/// A network's input (Keras `keras.Input` and `InputLayer`): fixes the shape, batch axis excluded.
/// In a functional model it is where the graph starts (`let x = Conv2D(...)(inputs)`); in a
/// `Sequential` list it fixes the input shape. It does nothing to the tensor.
public final class Input: Layer, ConfigurableLayer, SymbolicTensorConvertible {
    public let shape: [Int]

    public init(shape: [Int], name: String? = nil) {
        self.shape = shape
        super.init(name: name)
        builtInputShapes = [[nil] + shape.map { Optional($0) }]
    }

    public override class var defaultName: String { "input_layer" }
    public static var className: String { "InputLayer" }
    public static var acceptedDefaults: [String: JSONValue] { ["sparse": false, "ragged": false, "optional": false] }

    /// The symbolic tensor this input stands for in a graph. Held weakly: the graph (the layers called
    /// on it, or a model) keeps it.
    public var symbolic: SymbolicTensor {
        if let tensor = outputTensor { return tensor }
        // An Input has one call at a time (Keras's node 0): its earlier one is gone with its tensor.
        nodeCount = 0
        let tensor = Node(layer: self, inputs: [], outputShapes: [[nil] + shape.map { Optional($0) }], training: nil).output(0)
        outputTensor = tensor
        return tensor
    }
    private weak var outputTensor: SymbolicTensor?

    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        let expected: [Int?] = [nil] + shape.map { Optional($0) }
        try checkCompatible(inputShape, with: expected)
        return inputShape
    }

    public struct Configuration: Codable {
        /// The shape with the batch axis (Keras 3); Keras 2 wrote `batch_input_shape`.
        public var batchShape: [Int?]
        enum CodingKeys: String, CodingKey { case batchShape = "batch_shape", batchInputShape = "batch_input_shape" }

        public init(batchShape: [Int?]) { self.batchShape = batchShape }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            guard let shape = try c.decodeIfPresent([Int?].self, forKey: .batchShape) ?? c.decodeIfPresent([Int?].self, forKey: .batchInputShape) else {
                throw FoveaError("config key 'batch_shape' is missing")
            }
            batchShape = shape
        }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(batchShape, forKey: .batchShape)
        }
    }

    public var configuration: Configuration { Configuration(batchShape: [nil] + shape.map { Optional($0) }) }

    public convenience init(configuration c: Configuration, name: String?) throws {
        let dims = Array(c.batchShape.dropFirst())
        guard !c.batchShape.isEmpty, dims.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw FoveaError("batch_shape \(formatShape(c.batchShape)) has unknown or non-positive dimensions; Fovea needs every dimension but the batch")
        }
        try ArchitectureLimits.checkShape(c.batchShape, "batch_shape")
        self.init(shape: dims.map { $0! }, name: name)
    }
}
