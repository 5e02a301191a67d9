import Foundation
import XCTest
import Fovea

/// Runs `body` once per rank, each on its own thread with its own member of an in-process
/// communicator group, and returns each rank's result.
func onRanks<R>(_ size: Int, timeout: TimeInterval = 30, _ body: @escaping (InProcessCommunicator) throws -> R) -> [Result<R, Error>] {
    let group = InProcessCommunicator.group(size: size, timeout: timeout)
    let results = UnsafeMutableBufferPointer<Result<R, Error>?>.allocate(capacity: size)
    results.initialize(repeating: nil)
    defer { results.deinitialize(); results.deallocate() }
    let done = DispatchGroup()
    for comm in group {
        done.enter()
        let thread = Thread {
            results[comm.rank] = Result { try body(comm) }
            done.leave()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
    done.wait()
    return results.map { $0! }
}

/// A small CNN without dropout or batch norm: data-parallel training must match one process.
func smallCNN(seed: UInt64) throws -> Model {
    try Sequential([Input(shape: [28, 28, 1]), Conv2D(filters: 6, kernelSize: 3, activation: .relu), MaxPooling2D(poolSize: 2),
                    Conv2D(filters: 8, kernelSize: 3, activation: .relu), MaxPooling2D(poolSize: 2),
                    Flatten(), Dense(10, activation: .softmax)], seed: seed)
}

/// ‖a − b‖ / ‖b‖ over all variables' values, the largest over variables.
func relativeDifference(_ a: [Tensor], _ b: [Tensor]) -> Double {
    zip(a, b).map { a, b in
        let d = zip(a.scalars, b.scalars).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
        let n = b.scalars.reduce(0.0) { $0 + Double($1) * Double($1) }
        return (d / Swift.max(n, 1e-30)).squareRoot()
    }.max() ?? 0
}

final class DataParallelTests: XCTestCase {
    func testGradientsAreReportedAsTheBackwardPassFinishesThem() throws {
        let model = try Sequential([Input(shape: [4]), Dense(8, activation: .relu), Dense(6, activation: .relu), Dense(2, activation: .softmax)], seed: 3)
        let (x, y) = toyData(16, seed: 2)
        let unused = Variable(Tensor.ones([3]), name: "unused")
        let variables = model.trainableVariables + [unused]
        let lossFunction = Loss.sparseCategoricalCrossentropy()
        let loss = lossFunction(target: y, prediction: try model(x, training: true))
        var reported: [Int] = []
        var seen: [Int: Tensor] = [:]
        let grads = try gradients(of: loss, wrt: variables) { i, g in reported.append(i); seen[i] = g }
        let plain = gradients(of: loss, wrt: variables)
        XCTAssertEqual(reported.sorted(), Array(variables.indices), "every variable exactly once")
        for i in variables.indices {
            XCTAssertEqual(grads[i].scalars, plain[i].scalars, variables[i].name)
            XCTAssertEqual(seen[i]!.scalars, plain[i].scalars, variables[i].name)
        }
        XCTAssertEqual(seen[variables.count - 1]!.scalars, [0, 0, 0], "a variable the loss does not use gets zeros")
        XCTAssertEqual(reported.last, variables.count - 1, "reported after the pass")
        // The last Dense's kernel and bias (variables 4, 5) are final before the first Dense's (0, 1).
        let position = Dictionary(uniqueKeysWithValues: reported.enumerated().map { ($1, $0) })
        XCTAssertLessThan(position[4]!, position[0]!)
        XCTAssertLessThan(position[5]!, position[1]!)
        XCTAssertLessThan(position[2]!, position[0]!)
    }

    func testTwoAndThreeRanksGiveOneProcesssWeightsAfter50SGDSteps() throws {
        let mnist = try MNIST.load()
        let (x, y) = mnist.tensors(.train, limit: 50 * 64)
        let lone = try smallCNN(seed: 11)
        lone.compile(optimizer: SGD(learningRate: 0.05), loss: .sparseCategoricalCrossentropy(), metrics: [.accuracy])
        let loneHistory = try lone.fit(x: x, y: y, batchSize: 64, epochs: 1, verbose: 0)
        XCTAssertEqual(lone.optimizer!.iterations, 50)
        for size in [2, 3] {
            let results = onRanks(size) { comm -> ([Tensor], Float, Int) in
                // Each rank starts from its own random weights: fit broadcasts rank 0's.
                let model = try smallCNN(seed: comm.rank == 0 ? 11 : 100 + UInt64(comm.rank))
                model.compile(optimizer: SGD(learningRate: 0.05), loss: .sparseCategoricalCrossentropy(), metrics: [.accuracy])
                model.communicator = comm
                let history = try model.fit(x: x, y: y, batchSize: 64, epochs: 1, verbose: 0)
                return (model.weightValues(), history["loss"][0], model.optimizer!.iterations)
            }
            let ranks = try results.map { try $0.get() }
            for r in ranks {
                XCTAssertEqual(r.2, 50)
                XCTAssertEqual(r.0.map(\.scalars), ranks[0].0.map(\.scalars), "every rank holds the same weights")
                XCTAssertEqual(r.1, ranks[0].1, "every rank logs the same loss")
            }
            let difference = relativeDifference(ranks[0].0, lone.weightValues())
            XCTAssertLessThan(difference, 1e-5, "\(size) ranks vs one process")
            XCTAssertEqual(Double(ranks[0].1), Double(loneHistory["loss"][0]), accuracy: 1e-5)
            XCTAssertGreaterThan(relativeDifference(lone.weightValues(), try smallCNN(seed: 11).weightValues()), 0.01, "training moved the weights")
        }
    }

    func testValidationAndEvaluationAreSplitAndOnlyRankZeroPrints() throws {
        let (x, y) = toyData(200, seed: 5)
        let lone = try toyModel(seed: 4)
        lone.compile(optimizer: SGD(learningRate: 0.1), loss: .sparseCategoricalCrossentropy(), metrics: [.accuracy])
        let loneHistory = try lone.fit(x: x, y: y, batchSize: 32, epochs: 2, verbose: 0, validationSplit: 0.25)
        let loneEval = try lone.evaluate(x: x, y: y, batchSize: 16)
        let results = onRanks(2) { comm -> (History, Logs, String) in
            let model = try toyModel(seed: 4)
            model.compile(optimizer: SGD(learningRate: 0.1), loss: .sparseCategoricalCrossentropy(), metrics: [.accuracy])
            model.communicator = comm
            let printed = Captured()
            let history = try model.fit(x: x, y: y, batchSize: 32, epochs: 2, verbose: 2, validationSplit: 0.25,
                                        output: printed.output(terminal: false))
            return (history, try model.evaluate(x: x, y: y, batchSize: 16), printed.text)
        }
        let ranks = try results.map { try $0.get() }
        XCTAssertTrue(ranks[0].2.contains("Epoch 2/2"), ranks[0].2)
        XCTAssertEqual(ranks[1].2, "", "rank 1 prints nothing")
        for key in ["loss", "accuracy", "val_loss", "val_accuracy"] {
            XCTAssertEqual(ranks[1].0[key], ranks[0].0[key], key)
            for (a, b) in zip(ranks[0].0[key], loneHistory[key]) { XCTAssertEqual(a, b, accuracy: 1e-5, key) }
        }
        XCTAssertEqual(ranks[0].1["accuracy"], loneEval["accuracy"])
        XCTAssertEqual(ranks[1].1["accuracy"], loneEval["accuracy"])
        XCTAssertEqual(Double(ranks[0].1["loss"]!), Double(loneEval["loss"]!), accuracy: 1e-5)
    }

    func testBatchNormStatisticsAreAveragedAcrossRanks() throws {
        let (x, y) = toyData(128, seed: 6)
        let results = onRanks(2) { comm -> [Tensor] in
            let model = try Sequential([Input(shape: [4]), Dense(8), BatchNormalization(), ReLU(), Dense(2, activation: .softmax)], seed: 2)
            model.compile(optimizer: SGD(learningRate: 0.1), loss: .sparseCategoricalCrossentropy())
            model.communicator = comm
            try model.fit(x: x, y: y, batchSize: 32, epochs: 2, verbose: 0)
            let bn = model.layers.compactMap { $0 as? BatchNormalization }[0]
            return [bn.movingMean.value, bn.movingVariance.value]
        }
        let ranks = try results.map { try $0.get() }
        XCTAssertEqual(ranks[0].map(\.scalars), ranks[1].map(\.scalars))
        XCTAssertNotEqual(ranks[0][0].scalars, [Float](repeating: 0, count: 8), "the moving mean moved")
    }

    func testRanksWhoseWeightsDifferAreAnError() throws {
        final class Perturb: Callback {
            override func onBatchEnd(_ batch: Int, logs: Logs) throws {
                guard batch == 1 else { return }
                let v = model!.trainableVariables[0]
                v.value = v.value + Tensor(repeating: 1e-3, shape: v.value.shape)
            }
        }
        let (x, y) = toyData(64, seed: 7)
        let results = onRanks(2) { comm -> Void in
            let model = try toyModel(seed: 1)
            model.compile(optimizer: SGD(), loss: .sparseCategoricalCrossentropy())
            model.communicator = comm
            try model.fit(x: x, y: y, batchSize: 16, epochs: 2, verbose: 0, callbacks: comm.rank == 1 ? [Perturb()] : [])
        }
        for (rank, result) in results.enumerated() {
            XCTAssertThrowsError(try result.get(), "rank \(rank)") { error in
                XCTAssertTrue("\(error)".contains("after epoch 1, the weights of rank 1 differ from rank 0's"), "\(error)")
            }
        }
    }

    func testARankThatStopsMakesTheOthersFailInsteadOfHanging() throws {
        final class Stop: Callback {
            override func onBatchBegin(_ batch: Int, logs: Logs) throws {
                if batch == 3 { throw FoveaError("rank stopped") }
            }
        }
        let (x, y) = toyData(256, seed: 8)
        let start = Date()
        let results = onRanks(2, timeout: 1) { comm -> Void in
            let model = try toyModel(seed: 1)
            model.compile(optimizer: SGD(), loss: .sparseCategoricalCrossentropy())
            model.communicator = comm
            try model.fit(x: x, y: y, batchSize: 16, epochs: 1, verbose: 0, callbacks: comm.rank == 1 ? [Stop()] : [])
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 20)
        XCTAssertThrowsError(try results[1].get()) { XCTAssertTrue("\($0)".contains("rank stopped"), "\($0)") }
        XCTAssertThrowsError(try results[0].get()) { error in
            XCTAssertTrue(error is CommunicatorError, "\(error)")
            XCTAssertTrue("\(error)".contains("did not reach"), "\(error)")
        }
    }

    func testResumingOnADifferentNumberOfRanksContinuesTheRun() throws {
        let (x, y) = toyData(192, seed: 9)
        func compiled() throws -> Model {
            let model = try toyModel(seed: 2)
            model.compile(optimizer: SGD(learningRate: 0.1, momentum: 0.9), loss: .sparseCategoricalCrossentropy())
            return model
        }
        let lone = try compiled()
        try lone.fit(x: x, y: y, batchSize: 32, epochs: 3, verbose: 0)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("fovea-dp-resume-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: file) }
        // Two ranks train one epoch; rank 0 alone writes the checkpoint.
        for result in onRanks(2, { comm -> Void in
            let model = try compiled()
            model.communicator = comm
            try model.fit(x: x, y: y, batchSize: 32, epochs: 1, verbose: 0)
            if comm.rank == 0 { try model.save(to: file) }
        }) { try result.get() }
        // Three ranks continue it to epoch 3.
        let results = onRanks(3) { comm -> [Tensor] in
            let model = try Model.load(from: file)
            model.communicator = comm
            guard model.trainingPosition?.epoch == 1 else { throw FoveaError("the checkpoint is not at epoch 1: \(String(describing: model.trainingPosition))") }
            try model.fit(x: x, y: y, batchSize: 32, epochs: 3, verbose: 0, resumingFrom: model.trainingPosition)
            return model.weightValues()
        }
        let weights = try results[0].get()
        XCTAssertLessThan(relativeDifference(weights, lone.weightValues()), 1e-5)
    }

    func testShardsCoverTheBatchInOrder() {
        for (count, size) in [(64, 2), (64, 3), (2, 4), (0, 2), (7, 7)] {
            let parts = (0..<size).map { shardRange(count: count, rank: $0, size: size) }
            XCTAssertEqual(parts.flatMap { Array($0) }, Array(0..<count))
            XCTAssertLessThanOrEqual((parts.map(\.count).max() ?? 0) - (parts.map(\.count).min() ?? 0), 1)
        }
    }
}
