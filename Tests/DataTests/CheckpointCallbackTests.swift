import Foundation
import XCTest
import Fovea

final class CheckpointCallbackTests: XCTestCase {
    func smallModel(seed: UInt64 = 3) throws -> Model {
        try Sequential([Input(shape: [4]), Dense(5, activation: .relu), Dense(3, activation: .softmax)], seed: seed)
    }

    /// 4 features, 3 classes decided by which of the first three features is largest.
    func data(_ n: Int, seed: UInt64) -> (x: Tensor, y: Tensor) {
        let x = Tensor.uniform([n, 4], seed: seed)
        let s = x.scalars
        let labels = (0..<n).map { i -> Float in
            let row = Array(s[(i * 4)..<(i * 4 + 3)])
            return Float(row.firstIndex(of: row.max()!)!)
        }
        return (x, Tensor(shape: [n], scalars: labels))
    }

    func testFilepathPlaceholdersFollowPythonFormatting() throws {
        var messages: [String] = []
        let dir = try makeTemporaryDirectory(self)
        let cb = try ModelCheckpoint(filepath: dir.path + "/m-{epoch:02d}-{val_loss:.2f}-{loss}.safetensors",
                                     verbose: 1, print: { messages.append($0) })
        let saved = try smallModel()  // callbacks hold their model weakly
        cb.model = saved
        cb.onEpochBegin(2, logs: [:])
        cb.onEpochEnd(2, logs: ["val_loss": 0.12345, "loss": 0.5])
        XCTAssertEqual(cb.lastSaved?.lastPathComponent, "m-03-0.12-0.5.safetensors")
        XCTAssertEqual(messages.first, "\nEpoch 3: saving model to \(dir.path)/m-03-0.12-0.5.safetensors")
        XCTAssertNotNil(try cb.lastSaved.map { try Sequential.load(from: $0) })

        for bad in ["m-{epoch.keras", "m-{epoch:x}.keras", "m-}.keras", "m-{}.keras"] {
            XCTAssertThrowsError(try ModelCheckpoint(filepath: bad), bad)
        }
        XCTAssertThrowsError(try ModelCheckpoint(filepath: "m.keras", saveFrequency: .batches(0)))

        // A placeholder the logs do not have stops training with a message naming it.
        messages = []
        let missing = try ModelCheckpoint(filepath: dir.path + "/{val_accuracy:.3f}.safetensors", print: { messages.append($0) })
        let model = try smallModel()
        missing.model = model
        missing.onEpochEnd(0, logs: ["loss": 1])
        XCTAssertTrue(model.stopTraining)
        XCTAssertTrue(missing.failure?.contains("{val_accuracy}") ?? false, missing.failure ?? "no failure")
    }

