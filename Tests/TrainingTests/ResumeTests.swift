import Foundation
import XCTest
import Fovea

/// Stopping a run, saving it and resuming it ends where the uninterrupted run ends, bit for bit.
final class ResumeTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("fovea-resume-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    static let mnist = Result { try MNIST.load() }

    func subset(_ n: Int, from start: Int = 0) throws -> (x: Tensor, y: Tensor) {
        let (x, y) = try Self.mnist.get().tensors(.train, limit: start + n)
        return (x.slice(batch: start..<(start + n)), y.slice(batch: start..<(start + n)))
    }

    /// Convolution, pooling, dropout and dense: every kind of state a checkpoint has to carry.
    func smallCNN() throws -> Model {
        let model = try Sequential([Input(shape: [28, 28, 1]), Conv2D(filters: 4, kernelSize: 3, activation: .relu), MaxPooling2D(poolSize: 2),
                                    Flatten(), Dropout(0.3), Dense(10, activation: .softmax)], seed: 11)
        model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(), metrics: [.accuracy])
        return model
    }

    func testResumingAfterAnEpochGivesTheUninterruptedWeights() throws {
        let (x, y) = try subset(200)
        for shuffle in Sequential.Shuffle.allCases {
            let straight = try smallCNN()
            let full = try straight.fit(x: x, y: y, batchSize: 32, epochs: 2, verbose: 0, validationSplit: 0.2, shuffle: shuffle)

            let first = try smallCNN()
            try first.fit(x: x, y: y, batchSize: 32, epochs: 1, verbose: 0, validationSplit: 0.2, shuffle: shuffle)
            let url = dir.appendingPathComponent("epoch1-\(shuffle.rawValue).safetensors")
            try first.save(to: url)
            let resumed = try Sequential.load(from: url)
            let position = try XCTUnwrap(resumed.trainingPosition)
            XCTAssertEqual(position.epoch, 1); XCTAssertEqual(position.step, 0)
            let rest = try resumed.fit(x: x, y: y, batchSize: 32, epochs: 2, verbose: 0, validationSplit: 0.2, shuffle: shuffle,
                                       resumingFrom: position)

            XCTAssertEqual(resumed.weightValues().map(\.scalars), straight.weightValues().map(\.scalars), "\(shuffle)")
            XCTAssertEqual(resumed.optimizer?.iterations, straight.optimizer?.iterations)
            XCTAssertEqual(rest.epochs, [1])
            for key in ["loss", "accuracy", "val_loss", "val_accuracy"] { XCTAssertEqual(rest[key], [full[key][1]], "\(shuffle) \(key)") }
        }
    }

    func testResumingFromEveryMidEpochCheckpointGivesTheUninterruptedWeights() throws {
        let (x, y) = try subset(160)
        let straight = try smallCNN()
        // 5 batches per epoch; a full checkpoint after every third batch, counted across epochs.
        let checkpoint = try ModelCheckpoint(filepath: dir.path + "/ck-e{epoch}-b{batch}.safetensors", saveFrequency: .batches(3), print: { _ in })
        let full = try straight.fit(x: x, y: y, batchSize: 32, epochs: 3, verbose: 0, shuffle: .everyEpoch, callbacks: [checkpoint])
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertEqual(files, ["ck-e1-b3.safetensors", "ck-e2-b1.safetensors", "ck-e2-b4.safetensors", "ck-e3-b2.safetensors", "ck-e3-b5.safetensors"])
        for file in files {
            let resumed = try Sequential.load(from: dir.appendingPathComponent(file))
            let position = try XCTUnwrap(resumed.trainingPosition, file)
            XCTAssertGreaterThan(position.step, 0, file)
            XCTAssertEqual(position.samplesSeen, Swift.min(160, position.step * 32), file)
            let rest = try resumed.fit(x: x, y: y, batchSize: 32, epochs: 3, verbose: 0, shuffle: .everyEpoch, resumingFrom: position)
            XCTAssertEqual(resumed.weightValues().map(\.scalars), straight.weightValues().map(\.scalars), file)
            XCTAssertEqual(resumed.optimizer?.iterations, 15, file)
            // The interrupted epoch reports what the uninterrupted run reported for it.
            XCTAssertEqual(rest.epochs.first, position.epoch, file)
            XCTAssertEqual(rest["loss"], Array(full["loss"][position.epoch...]), file)
            XCTAssertEqual(rest["accuracy"], Array(full["accuracy"][position.epoch...]), file)
        }
    }

    func testResumingWithOtherSettingsOrDataIsAnError() throws {
        let (x, y) = try subset(64)
        let model = try smallCNN()
        try model.fit(x: x, y: y, batchSize: 16, epochs: 1, verbose: 0)
        let url = dir.appendingPathComponent("ck.safetensors")
        try model.save(to: url)
        func resumeError(batchSize: Int = 16, shuffle: Sequential.Shuffle = .everyEpoch, data: (x: Tensor, y: Tensor)? = nil) throws -> String {
            let loaded = try Sequential.load(from: url)
            let (dx, dy) = data ?? (x, y)
            do {
                try loaded.fit(x: dx, y: dy, batchSize: batchSize, epochs: 2, verbose: 0, shuffle: shuffle, resumingFrom: loaded.trainingPosition)
                return "resumed without an error"
            } catch { return "\(error)" }
        }
        XCTAssertEqual(try resumeError(batchSize: 8), "cannot resume: the checkpoint was trained with batch size 16 but this run uses 8; use the same batch size")
        XCTAssertTrue(try resumeError(data: try subset(60)).contains("on 64 samples but this run has 60"))
        XCTAssertTrue(try resumeError(data: try subset(64, from: 64)).contains("on different data: same number of samples (64)"))
        XCTAssertTrue(try resumeError(shuffle: .samePermutation).contains("with shuffle every-epoch but this run shuffles same-permutation"))
        XCTAssertEqual(try resumeError(), "resumed without an error")
    }

    func testTrainingPositionJSONRoundTripsAndRejectsNonsense() throws {
        let position = TrainingPosition(epoch: 3, step: 2, batchSize: 32, sampleCount: 100, shuffle: "every-epoch",
                                        dataFingerprint: 0xFEDC_BA98_7654_3210, shuffleState: [1, 2, 3, UInt64.max],
                                        lossSum: 0.1 + 0.2, samplesSeen: 64, metricCounts: [.init(correct: 40, total: 64)])
        let text = try JSONSerialization.data(withJSONObject: position.json)
        let back = try TrainingPosition(json: JSONSerialization.jsonObject(with: text) as! [String: Any])
        XCTAssertEqual(back, position)
        XCTAssertEqual(back.lossSum.bitPattern, (0.1 + 0.2).bitPattern)
        XCTAssertEqual(position.stepsPerEpoch, 4)
        var json = position.json
        json["step"] = 9
        XCTAssertThrowsError(try TrainingPosition(json: json)) { XCTAssertTrue("\($0)".contains("step 9 of 4"), "\($0)") }
        json = position.json
        json["shuffle_state"] = NSNull()
        XCTAssertThrowsError(try TrainingPosition(json: json)) { XCTAssertTrue("\($0)".contains("needs shuffle_state"), "\($0)") }
        json = position.json
        json["shuffle"] = "sometimes"
        XCTAssertThrowsError(try TrainingPosition(json: json)) { XCTAssertTrue("\($0)".contains("'shuffle' must be one of"), "\($0)") }
        json = position.json
        json["metric_counts"] = [[5, 2]]
        XCTAssertThrowsError(try TrainingPosition(json: json)) { XCTAssertTrue("\($0)".contains("metric_counts"), "\($0)") }
    }

    func testFormatVersionOneModelFromTheOldWriterStillLoads() throws {
        // Made by `fovea train --model seed-cnn --limit 512 --epochs 2 --batch-size 32 --seed 5`
        // built from main at e5f8f0d (format version 1), which then reported on MNIST's test set
        // "Test loss: 0.9966 - test accuracy: 0.6748".
        let url = try XCTUnwrap(Bundle.module.url(forResource: "seed-cnn-format-v1", withExtension: "safetensors", subdirectory: "Fixtures"))
        let metadata = try SafeTensors.decode(Data(contentsOf: url), file: url.path).metadata
        XCTAssertEqual(metadata["format_version"], "1")
        XCTAssertNil(metadata["checksum"])
        let model = try Sequential.load(from: url)
        XCTAssertNil(model.optimizer)
        XCTAssertEqual(model.parameterCount, 93_322)
        model.compile(optimizer: RMSprop(), loss: .sparseCategoricalCrossentropy(), metrics: [.accuracy])
        let (testX, testY) = try Self.mnist.get().tensors(.test)
        let result = try model.evaluate(x: testX, y: testY, batchSize: 256)
        XCTAssertEqual(result["loss"]!, 0.9966, accuracy: 0.00006)
        XCTAssertEqual(result["accuracy"]!, 0.6748, accuracy: 0.00006)
    }
}
