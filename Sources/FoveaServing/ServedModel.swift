import Fovea
import Foundation

/// The one file of the server that uses Fovea's model API: loading a model file, its input and
/// output names and shapes, running a batch. Everything else in FoveaServing sees only flat
/// `[Float]` samples and integer shapes, so a change of the model classes lands here alone.
///
/// An instance is used by one batch worker at a time (``DynamicBatcher`` loads one instance per
/// worker thread): concurrent `predict` calls on one model are never made.
public final class ServedModel: BatchRunner, @unchecked Sendable {
    /// The model's own name (from its file).
    public let modelName: String
    /// The input's name, shape without the batch axis and datatype (always FP32 here).
    public let inputName: String
    public let inputShape: [Int]
    /// The output's name and shape without the batch axis.
    public let outputName: String
    public let outputShape: [Int]
    private let model: Model
    /// Whether ``run(_:count:)`` keeps every kernel on the calling thread (one worker per core).
    public let serial: Bool

    /// Floats per sample in and out.
    public var inputCount: Int { inputShape.reduce(1, *) }
    public var outputCount: Int { outputShape.reduce(1, *) }

    private init(_ model: Model, serial: Bool) throws {
        self.model = model
        self.serial = serial
        guard model.inputs.count == 1, model.outputs.count == 1 else {
            throw FoveaError("model \(model.name) has \(model.inputs.count) inputs and \(model.outputs.count) outputs; the server serves models with one of each")
        }
        guard let input = model.inputShape, input.count >= 2, input.dropFirst().allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw FoveaError("model \(model.name) has no fixed input shape (got \(model.inputShape.map(formatShape) ?? "none")); "
                             + "serve a model that starts with Input(shape:) or was built on data")
        }
        guard let output = model.outputShape, output.count >= 2, output.dropFirst().allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw FoveaError("model \(model.name) has no fixed output shape")
        }
        modelName = model.name
        inputShape = input.dropFirst().map { $0! }
        outputShape = output.dropFirst().map { $0! }
        inputName = model.inputs[0].layer.name
        outputName = model.outputs[0].layer.name
        // One algorithm for every batch size: `.automatic` picks Winograd or im2col for a small 3×3
        // layer of 8 or more channels by the number of tiles in a call, and the two differ in the
        // last digits (about 1e-6 relative), so an answer would depend on which other requests
        // shared its batch. Such layers run Winograd always (where it does not apply, `.winograd`
        // means im2col); layers of fewer channels never take Winograd, whatever the batch.
        func fixAlgorithms(_ layers: [Layer]) {
            for layer in layers {
                if let conv = layer as? Conv2D, (conv.kernel?.value.shape[2] ?? 0) >= 8 { conv.algorithm = .winograd }
                fixAlgorithms(layer.sublayers)
            }
        }
        fixAlgorithms(model.layers)
    }

    /// Loads a Fovea (`.safetensors`), Keras (`.keras`) or legacy Keras (`.h5`) model file.
    /// `serial`: ``run(_:count:)`` computes on the calling thread only.
    public static func load(from url: URL, serial: Bool = false) throws -> ServedModel {
        try ServedModel(Model.load(fromAnyFormat: url), serial: serial)
    }

    public func run(_ input: [Float], count: Int) throws -> [Float] {
        try predict(input, count: count, serial: serial)
    }

    /// Runs `count` samples laid end to end in `input` (`count × inputCount` floats) and returns
    /// their outputs laid end to end (`count × outputCount` floats). `serial`: every kernel on the
    /// calling thread (the caller runs one worker per core).
    public func predict(_ input: [Float], count: Int, serial: Bool) throws -> [Float] {
        precondition(count >= 1 && input.count == count * inputCount, "ServedModel.predict: \(input.count) floats for \(count) samples")
        let x = Tensor(shape: [count] + inputShape, scalars: input)
        let run = { try self.model.predict(x, batchSize: Swift.max(count, 1)).scalars }
        return serial ? try ThreadPool.serially(run) : try run()
    }

    /// Writes a built-in architecture (`seed-cnn`, `dense`, …), freshly initialised from `seed`, to
    /// `url` as a Fovea model file: for tests and the load-test scripts.
    public static func writeBuiltIn(_ architecture: String, seed: UInt64, to url: URL) throws {
        guard let made = Architecture(rawValue: architecture) else {
            throw FoveaError("no built-in architecture '\(architecture)'; choose one of \(Architecture.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        try made.make(seed: seed).save(to: url, includeOptimizer: false)
    }
}