    func testSaveBestOnlyKeepsImprovementsWithKerasMessages() throws {
        var messages: [String] = []
        let dir = try makeTemporaryDirectory(self)
        let cb = try ModelCheckpoint(filepath: dir.path + "/best-{epoch:02d}.safetensors", monitor: "val_loss", verbose: 1,
                                     saveBestOnly: true, print: { messages.append($0) })
        let model = try smallModel()
        cb.model = model
        for (epoch, value) in [(0, Float(0.5)), (1, 0.6), (2, 0.4)] {
            cb.onEpochBegin(epoch, logs: [:])
            cb.onEpochEnd(epoch, logs: ["val_loss": value])
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertEqual(files, ["best-01.safetensors", "best-03.safetensors"])
        XCTAssertEqual(messages, [
            "\nEpoch 1: val_loss improved from None to 0.50000, saving model to \(dir.path)/best-01.safetensors",
            "\nEpoch 1: finished saving model to \(dir.path)/best-01.safetensors",
            "\nEpoch 2: val_loss did not improve from 0.50000",
            "\nEpoch 3: val_loss improved from 0.50000 to 0.40000, saving model to \(dir.path)/best-03.safetensors",
            "\nEpoch 3: finished saving model to \(dir.path)/best-03.safetensors",
        ])
        XCTAssertEqual(cb.best, 0.4)

        // Accuracies go up in `auto` mode; weights-only files hold no architecture.
        let acc = try ModelCheckpoint(filepath: dir.path + "/acc.safetensors", monitor: "val_accuracy",
                                      saveBestOnly: true, saveWeightsOnly: true, print: { _ in })
        acc.model = model
        acc.onEpochEnd(0, logs: ["val_accuracy": 0.9])
        acc.onEpochEnd(1, logs: ["val_accuracy": 0.8])
        XCTAssertEqual(acc.best, 0.9)
        XCTAssertThrowsError(try Sequential.load(from: dir.appendingPathComponent("acc.safetensors")))
        let other = try smallModel(seed: 9)
        try other.loadWeights(from: dir.appendingPathComponent("acc.safetensors"))
        XCTAssertEqual(other.weightValues().map(\.scalars), model.weightValues().map(\.scalars))
    }

    func testSavingEveryNBatchesDuringFit() throws {
        let dir = try makeTemporaryDirectory(self)
        let (x, y) = data(40, seed: 1)
        let model = try smallModel()
        model.compile(optimizer: SGD(), loss: .sparseCategoricalCrossentropy())
        let cb = try ModelCheckpoint(filepath: dir.path + "/e{epoch}-b{batch:03d}.safetensors", saveFrequency: .batches(2), print: { _ in })
        try model.fit(x: x, y: y, batchSize: 10, epochs: 2, verbose: 0, callbacks: [cb])
        // 4 batches per epoch, a save after every second batch, counted across epochs.
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertEqual(files, ["e1-b002.safetensors", "e1-b004.safetensors", "e2-b002.safetensors", "e2-b004.safetensors"])
        let last = try Sequential.load(from: dir.appendingPathComponent("e2-b004.safetensors"))
        XCTAssertEqual(last.weightValues().map(\.scalars), model.weightValues().map(\.scalars))
    }

    func testCSVLoggerWritesKerasColumnsAndAppends() throws {
        let dir = try makeTemporaryDirectory(self)
        let csv = dir.appendingPathComponent("history.csv")
        let (x, y) = data(60, seed: 2)
        let model = try smallModel()
        model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(), metrics: [.accuracy])
        let history = try model.fit(x: x, y: y, batchSize: 10, epochs: 3, verbose: 0, validationSplit: 0.2, callbacks: [CSVLogger(csv)])
        // Keras 3.15 (Python's csv module) ends rows in CRLF.
        var lines = try String(contentsOf: csv, encoding: .utf8).components(separatedBy: "\r\n").dropLast(1).map { $0 }
        XCTAssertEqual(lines.count, 4)
        XCTAssertEqual(lines[0], "epoch,accuracy,loss,val_accuracy,val_loss")
        XCTAssertEqual(lines[1].split(separator: ",").first, "0")
        XCTAssertEqual(lines[3].split(separator: ",").map(String.init), ["2"] + ["accuracy", "loss", "val_accuracy", "val_loss"].map { "\(Double(history[$0][2]))" })

        // Appending adds rows, not a second header.
        try model.fit(x: x, y: y, batchSize: 10, epochs: 1, verbose: 0, validationSplit: 0.2, callbacks: [CSVLogger(csv, append: true)])
        lines = try String(contentsOf: csv, encoding: .utf8).components(separatedBy: "\r\n").dropLast(1).map { $0 }
        XCTAssertEqual(lines.count, 5)
        XCTAssertEqual(lines.filter { $0.hasPrefix("epoch") }.count, 1)

        // Without validation Keras still adds val_ columns, holding NA; a custom separator.
        let plain = dir.appendingPathComponent("plain.csv")
        try model.fit(x: x, y: y, batchSize: 10, epochs: 1, verbose: 0, callbacks: [CSVLogger(plain, separator: ";")])
        lines = try String(contentsOf: plain, encoding: .utf8).components(separatedBy: "\r\n").dropLast(1).map { $0 }
        XCTAssertEqual(lines[0], "epoch;accuracy;loss;val_accuracy;val_loss")
        XCTAssertTrue(lines[1].hasSuffix(";NA;NA"), lines[1])

        // An unwritable destination stops training with a message instead of crashing.
        var messages: [String] = []
        let blocked = CSVLogger(dir.appendingPathComponent("no/such/dir/h.csv"), print: { messages.append($0) })
        try model.fit(x: x, y: y, batchSize: 10, epochs: 3, verbose: 0, callbacks: [blocked])
        XCTAssertNotNil(blocked.failure)
        XCTAssertTrue(messages.first?.contains("no/such/dir/h.csv") ?? false)
    }
}
