import Foundation
import XCTest
import Fovea

/// A tiny, separable two-class problem: the class is whether the first feature is positive.
func toyData(_ n: Int, seed: UInt64) -> (x: Tensor, y: Tensor) {
    let x = Tensor.uniform([n, 4], low: -1, high: 1, seed: seed)
    let labels = (0..<n).map { Float(x[$0, 0] > 0 ? 1 : 0) }
    return (x, Tensor(shape: [n], scalars: labels))
}

func toyModel(seed: UInt64 = 7) throws -> Model {
    try Sequential([Input(shape: [4]), Dense(8, activation: .relu), Dense(2, activation: .softmax)], seed: seed)
}

/// Collects what `fit` prints.
final class Captured: @unchecked Sendable {
    var text = ""
    func output(terminal: Bool) -> ProgressOutput { ProgressOutput(isTerminal: terminal) { self.text += $0 } }
}

final class FitTests: XCTestCase {
    func testSeededSubsetOfMNISTLearnsAbove90Percent() throws {
        let mnist = try MNIST.load()
        let (x, y) = mnist.tensors(.train, limit: 2000)
        let (testX, testY) = mnist.tensors(.test, limit: 2000)
        let model = try Architecture.seedCNN.make(seed: 3)
        model.compile(optimizer: RMSprop(), loss: .sparseCategoricalCrossentropy(), metrics: [.accuracy])
        let history = try model.fit(x: x, y: y, batchSize: 32, epochs: 5, verbose: 0)
        XCTAssertEqual(history["loss"].count, 5)
        XCTAssertLessThan(history["loss"].last!, history["loss"].first!)
        let result = try model.evaluate(x: testX, y: testY, batchSize: 256)
        XCTAssertGreaterThan(result["accuracy"]!, 0.90, "test accuracy after 5 epochs on 2,000 images: \(result)")
    }

