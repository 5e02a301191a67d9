import Foundation

/// One layer's share of a forward and backward pass.
public struct LayerTiming: Codable, Sendable {
    public let name: String
    public let type: String
    public let outputShape: String
    /// Multiply-adds ×2 of the forward pass for the whole batch (0 for layers that do no arithmetic to speak of).
    public let forwardFLOPs: Double
    public let forwardMilliseconds: Double
    public let backwardMilliseconds: Double
    public var forwardGFLOPS: Double { forwardMilliseconds > 0 ? forwardFLOPs / forwardMilliseconds / 1e6 : 0 }
    /// The backward pass computes the input and weight gradients: about twice the forward's arithmetic.
    public var backwardGFLOPS: Double { backwardMilliseconds > 0 ? 2 * forwardFLOPs / backwardMilliseconds / 1e6 : 0 }
}

/// What `fovea bench` reports for one model.
public struct BenchmarkResult: Codable, Sendable {
    public let model: String
    public let threads: Int
    public let batchSize: Int
    public let inferenceBatchSize: Int
    /// Images per second over full training steps (forward, backward, RMSprop update): median of repetitions.
    public let trainImagesPerSecond: Double
    public let inferenceImagesPerSecond: Double
    public let singleImageMilliseconds: Double
    /// Peak resident memory of the whole process so far, in MiB.
    public let peakResidentMiB: Double
    /// The measured FMA ceiling (GFLOP/s) the layer shares are relative to, when measured.
    public let ceilingGFLOPS: Double?
    public let layers: [LayerTiming]
}

