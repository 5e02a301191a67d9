import Foundation
import XCTest
import Fovea

/// A file made by scripts/make_keras_model_fixture.py.
func fixture(_ name: String) throws -> URL {
    try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil)).appendingPathComponent(name)
}

func fixtureBytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: try fixture(name))) }

/// A fresh temporary directory, removed when the test ends.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("fovea-io-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// Asserts that `body` throws a `FoveaError` whose message contains every one of `parts`.
@discardableResult
func assertFoveaError(containing parts: [String], file: StaticString = #filePath, line: UInt = #line,
                      _ body: () throws -> Any) -> FoveaError? {
    do {
        _ = try body()
        XCTFail("expected an error containing \(parts), but nothing was thrown", file: file, line: line)
        return nil
    } catch let error as FoveaError {
        for part in parts {
            XCTAssertTrue(error.message.contains(part), "'\(error.message)' does not contain '\(part)'", file: file, line: line)
        }
        return error
    } catch {
        XCTFail("expected a FoveaError, got \(type(of: error)): \(error)", file: file, line: line)
        return nil
    }
}

/// The largest absolute difference between two tensors of the same shape.
func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.shape == b.shape, "shapes \(a.shape) and \(b.shape) differ")
    return zip(a.scalars, b.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// Runs `body` on every prefix of `bytes` (from the empty one up, with `step`) and on `bytes` with
/// one byte flipped at every `flipStep`-th position: each must either succeed or throw a `FoveaError`.
/// A crash fails the whole test run, which is the point. Returns how many inputs were rejected.
@discardableResult
func feedDamagedCopies(of bytes: [UInt8], truncationStep: Int = 1, flipStep: Int = 1,
                       _ body: ([UInt8]) throws -> Void) -> (truncatedRejected: Int, flippedRejected: Int, tried: Int) {
    var truncatedRejected = 0, flippedRejected = 0, tried = 0
    for length in stride(from: 0, to: bytes.count, by: truncationStep) {
        tried += 1
        do { try body(Array(bytes[0..<length])) } catch is FoveaError { truncatedRejected += 1 } catch {
            XCTFail("truncation to \(length) bytes threw a non-Fovea error: \(error)")
        }
    }
    for position in stride(from: 0, to: bytes.count, by: flipStep) {
        var damaged = bytes
        // Flip a different bit at each position so that both high and low bits are exercised.
        damaged[position] ^= UInt8(1) << UInt8(position % 8)
        tried += 1
        do { try body(damaged) } catch is FoveaError { flippedRejected += 1 } catch {
            XCTFail("flipping byte \(position) threw a non-Fovea error: \(error)")
        }
    }
    return (truncatedRejected, flippedRejected, tried)
}
