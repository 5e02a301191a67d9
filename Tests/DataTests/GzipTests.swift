import Foundation
import XCTest
import Fovea

final class GzipTests: XCTestCase {
    /// Files compressed by the `gzip` command decompress to the original; so do concatenated members.
    func testRoundTripWithGzipCommand() throws {
        let dir = try makeTemporaryDirectory(self)
        let text = Array(String(repeating: "the quick brown fox jumps over the lazy dog\n", count: 5000).utf8)
        let random = pseudoRandomBytes(300_000, seed: 42)
        for (name, contents) in [("text", text), ("random", random), ("empty", [UInt8]())] {
            let url = dir.appendingPathComponent(name)
            try Data(contents).write(to: url)
            let compressed = try runCommand("/usr/bin/gzip", ["-c", "-9", url.path])
            XCTAssertEqual(try Gzip.decompress(compressed), contents, name)
            XCTAssertEqual(try Gzip.decompress([UInt8](compressed)), contents, name)
        }
        // Two members back to back, as `cat a.gz b.gz` makes; trailing zero padding is ignored.
        let a = try runCommand("/usr/bin/gzip", ["-c", dir.appendingPathComponent("text").path])
        let b = try runCommand("/usr/bin/gzip", ["-c", dir.appendingPathComponent("random").path])
        XCTAssertEqual(try Gzip.decompress(a + b), text + random)
        XCTAssertEqual(try Gzip.decompress(a + b + Data(count: 7)), text + random)
        // Garbage after a member is an error, not silently dropped.
        XCTAssertThrowsError(try Gzip.decompress(a + Data("junk".utf8)))

        // Our own compressor's output is read by `gunzip`.
        let ours = dir.appendingPathComponent("ours.gz")
        try Data(Gzip.compress(text)).write(to: ours)
        XCTAssertEqual([UInt8](try runCommand("/usr/bin/gzip", ["-d", "-c", ours.path])), text)
    }

    func testZlibFormat() throws {
        // A zlib stream with one stored block holding "hello", and its Adler-32.
        let payload = Array("hello".utf8)
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in payload { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        let adler = b << 16 | a
        let stream: [UInt8] = [0x78, 0x01, 0x01, 0x05, 0x00, 0xfa, 0xff] + payload
            + [UInt8(adler >> 24), UInt8(adler >> 16 & 0xff), UInt8(adler >> 8 & 0xff), UInt8(adler & 0xff)]
        XCTAssertEqual(try Gzip.decompress(stream), payload)
        var wrong = stream
        wrong[wrong.count - 1] ^= 1
        XCTAssertThrowsError(try Gzip.decompress(wrong)) { error in
            guard case .corrupt = error as? GzipError else { return XCTFail("\(error)") }
        }
    }

    func testTruncationAtEveryLength() throws {
        let original = pseudoRandomBytes(2000, seed: 3) + [UInt8](repeating: 7, count: 3000)
        let compressed = Gzip.compress(original)
        XCTAssertEqual(try Gzip.decompress(compressed), original)
        XCTAssertThrowsError(try Gzip.decompress([UInt8]())) { XCTAssertEqual($0 as? GzipError, .truncated) }
        for length in 1..<compressed.count {
            XCTAssertThrowsError(try Gzip.decompress(Array(compressed.prefix(length))), "prefix \(length)") {
                XCTAssertEqual($0 as? GzipError, .truncated, "prefix \(length)")
            }
        }
    }

    func testCorruptInput() {
        XCTAssertThrowsError(try Gzip.decompress(Array("definitely not compressed".utf8))) { error in
            guard case .corrupt = error as? GzipError else { return XCTFail("\(error)") }
        }
    }

    /// No single-bit flip yields different output without an error (gzip's CRC-32 and length are checked).
    /// The few flips that pass touch only bits that do not affect the data: the FTEXT flag, MTIME, XFL and
    /// OS in the header, and the unused padding bits after the end of the last deflate block.
    func testBitFlipsAreDetected() throws {
        let original = Array(String(repeating: "MNIST 0123456789 ", count: 40).utf8) + pseudoRandomBytes(200, seed: 9)
        let compressed = Gzip.compress(original)
        var detected = 0, harmless = 0
        for offset in 0..<compressed.count {
            for bit in 0..<8 {
                var flipped = compressed
                flipped[offset] ^= UInt8(1 << bit)
                do {
                    let output = try Gzip.decompress(flipped)
                    XCTAssertEqual(output, original, "flip at \(offset).\(bit) gave wrong output")
                    let lastDeflateByte = compressed.count - 9
                    XCTAssertTrue((offset == 3 && bit == 0) || (4...9).contains(offset) || offset == lastDeflateByte,
                                  "flip at \(offset).\(bit) not detected")
                    harmless += 1
                } catch is GzipError {
                    detected += 1
                }
            }
        }
        XCTAssertLessThanOrEqual(harmless, 1 + 6 * 8 + 7)
        XCTAssertEqual(detected + harmless, 8 * compressed.count)
    }

    func testOutputCap() throws {
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        let compressed = Gzip.compress(zeros)
        XCTAssertLessThan(compressed.count, 2000)
        XCTAssertEqual(try Gzip.decompress(compressed, maxOutputBytes: 1 << 20).count, 1 << 20)
        XCTAssertThrowsError(try Gzip.decompress(compressed, maxOutputBytes: (1 << 20) - 1)) {
            XCTAssertEqual($0 as? GzipError, .outputTooLarge(limit: (1 << 20) - 1))
        }
        XCTAssertThrowsError(try Gzip.decompress(compressed, maxOutputBytes: 1000)) {
            XCTAssertEqual($0 as? GzipError, .outputTooLarge(limit: 1000))
        }
        XCTAssertEqual(try Gzip.decompress(Gzip.compress([]), maxOutputBytes: 0), [])
    }

    /// A corrupt size trailer must not make the decompressor trust it.
    func testLyingSizeTrailer() throws {
        let original = pseudoRandomBytes(5000, seed: 11)
        var compressed = Gzip.compress(original)
        let n = compressed.count
        compressed[n - 4] = 0xff; compressed[n - 3] = 0xff; compressed[n - 2] = 0xff; compressed[n - 1] = 0x7f
        XCTAssertThrowsError(try Gzip.decompress(compressed)) { error in
            guard case .corrupt = error as? GzipError else { return XCTFail("\(error)") }
        }
    }
}
