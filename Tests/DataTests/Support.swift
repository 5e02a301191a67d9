import Foundation
import XCTest
import Fovea

/// A fresh temporary directory, removed when the test ends.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("fovea-data-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// Runs an external command, returning its standard output; fails the test if it exits non-zero.
@discardableResult
func runCommand(_ executable: String, _ arguments: [String], in directory: URL? = nil,
         file: StaticString = #filePath, line: UInt = #line) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0, "\(executable) \(arguments) failed", file: file, line: line)
    return output
}

/// Deterministic pseudo-random bytes (SplitMix64).
func pseudoRandomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return UInt8(truncatingIfNeeded: z ^ (z >> 31))
    }
}

/// A small synthetic MNIST-format data set, written to a directory as the four standard files.
struct SyntheticMNIST {
    var trainCount = 6, testCount = 3, rows = 4, columns = 5
    lazy var trainImages = pseudoRandomBytes(trainCount * rows * columns, seed: 1)
    lazy var trainLabels = (0..<trainCount).map { UInt8($0 % 10) }
    lazy var testImages = pseudoRandomBytes(testCount * rows * columns, seed: 2)
    lazy var testLabels = (0..<testCount).map { UInt8(9 - $0 % 10) }

    /// The four files' IDX encodings, in `MNIST.fileNames` order.
    mutating func encodedFiles() -> [[UInt8]] {
        [IDX.encode(dimensions: [trainCount, rows, columns], data: trainImages),
         IDX.encode(dimensions: [trainCount], data: trainLabels),
         IDX.encode(dimensions: [testCount, rows, columns], data: testImages),
         IDX.encode(dimensions: [testCount], data: testLabels)]
    }

    /// Writes the files (gzipped with a `.gz` name, or plain), optionally with a SHA256SUMS listing them.
    /// `replace` substitutes the (uncompressed) contents of a file, by index into `MNIST.fileNames`.
    @discardableResult
    mutating func write(to directory: URL, gzip: Bool = true, checksums: Bool = true,
                        replace: [Int: [UInt8]] = [:]) throws -> [URL] {
        var urls = [URL]()
        var sums = ""
        for (i, var contents) in encodedFiles().enumerated() {
            if let replacement = replace[i] { contents = replacement }
            let name = MNIST.fileNames[i] + (gzip ? ".gz" : "")
            let bytes = gzip ? Gzip.compress(contents, level: 9) : contents
            let url = directory.appendingPathComponent(name)
            try Data(bytes).write(to: url)
            urls.append(url)
            sums += "\(SHA256.hexDigest(bytes))  \(name)\n"
        }
        if checksums {
            try sums.write(to: directory.appendingPathComponent("SHA256SUMS"), atomically: true, encoding: .utf8)
        }
        return urls
    }
}

/// Asserts that `body` throws a `DatasetError` naming `path`, and returns it.
@discardableResult
func assertDatasetError(naming path: String, file: StaticString = #filePath, line: UInt = #line,
                        _ body: () throws -> Any) -> DatasetError? {
    do {
        _ = try body()
        XCTFail("expected a DatasetError naming \(path), but nothing was thrown", file: file, line: line)
        return nil
    } catch let error as DatasetError {
        XCTAssertEqual(error.file, path, "\(error)", file: file, line: line)
        XCTAssertTrue(error.description.contains(path), "description does not name \(path): \(error)", file: file, line: line)
        return error
    } catch {
        XCTFail("expected a DatasetError, got \(type(of: error)): \(error)", file: file, line: line)
        return nil
    }
}
