import Foundation
import XCTest
import FoveaFuzzing

/// Feeds every committed fuzz seed (`Fuzz/Corpus/<harness>/`) and every input a fuzzer once crashed
/// on (`Fuzz/Regressions/<harness>/`) to the harnesses' entry points, so the inputs are checked in
/// the ordinary test run, without the fuzzer. A crash here is the bug coming back.
final class FuzzRegressionTests: XCTestCase {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    func inputs(in folder: String) throws -> [(harness: String, file: URL)] {
        let root = Self.fuzzDirectory.appendingPathComponent(folder)
        let fm = FileManager.default
        guard fm.fileExists(atPath: root.path) else { return [] }
        var result: [(String, URL)] = []
        for harness in try fm.contentsOfDirectory(atPath: root.path).sorted() {
            let dir = root.appendingPathComponent(harness)
            XCTAssertTrue(FuzzTargets.names.contains(harness), "\(folder)/\(harness) names no harness (\(FuzzTargets.names))")
            for name in try fm.contentsOfDirectory(atPath: dir.path).sorted() where !name.hasPrefix(".") {
                result.append((harness, dir.appendingPathComponent(name)))
            }
        }
        return result
    }

    func testEveryHarnessHasSeeds() throws {
        let seeded = Set(try inputs(in: "Corpus").map(\.harness))
        XCTAssertEqual(seeded, Set(FuzzTargets.names), "every harness needs a seed corpus in Fuzz/Corpus/<harness>")
    }

    func testSeedCorporaReplay() throws {
        let all = try inputs(in: "Corpus")
        XCTAssertFalse(all.isEmpty)
        for (harness, file) in all {
            XCTAssertTrue(FuzzTargets.run(harness, [UInt8](try Data(contentsOf: file))), file.path)
        }
    }

    func testRegressionInputsReplay() throws {
        for (harness, file) in try inputs(in: "Regressions") {
            XCTAssertTrue(FuzzTargets.run(harness, [UInt8](try Data(contentsOf: file))), file.path)
        }
    }
}