public enum Benchmark {
    static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    static func milliseconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    }

    /// GFLOP/s of one square single-precision GEMM (`n`×`n`×`n`, row-major), the median of
    /// `repetitions` calls after a warm-up, on `threads` threads (default: the pool size).
    public static func sgemmGFLOPS(n: Int = 1024, threads: Int? = nil, repetitions: Int = 10) -> Double {
        let a = Tensor.uniform([n, n], seed: 1), b = Tensor.uniform([n, n], seed: 2)
        let c = Tensor(uninitializedShape: [n, n])
        let call = {
            Kernels.sgemm(m: n, n: n, k: n, a: a.storage.pointer, lda: n, b: b.storage.pointer, ldb: n,
                          c: c.storage.pointer, ldc: n, threads: threads)
        }
        call()
        let ms = median((0..<max(1, repetitions)).map { _ in milliseconds(call) })
        return 2 * Double(n * n * n) / ms / 1e6
    }

    /// Peak resident set size of this process in MiB (Linux `ru_maxrss` is in KiB).
    public static func peakResidentMiB() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    /// Measures a model on synthetic data shaped like its input.
    public static func run(_ model: Model, name: String, batchSize: Int = 64, inferenceBatchSize: Int = 256,
                           repetitions: Int = 5, stepsPerRepetition: Int = 10, ceilingGFLOPS: Double? = nil) throws -> BenchmarkResult {
        guard let inputShape = model.inputShape, let classes = model.outputShape?.last ?? nil else {
            throw FoveaError("benchmark: model \(model.name) must be built (start it with Input(shape:))")
        }
        let sample = inputShape.dropFirst().map { $0 ?? 1 }
        let n = batchSize * stepsPerRepetition
        let x = Tensor.uniform([n] + sample, seed: 1)
        let y = Tensor(shape: [n], scalars: (0..<n).map { Float($0 % classes) })
        model.compile(optimizer: RMSprop(), loss: .sparseCategoricalCrossentropy())
        let silent = ProgressOutput(isTerminal: false) { _ in }
        try model.fit(x: x.slice(batch: 0..<batchSize), y: y.slice(batch: 0..<batchSize), batchSize: batchSize, verbose: 0, shuffle: false, output: silent)
        var train: [Double] = []
        for _ in 0..<repetitions {
            let ms = try milliseconds { try model.fit(x: x, y: y, batchSize: batchSize, verbose: 0, shuffle: false, output: silent) }
            train.append(Double(n) / ms * 1000)
        }
        let xi = Tensor.uniform([inferenceBatchSize * 4] + sample, seed: 2)
        _ = try model.predict(xi, batchSize: inferenceBatchSize)
        var infer: [Double] = []
        for _ in 0..<repetitions {
            let ms = try milliseconds { _ = try model.predict(xi, batchSize: inferenceBatchSize) }
            infer.append(Double(xi.shape[0]) / ms * 1000)
        }
        let one = xi.slice(batch: 0..<1)
        _ = try model.predict(one)
        var latency: [Double] = []
        for _ in 0..<max(20, repetitions * 10) { latency.append(try milliseconds { _ = try model.predict(one) }) }

        // Each layer call on its own, fed what the network gives it.
        var layers: [LayerTiming] = []
        let graph = try model.builtGraph()
        var values: [ObjectIdentifier: Tensor] = [ObjectIdentifier(graph.inputs[0]): Tensor.uniform([batchSize] + sample, seed: 3)]
        for node in graph.nodes where !node.isInput {
            let layer = node.layer
            let inputs = node.inputs.map { values[ObjectIdentifier($0)]! }
            // As in training: a layer reading the data computes no gradient for it.
            let needsInputGradient = !node.inputs.allSatisfy { $0 === graph.inputs[0] }
            var outs = inputs
            // Without a gradient graph this is the inference forward: weights packed once and reused
            // (a training step's forward re-packs them, a small share at batch 64).
            let forward = try median((0..<repetitions).map { _ in
                try milliseconds { outs = try GradientRecording.withoutGradients { try layer.call(inputs, training: true) } }
            })
            layer.discardStateUpdates()
            let upstream = outs.map { Tensor.uniform($0.shape, seed: 4) }
            let layerAndProbe = try median((0..<repetitions).map { _ in
                let leaves = needsInputGradient ? inputs.map { $0.requiringGradient() } : inputs
                let ys = try layer.call(leaves, training: true)
                let loss = zip(ys, upstream).map { ($0 * $1).sum() }.reduce(Tensor(0), +)
                // One backward pass for the inputs (when training needs them) and the variables together.
                let variables = layer.trainableVariables.map(\.tracked)
                return milliseconds { _ = gradients(of: loss, wrt: needsInputGradient ? leaves + variables : variables) }
            })
            layer.discardStateUpdates()
            // The probe `(y ⊙ upstream).sum()` has a backward pass of its own (two passes over y);
            // measure it on bare tensors of y's shape and take it out of the layer's figure.
            let probe = median((0..<repetitions).map { _ in
                let leaves = outs.map { $0.requiringGradient() }
                let loss = zip(leaves, upstream).map { ($0 * $1).sum() }.reduce(Tensor(0), +)
                return milliseconds { _ = gradients(of: loss, wrt: leaves) }
            })
            let backward = Swift.max(0, layerAndProbe - probe)
            layers.append(LayerTiming(name: layer.name, type: layer.typeName,
                                      outputShape: outs.count == 1 ? formatShape(outs[0].shape) : outs.map { formatShape($0.shape) }.joined(separator: ", "),
                                      forwardFLOPs: layer.forwardFLOPs(inputShapes: inputs.map(\.shape), outputShapes: outs.map(\.shape)),
                                      forwardMilliseconds: forward, backwardMilliseconds: backward))
            for (t, y) in zip(node.outputs, outs) { values[ObjectIdentifier(t)] = y }
        }
        return BenchmarkResult(model: name, threads: ThreadPool.threadCount, batchSize: batchSize,
                               inferenceBatchSize: inferenceBatchSize, trainImagesPerSecond: median(train),
                               inferenceImagesPerSecond: median(infer), singleImageMilliseconds: median(latency),
                               peakResidentMiB: peakResidentMiB(), ceilingGFLOPS: ceilingGFLOPS, layers: layers)
    }
}
