import Foundation
import XCTest
import Fovea

/// Kills a `fovea train` child process with SIGKILL in the middle of an epoch, then resumes from its
/// checkpoint: the checkpoint is always whole, the resumed run finishes with a valid model, and
/// that model is the one an uninterrupted run makes.
final class KillAndResumeTests: XCTestCase {
    /// The `fovea` executable SwiftPM built next to this test bundle (`.build/<configuration>/`).
    func foveaExecutable() throws -> URL {
        let places = [Bundle.main.executableURL?.deletingLastPathComponent(), Bundle(for: Self.self).bundleURL.deletingLastPathComponent()]
        for place in places.compactMap({ $0 }) {
            let candidate = place.appendingPathComponent("fovea")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        XCTFail("no fovea executable next to the tests in \(places.compactMap { $0?.path }); build it with swift build")
        throw FoveaError("fovea executable not found")
    }

    /// Runs `fovea` to completion, failing the test unless it exits 0.
    func runFovea(_ arguments: [String], log: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        let process = try start(arguments, log: log)
        process.waitUntilExit()
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        XCTAssertEqual(process.terminationStatus, 0, "fovea \(arguments.joined(separator: " ")) failed:\n\(output)", file: file, line: line)
    }

    func start(_ arguments: [String], log: URL) throws -> Process {
        guard FileManager.default.createFile(atPath: log.path, contents: nil) else { throw FoveaError("cannot create \(log.path)") }
        let process = Process()
        process.executableURL = try foveaExecutable()
        process.arguments = arguments
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    func testSIGKILLMidEpochThenResumeFinishesWithTheUninterruptedModel() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fovea-kill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let checkpoint = dir.appendingPathComponent("ck.safetensors")
        // 480 images in batches of 32: 15 steps per epoch, a checkpoint every 2 steps and after each epoch.
        let data = ["--limit", "480", "--batch-size", "32", "--threads", "1", "--verbose", "0"]
        let child = try start(["train", "--model", "seed-cnn", "--shuffle", "every-epoch", "--epochs", "100000",
                               "--checkpoint", checkpoint.path, "--checkpoint-every", "2",
                               "--output", dir.appendingPathComponent("never.safetensors").path] + data,
                              log: dir.appendingPathComponent("child.log"))

        // Wait (with a deadline that only a hang reaches) until the child has saved mid-epoch after
        // its first epoch. Every time the checkpoint exists it must load: it is never half-written.
        var reads = 0
        var observed: TrainingPosition?
        let deadline = Date().addingTimeInterval(600)
        while Date() < deadline && child.isRunning {
            if FileManager.default.fileExists(atPath: checkpoint.path) {
                let position = try Sequential.load(from: checkpoint).trainingPosition
                reads += 1
                if let position, position.epoch >= 1, position.step > 0 { observed = position; break }
            }
            usleep(5_000)
        }
        guard child.isRunning else {
            XCTFail("the child stopped before it could be killed: \((try? String(contentsOf: dir.appendingPathComponent("child.log"), encoding: .utf8)) ?? "")")
            return
        }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        XCTAssertEqual(child.terminationReason, .uncaughtSignal)
        XCTAssertEqual(child.terminationStatus, SIGKILL)
        XCTAssertNotNil(observed, "no mid-epoch checkpoint before the deadline")
        XCTAssertGreaterThan(reads, 0)

        // What the kill left: the checkpoint, whole, and at most temporary files of a write it cut short.
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0 != "child.log" }
        XCTAssertTrue(left.contains("ck.safetensors"))
        XCTAssertFalse(left.contains("never.safetensors"))
        for name in left where name != "ck.safetensors" { XCTAssertTrue(name.hasPrefix(".ck.safetensors.tmp-"), name) }
        let killed = try Sequential.load(from: checkpoint)
        let position = try XCTUnwrap(killed.trainingPosition)
        XCTAssertGreaterThanOrEqual(position.epoch, observed?.epoch ?? 0)
        XCTAssertEqual(killed.optimizer?.iterations, position.epoch * 15 + position.step)

        // Resume to two epochs beyond the one in progress, and train the same run without stopping.
        let epochs = String(position.epoch + 2)
        let resumed = dir.appendingPathComponent("resumed.safetensors"), straight = dir.appendingPathComponent("straight.safetensors")
        try runFovea(["train", "--resume", checkpoint.path, "--epochs", epochs, "--output", resumed.path] + data,
                     log: dir.appendingPathComponent("resume.log"))
        try runFovea(["train", "--model", "seed-cnn", "--shuffle", "every-epoch", "--epochs", epochs, "--output", straight.path] + data,
                     log: dir.appendingPathComponent("straight.log"))

        let model = try Sequential.load(from: resumed)
        XCTAssertEqual(model.trainingPosition?.epoch, position.epoch + 2)
        XCTAssertEqual(model.trainingPosition?.step, 0)
        XCTAssertEqual(model.weightValues().map(\.scalars), try Sequential.load(from: straight).weightValues().map(\.scalars),
                       "the killed and resumed run must end with the uninterrupted run's weights")
        let (testX, testY) = try MNIST.load().tensors(.test, limit: 1000)
        let accuracy = try model.evaluate(x: testX, y: testY, batchSize: 250)["accuracy"]!
        XCTAssertGreaterThan(accuracy, 0.6, "a seed CNN trained for \(epochs) epochs on 480 images")
        // The resumed run's writes cleared what the killed one left behind.
        let temporary = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }
        XCTAssertEqual(temporary, [])
    }
}