    func testSameSeedSameTraining() throws {
        let (x, y) = toyData(64, seed: 1)
        var losses: [[Float]] = []
        for _ in 0..<2 {
            let model = try toyModel()
            model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(), metrics: [.accuracy])
            losses.append(try model.fit(x: x, y: y, batchSize: 16, epochs: 2, verbose: 0)["loss"])
        }
        XCTAssertEqual(losses[0], losses[1])
    }

    func testShuffleModes() throws {
        typealias Shuffle = Sequential.Shuffle
        let n = 200
        XCTAssertEqual(Shuffle.none.order(count: n, epoch: 3, seed: 7), Array(0..<n))
        for mode in [Shuffle.everyEpoch, .samePermutation] {
            let first = mode.order(count: n, epoch: 0, seed: 7), second = mode.order(count: n, epoch: 1, seed: 7)
            XCTAssertEqual(first.sorted(), Array(0..<n), "\(mode) must be a permutation")
            XCTAssertNotEqual(first, Array(0..<n), "\(mode) must move samples")
            XCTAssertEqual(first, mode.order(count: n, epoch: 0, seed: 7), "\(mode) is seeded")
            XCTAssertNotEqual(first, mode.order(count: n, epoch: 0, seed: 8), "\(mode) depends on the seed")
            if mode == .everyEpoch { XCTAssertNotEqual(first, second) } else { XCTAssertEqual(first, second) }
        }
        // `fit` takes Booleans as Keras does, and the modes change what it trains on.
        let (x, y) = toyData(64, seed: 1)
        var losses: [Shuffle: [Float]] = [:]
        for mode in Shuffle.allCases {
            let model = try toyModel()
            model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(), metrics: [.accuracy])
            losses[mode] = try model.fit(x: x, y: y, batchSize: 16, epochs: 3, verbose: 0, shuffle: mode)["loss"]
        }
        XCTAssertNotEqual(losses[.everyEpoch], losses[.samePermutation])
        XCTAssertNotEqual(losses[.none], losses[.samePermutation])
        XCTAssertEqual(losses[.everyEpoch]![0], losses[.samePermutation]![0], "epoch 1 uses the same permutation in both")
        let model = try toyModel()
        model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy())
        XCTAssertEqual(try model.fit(x: x, y: y, batchSize: 16, epochs: 3, verbose: 0, shuffle: false)["loss"], losses[.none])
    }

    func testValidationSplitTakesTheLastRowsBeforeShuffling() throws {
        // Training rows are all class 0 and the last quarter all class 1: the model then sees no
        // class-1 sample in training, so validation accuracy must be 0 if the split took the last rows.
        let n = 40
        let x = Tensor(shape: [n, 4], scalars: (0..<(n * 4)).map { Float($0 % 4) })
        let y = Tensor(shape: [n], scalars: (0..<n).map { $0 < 30 ? 0 : 1 })
        let model = try toyModel()
        model.compile(optimizer: SGD(learningRate: 0.1), loss: .sparseCategoricalCrossentropy(), metrics: [.accuracy])
        var seenBatchRows = 0
        let counter = LambdaCallback(onBatchEnd: { _, _ in seenBatchRows += 1 })
        let history = try model.fit(x: x, y: y, batchSize: 10, epochs: 3, verbose: 0, validationSplit: 0.25, callbacks: [counter])
        XCTAssertEqual(seenBatchRows, 3 * 3, "30 training rows in batches of 10 for 3 epochs")
        XCTAssertEqual(history["accuracy"].last!, 1, accuracy: 1e-6)
        XCTAssertEqual(history["val_accuracy"].last!, 0, accuracy: 1e-6)
        // Keras floors the split point: 10 rows at 0.25 keep 7 for training.
        let small = try toyModel()
        small.compile(optimizer: SGD(), loss: .sparseCategoricalCrossentropy())
        var steps = 0
        try small.fit(x: x.slice(batch: 0..<10), y: y.slice(batch: 0..<10), batchSize: 1, epochs: 1, verbose: 0,
                      validationSplit: 0.25, callbacks: [LambdaCallback(onBatchEnd: { _, _ in steps += 1 })])
        XCTAssertEqual(steps, 7)
        // …with the fraction as written: 10 × (1 − 0.3) is 7.000000000000001 in Python, so Keras keeps
        // 7 (the Float 0.3 would give 6.99999988 and 6 rows), and 2,000 at 0.2 keeps 1,600.
        for (rows, split, kept) in [(10, Float(0.3), 7), (2000, Float(0.2), 1600)] {
            let model = try toyModel()
            model.compile(optimizer: SGD(), loss: .sparseCategoricalCrossentropy())
            let xs = Tensor(shape: [rows, 4], scalars: (0..<(rows * 4)).map { Float($0 % 4) })
            let ys = Tensor(shape: [rows], scalars: (0..<rows).map { Float($0 % 2) })
            var trained = 0
            try model.fit(x: xs, y: ys, batchSize: 1, epochs: 1, verbose: 0, validationSplit: split,
                          callbacks: [LambdaCallback(onBatchEnd: { _, _ in trained += 1 })])
            XCTAssertEqual(trained, kept, "\(rows) rows, validationSplit \(split)")
        }
    }

    func testValidationDataOverridesSplit() throws {
        let (x, y) = toyData(32, seed: 2)
        let (vx, vy) = toyData(8, seed: 3)
        let model = try toyModel()
        model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(), metrics: [.accuracy])
        var steps = 0
        let history = try model.fit(x: x, y: y, batchSize: 8, epochs: 1, verbose: 0, validationSplit: 0.5,
                                    validationData: (vx, vy), callbacks: [LambdaCallback(onBatchEnd: { _, _ in steps += 1 })])
        XCTAssertEqual(steps, 4, "all 32 rows train when validationData is given")
        let direct = try model.evaluate(x: vx, y: vy, batchSize: 8)
        XCTAssertEqual(history["val_loss"].last!, direct["loss"]!, accuracy: 1e-5)
    }

    func testPredictIsBatchedAndDeterministicWithDropout() throws {
        let model = try Sequential([Input(shape: [4]), Dense(16, activation: .relu), Dropout(0.5), Dense(3, activation: .softmax)], seed: 1)
        let x = Tensor.uniform([10, 4], seed: 9)
        let a = try model.predict(x, batchSize: 3)
        let b = try model.predict(x, batchSize: 10)
        XCTAssertEqual(a.shape, [10, 3])
        XCTAssertTrue(a.isApproximatelyEqual(to: b, tolerance: 1e-6), "dropout is off and batching does not change outputs")
        XCTAssertFalse(try model(x, training: true).isApproximatelyEqual(to: b, tolerance: 1e-4), "dropout is on in training")
    }

    /// Batches of 32 or more images run depth-first (pieces of 16 through the whole network, one
    /// thread each, the first piece alone): the same outputs as the whole batch layer by layer, in
    /// order, also for a last piece shorter than the others and for a model that builds itself on
    /// its first call (no Input layer).
    func testDepthFirstInferenceMatchesLayerByLayer() throws {
        let previous = ThreadPool.threadCount
        ThreadPool.threadCount = 2
        defer { ThreadPool.threadCount = previous }
        let seeded = try Architecture.seedCNN.make(seed: 3)
        let x = Tensor.uniform([75, 28, 28, 1], seed: 10)
        let deep = try seeded.predict(x, batchSize: 75)
        let whole = try GradientRecording.withoutGradients { try seeded(x, training: false) }
        XCTAssertEqual(deep.shape, [75, 10])
        XCTAssertTrue(deep.isApproximatelyEqual(to: whole, tolerance: 1e-6))
        let unbuilt = try Sequential([Conv2D(filters: 4, kernelSize: 3, activation: .relu), Flatten(), Dense(3)], seed: 4)
        let small = Tensor.uniform([40, 6, 6, 2], seed: 11)
        let first = try unbuilt.predict(small, batchSize: 40)
        XCTAssertTrue(first.isApproximatelyEqual(to: try unbuilt(small, training: false), tolerance: 1e-6))
    }

    /// The model's layers called one at a time (no pair fused), gradients recorded.
    func layerByLayer(_ model: Model, _ x: Tensor) throws -> Tensor {
        var h = x
        for layer in model.layers where !(layer is Input) { h = try layer(h, training: false) }
        return h
    }

    /// Inference without gradients runs a one-channel 3×3 convolution and the 2×2 max pool after it
    /// as one fused op (so does a forward with gradients recorded, keeping each window's winner): the
    /// same outputs as the layers called one by one, for ReLU and linear activations, odd map sizes
    /// (the pool drops the last row and column), and pairs that do not qualify (a 3×3 pool,
    /// channels-first) left to run layer by layer.
    func testFusedConvolutionAndPoolingMatchLayerByLayer() throws {
        for activation in [Activation.relu, .linear] {
            for format in [DataFormat.channelsLast, .channelsFirst] {
                let model = try Sequential([
                    Input(shape: format == .channelsLast ? [13, 11, 1] : [1, 13, 11]),
                    Conv2D(filters: 12, kernelSize: 3, dataFormat: format, activation: activation),
                    MaxPooling2D(poolSize: 2, dataFormat: format),
                    Conv2D(filters: 5, kernelSize: 3, padding: .same, dataFormat: format, activation: .relu),
                    MaxPooling2D(poolSize: 3, strides: 2, dataFormat: format), Flatten(), Dense(4)], seed: 8)
                let x = Tensor.uniform(format == .channelsLast ? [3, 13, 11, 1] : [3, 1, 13, 11], low: -1, high: 1, seed: 12)
                let fused = try GradientRecording.withoutGradients { try model(x, training: false) }
                let separate = try layerByLayer(model, x)
                XCTAssertEqual(fused.shape, [3, 4])
                XCTAssertEqual(fused.scalars, separate.scalars, "\(activation.name) \(format)")
                XCTAssertEqual(try model.predict(x).scalars, separate.scalars)
                XCTAssertEqual(try model(x, training: true).scalars, separate.scalars, "recorded \(activation.name) \(format)")
            }
        }
    }

    /// A convolution computed by Winograd (here 9 → 10 channels, `valid` and `same`, odd output
    /// sizes) and its 2×2 max pool run as one op in inference, with weights packed once: the same
    /// values as running the two layers with gradients recorded (weights transformed per call).
    func testFusedWinogradConvolutionAndPoolingMatchLayerByLayer() throws {
        for padding in [Padding.valid, .same] {
            let model = try Sequential([
                Input(shape: [13, 13, 9]),
                Conv2D(filters: 10, kernelSize: 3, padding: padding, activation: .relu), MaxPooling2D(poolSize: 2),
                Flatten(), Dense(4)], seed: 9)
            let x = Tensor.uniform([3, 13, 13, 9], low: -1, high: 1, seed: 13)
            let fused = try GradientRecording.withoutGradients { try model(x, training: false) }
            let separate = try layerByLayer(model, x)
            XCTAssertEqual(fused.shape, [3, 4])
            XCTAssertEqual(fused.scalars, separate.scalars, "\(padding)")
        }
    }

    /// Inference packs a layer's weights once and reuses them; any change to the weights (an
    /// optimizer step, weights set from arrays, an in-place write) must be seen by the next prediction.
    func testInferenceSeesEveryChangeOfTheWeights() throws {
        let model = try Sequential([
            Input(shape: [12, 12, 1]),
            Conv2D(filters: 8, kernelSize: 3, activation: .relu), MaxPooling2D(poolSize: 2),
            Conv2D(filters: 8, kernelSize: 3, activation: .relu), Flatten(), Dense(3, activation: .softmax)], seed: 4)
        model.compile(optimizer: SGD(learningRate: 0.1), loss: .sparseCategoricalCrossentropy(), metrics: [.accuracy])
        let x = Tensor.uniform([6, 12, 12, 1], low: 0, high: 1, seed: 5)
        let y = Tensor(shape: [6], scalars: [0, 1, 2, 0, 1, 2])
        // The reference: a forward pass with gradients recorded, which never uses packed weights.
        func reference() throws -> [Float] { try model(x, training: false).scalars }
        func assertPredictionMatchesReference(_ what: String) throws {
            let got = try model.predict(x).scalars, want = try reference()
            for (g, w) in zip(got, want) { XCTAssertEqual(g, w, accuracy: 1e-5, what) }
        }
        try assertPredictionMatchesReference("fresh")
        let before = try model.predict(x).scalars
        _ = try model.fit(x: x, y: y, batchSize: 6, epochs: 1, verbose: 0)
        try assertPredictionMatchesReference("after a training step")
        let trained = try model.predict(x).scalars
        XCTAssertNotEqual(before, trained, "the training step changed nothing")

        let conv = try XCTUnwrap(model.layers.compactMap { $0 as? Conv2D }.last)
        conv.kernel!.value.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] += 0.25 } }
        try assertPredictionMatchesReference("after an in-place write")
        XCTAssertNotEqual(trained, try model.predict(x).scalars, "the in-place write was not seen")

        var values = model.weightValues()
        for i in values.indices { values[i] = values[i] * 0.5 }
        try model.setWeightValues(values)
        try assertPredictionMatchesReference("after setWeightValues")
    }

    func testFitRejectsBadInputWithClearErrors() throws {
        let model = try toyModel()
        XCTAssertThrowsError(try model.fit(x: Tensor.zeros([4, 4]), y: Tensor.zeros([4]), verbose: 0)) { error in
            XCTAssertTrue("\(error)".contains("not compiled"), "\(error)")
        }
        model.compile(optimizer: SGD(), loss: .sparseCategoricalCrossentropy())
        XCTAssertThrowsError(try model.fit(x: Tensor.zeros([4, 4]), y: Tensor.zeros([3]), verbose: 0)) { error in
            XCTAssertTrue("\(error)".contains("4 samples but y has 3"), "\(error)")
        }
        XCTAssertThrowsError(try model.fit(x: Tensor.zeros([4, 5]), y: Tensor.zeros([4]), verbose: 0)) { error in
            XCTAssertTrue("\(error)".contains("(5,)") && "\(error)".contains("(4,)"), "\(error)")
        }
        XCTAssertThrowsError(try model.fit(x: Tensor.zeros([4, 4]), y: Tensor(shape: [4], scalars: [0, 1, 2, 1]), verbose: 0)) { error in
            XCTAssertTrue("\(error)".contains("label 2.0"), "\(error)")
        }
        let mse = try toyModel()
        mse.compile(optimizer: SGD(), loss: .meanSquaredError)
        XCTAssertThrowsError(try mse.fit(x: Tensor.zeros([4, 4]), y: Tensor.zeros([4]), verbose: 0)) { error in
            XCTAssertTrue("\(error)".contains("(4,)") && "\(error)".contains("(None, 2)") && "\(error)".contains("mean_squared_error"), "\(error)")
        }
        XCTAssertThrowsError(try mse.evaluate(x: Tensor.zeros([4, 4]), y: Tensor.zeros([4, 3]))) { error in
            XCTAssertTrue("\(error)".contains("(4, 3)"), "\(error)")
        }
        XCTAssertThrowsError(try model.fit(x: Tensor.zeros([4, 4]), y: Tensor.zeros([4, 2]), verbose: 0)) { error in
            XCTAssertTrue("\(error)".contains("one class index per sample"), "\(error)")
        }
        XCTAssertThrowsError(try model.fit(x: Tensor.zeros([4, 4]), y: Tensor.zeros([4]), verbose: 0, validationSplit: 0.99)) { error in
            XCTAssertTrue("\(error)".contains("not enough"), "\(error)")
        }
    }

    func testRegularizationJoinsTheLossAndConstraintsHold() throws {
        let (x, y) = toyData(32, seed: 4)
        let plain = try Sequential([Input(shape: [4]), Dense(units: 2, activation: .softmax)], seed: 5)
        let penalised = try Sequential([Input(shape: [4]), Dense(units: 2, activation: .softmax, kernelRegularizer: .l2(0.5),
                                                                kernelConstraint: .nonNeg)], seed: 5)
        for m in [plain, penalised] { m.compile(optimizer: SGD(), loss: .sparseCategoricalCrossentropy()) }
        let penalty = penalised.regularizationLosses()[0].scalar
        let expected = 0.5 * penalised.variables[0].value.scalars.reduce(0) { $0 + $1 * $1 }
        XCTAssertEqual(penalty, expected, accuracy: 1e-5)
        XCTAssertEqual(try penalised.evaluate(x: x, y: y)["loss"]!, try plain.evaluate(x: x, y: y)["loss"]! + penalty, accuracy: 1e-4)
        try penalised.fit(x: x, y: y, batchSize: 8, epochs: 1, verbose: 0)
        XCTAssertTrue(penalised.variables[0].value.scalars.allSatisfy { $0 >= 0 }, "NonNeg applied after each update")
    }

    func testFrozenLayersKeepTheirWeights() throws {
        let (x, y) = toyData(32, seed: 6)
        let model = try toyModel()
        model.layers[0].trainable = false
        let frozen = model.layers[0].variables.map(\.value)
        model.compile(optimizer: Adam(learningRate: 0.1), loss: .sparseCategoricalCrossentropy())
        try model.fit(x: x, y: y, batchSize: 8, epochs: 1, verbose: 0)
        XCTAssertEqual(model.layers[0].variables.map(\.value.scalars), frozen.map(\.scalars))
        XCTAssertNotEqual(model.layers[1].variables[0].value.scalars, try toyModel().layers[1].variables[0].value.scalars)
        XCTAssertEqual(model.trainableParameterCount, 18)
        XCTAssertTrue(model.summary().contains("Non-trainable params: 40 (160.00 B)"), model.summary())
    }
}
