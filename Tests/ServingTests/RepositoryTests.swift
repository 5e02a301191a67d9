import Foundation
import Fovea
import Logging
import FoveaServing
import XCTest

/// A fresh folder under the temporary directory, removed at the end of the test.
func temporaryFolder(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("fovea-serving-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

func writeModel(_ root: URL, _ relative: String, seed: UInt64, architecture: String = "seed-cnn") throws {
    let url = root.appendingPathComponent(relative)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try ServedModel.writeBuiltIn(architecture, seed: seed, to: url)
}

/// Deterministic pseudo-random inputs in 0...1.
func sampleInputs(_ count: Int, _ size: Int, seed: UInt64) -> [Float] {
    var state = seed &* 6364136223846793005 &+ 1442695040888963407
    return (0..<(count * size)).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(state >> 40) / Float(1 << 24)
    }
}

final class RepositoryTests: XCTestCase {
    func testLoadsWatchesAndReportsFailures() async throws {
        let root = try temporaryFolder(self)
        try writeModel(root, "digits/1/model.safetensors", seed: 1)
        try writeModel(root, "plain.safetensors", seed: 2, architecture: "dense")
        try Data("1 digit\n".utf8).write(to: root.appendingPathComponent("ignored.txt"))
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let repository = ModelRepository(root: root, options: BatchingOptions(maxBatchSize: 4, instances: 1), logger: logger)
        XCTAssertFalse(repository.isReady)
        repository.poll()
        XCTAssertTrue(repository.isReady)
        XCTAssertEqual(repository.modelNames, ["digits", "plain"])
        let first = try repository.resolve("digits", version: nil)
        XCTAssertEqual(first.version, 1)
        XCTAssertEqual(first.signature.inputShape, [28, 28, 1])
        XCTAssertEqual(first.signature.outputShape, [10])
        XCTAssertEqual(try repository.resolve("plain", version: nil).version, 1)

        // A new version is loaded once it has been seen unchanged by two polls, then is the default.
        try writeModel(root, "digits/2/model.safetensors", seed: 3)
        repository.poll()
        XCTAssertEqual(try repository.resolve("digits", version: nil).version, 1)
        repository.poll()
        XCTAssertEqual(try repository.resolve("digits", version: nil).version, 2)
        XCTAssertEqual(repository.availableVersions(of: "digits"), [2, 1])

        // A broken version is reported and the others keep serving.
        try FileManager.default.createDirectory(at: root.appendingPathComponent("digits/3"), withIntermediateDirectories: true)
        try Data("not a model".utf8).write(to: root.appendingPathComponent("digits/3/model.safetensors"))
        repository.poll(); repository.poll()
        let status = try XCTUnwrap(repository.status(of: "digits"))
        XCTAssertEqual(status.map(\.version), [3, 2, 1])
        XCTAssertEqual(status[0].state, .end)
        XCTAssertTrue(status[0].error?.contains("failed to load") ?? false, "\(status[0])")
        XCTAssertEqual(try repository.resolve("digits", version: nil).version, 2)
        XCTAssertThrowsError(try repository.resolve("digits", version: 3)) { XCTAssertEqual(($0 as? ServingError)?.status, 404) }
        let answer = try await repository.resolve("digits", version: nil).infer(InferenceBatch(count: 1, values: sampleInputs(1, 784, seed: 9)))
        XCTAssertEqual(answer.count, 10)

        // A removed version leaves at once; its requests already queued still finish.
        let second = try repository.resolve("digits", version: 2)
        async let queued = second.infer(InferenceBatch(count: 1, values: sampleInputs(1, 784, seed: 10)))
        try FileManager.default.removeItem(at: root.appendingPathComponent("digits/2"))
        repository.poll()
        XCTAssertEqual(try repository.resolve("digits", version: nil).version, 1)
        XCTAssertThrowsError(try repository.resolve("digits", version: 2))
        let late = try await queued
        XCTAssertEqual(late.count, 10)

        XCTAssertThrowsError(try repository.resolve("nope", version: nil)) { XCTAssertEqual(($0 as? ServingError)?.status, 404) }
        await repository.shutdown()
        XCTAssertThrowsError(try repository.resolve("digits", version: nil))
    }

    func testClassNames() throws {
        let root = try temporaryFolder(self)
        try writeModel(root, "m/1/model.safetensors", seed: 1)
        try Data((0..<10).map { "digit \($0)" }.joined(separator: "\n").utf8).write(to: root.appendingPathComponent("m/1/labels.txt"))
        XCTAssertEqual(ModelRepository.classNames(beside: root.appendingPathComponent("m/1/model.safetensors"), count: 10)?[3], "digit 3")
        XCTAssertNil(ModelRepository.classNames(beside: root.appendingPathComponent("m/1/model.safetensors"), count: 9))
        try FileManager.default.removeItem(at: root.appendingPathComponent("m/1/labels.txt"))
        try Data(#"{"0": ["n0", "zero"], "1": "one", "2": "two"}"#.utf8).write(to: root.appendingPathComponent("m/1/index_to_name.json"))
        XCTAssertEqual(ModelRepository.classNames(beside: root.appendingPathComponent("m/1/model.safetensors"), count: 3) ?? [], ["zero", "one", "two"])
    }

    /// A sample's answer is bit-for-bit the same whatever batch it ran in, so a served answer does
    /// not depend on which other requests shared its batch.
    func testAnswersDoNotDependOnTheBatch() throws {
        let root = try temporaryFolder(self)
        try writeModel(root, "m.safetensors", seed: 4)
        for serial in [true, false] {
            let model = try ServedModel.load(from: root.appendingPathComponent("m.safetensors"), serial: serial)
            let n = 40
            let input = sampleInputs(n, model.inputCount, seed: 5)
            let alone = try (0..<n).flatMap { i in
                try model.run(Array(input[(i * model.inputCount)..<((i + 1) * model.inputCount)]), count: 1)
            }
            for size in [2, 5, 16, 33, 40] {
                let together = try model.run(Array(input.prefix(size * model.inputCount)), count: size)
                XCTAssertEqual(together.map(\.bitPattern), alone.prefix(size * 10).map(\.bitPattern), "batch of \(size), serial \(serial)")
            }
        }
    }
}
