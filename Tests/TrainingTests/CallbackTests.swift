import Foundation
import XCTest
import Fovea

final class CallbackTests: XCTestCase {
    /// Runs EarlyStopping over a scripted sequence of monitored values, as `fit` would.
    func run(_ stopper: EarlyStopping, _ values: [Float], model: Model, weightsPerEpoch: Bool = false) throws -> Int {
        stopper.model = model
        stopper.onTrainBegin(logs: [:])
        var epochsRun = 0
        model.stopTraining = false
        for (epoch, v) in values.enumerated() {
            if weightsPerEpoch { model.variables[0].value = Tensor(repeating: Float(epoch), shape: model.variables[0].value.shape) }
            stopper.onEpochEnd(epoch, logs: ["val_loss": v, "val_accuracy": 1 - v])
            epochsRun += 1
            if model.stopTraining { break }
        }
        try stopper.onTrainEnd(logs: [:])
        return epochsRun
    }

    func testEarlyStoppingPatience() throws {
        var messages: [String] = []
        let stopper = EarlyStopping(monitor: "val_loss", patience: 2, verbose: 1, print: { messages.append($0) })
        // Best at epoch 1 (0.5); epochs 2 and 3 do not improve: stop after epoch 3 (index 3).
        XCTAssertEqual(try run(stopper, [0.9, 0.5, 0.6, 0.55, 0.1], model: try toyModel()), 4)
        XCTAssertEqual(stopper.stoppedEpoch, 3)
        XCTAssertEqual(messages, ["Epoch 4: early stopping"])
    }

    func testEarlyStoppingMinDeltaAndMode() throws {
        // Improvements smaller than minDelta do not count.
        let stopper = EarlyStopping(monitor: "val_loss", minDelta: 0.1, patience: 1)
        XCTAssertEqual(try run(stopper, [1.0, 0.95, 0.93, 0.5], model: try toyModel()), 2)
        // Accuracy is maximised in auto mode.
        let accuracy = EarlyStopping(monitor: "val_accuracy", patience: 1)
        XCTAssertEqual(try run(accuracy, [0.5, 0.4, 0.3], model: try toyModel()), 3, "val_accuracy 0.5, 0.6, 0.7 keeps improving")
        let explicitMin = EarlyStopping(monitor: "val_accuracy", patience: 0, mode: .min)
        XCTAssertEqual(try run(explicitMin, [0.5, 0.4], model: try toyModel()), 2)
    }

    func testEarlyStoppingRestoresBestWeights() throws {
        let model = try toyModel()
        var messages: [String] = []
        let stopper = EarlyStopping(patience: 1, verbose: 1, restoreBestWeights: true, print: { messages.append($0) })
        XCTAssertEqual(try run(stopper, [0.9, 0.3, 0.4, 0.5], model: model, weightsPerEpoch: true), 3)
        XCTAssertEqual(model.variables[0].value.scalars.first, 1, "weights of epoch index 1, the best")
        XCTAssertEqual(messages, ["Epoch 3: early stopping", "Restoring model weights from the end of the best epoch: 2."])
    }

    func testEarlyStoppingEndsFit() throws {
        // A learning rate this large makes the validation loss rise at once.
        let (x, y) = toyData(64, seed: 11)
        let model = try toyModel()
        model.compile(optimizer: SGD(learningRate: 50), loss: .sparseCategoricalCrossentropy())
        let stopper = EarlyStopping(monitor: "loss", patience: 0, print: { _ in })
        let history = try model.fit(x: x, y: y, batchSize: 64, epochs: 20, verbose: 0, callbacks: [stopper])
        XCTAssertLessThan(history["loss"].count, 20)
        XCTAssertEqual(history["loss"].count, stopper.stoppedEpoch + 1)
    }

    func testCallbackOrderAndLogs() throws {
        let (x, y) = toyData(20, seed: 12)
        let model = try toyModel()
        model.compile(optimizer: SGD(), loss: .sparseCategoricalCrossentropy(), metrics: [.accuracy])
        var events: [String] = []
        let recorder = LambdaCallback(onEpochBegin: { e, _ in events.append("begin\(e)") },
                                      onEpochEnd: { e, logs in events.append("end\(e):\(logs.keys.sorted().joined(separator: ","))") },
                                      onBatchEnd: { b, _ in events.append("batch\(b)") },
                                      onTrainBegin: { _ in events.append("train") }, onTrainEnd: { _ in events.append("done") })
        try model.fit(x: x, y: y, batchSize: 10, epochs: 2, verbose: 0, validationSplit: 0.5, callbacks: [recorder])
        XCTAssertEqual(events, ["train", "begin0", "batch0", "end0:accuracy,loss,val_accuracy,val_loss",
                                "begin1", "batch0", "end1:accuracy,loss,val_accuracy,val_loss", "done"])
    }

    func testLearningRateScheduler() throws {
        let (x, y) = toyData(8, seed: 13)
        let model = try toyModel()
        let optimizer = SGD(learningRate: 1)
        model.compile(optimizer: optimizer, loss: .sparseCategoricalCrossentropy())
        var rates: [Float] = []
        let scheduler = LearningRateScheduler { epoch, rate in epoch == 0 ? rate : rate / 2 }
        try model.fit(x: x, y: y, batchSize: 8, epochs: 3, verbose: 0,
                      callbacks: [scheduler, LambdaCallback(onEpochBegin: { _, _ in rates.append(optimizer.learningRate) })])
        XCTAssertEqual(rates, [1, 0.5, 0.25])
    }
}
