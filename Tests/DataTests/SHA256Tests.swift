import Foundation
import XCTest
import Fovea

final class SHA256Tests: XCTestCase {
    /// FIPS 180-4 / NIST CSRC example vectors.
    func testFIPSVectors() {
        XCTAssertEqual(SHA256.hexDigest(Array("abc".utf8)),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hexDigest([UInt8]()),
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hexDigest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hexDigest(Array("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".utf8)),
                       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
        XCTAssertEqual(SHA256.hexDigest([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        XCTAssertEqual(SHA256.digest(Array("abc".utf8)).count, 32)
        XCTAssertEqual(SHA256.hexDigest(Data("abc".utf8)), SHA256.hexDigest(Array("abc".utf8)))
    }

    /// Every length around the padding boundaries agrees with `sha256sum`.
    func testPaddingBoundariesAgainstSha256sum() throws {
        let dir = try makeTemporaryDirectory(self)
        let lengths = Array(0...130) + [1000, 4095, 4096, 4097]
        var expected = [String: String]()
        for n in lengths {
            let bytes = pseudoRandomBytes(n, seed: UInt64(n))
            try Data(bytes).write(to: dir.appendingPathComponent("f\(n)"))
            expected["f\(n)"] = SHA256.hexDigest(bytes)
        }
        let output = String(decoding: try runCommand("/usr/bin/sha256sum", lengths.map { "f\($0)" }, in: dir), as: UTF8.self)
        var checked = 0
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            XCTAssertEqual(expected[String(parts[1])], String(parts[0]), String(parts[1]))
            checked += 1
        }
        XCTAssertEqual(checked, lengths.count)
    }

    /// A multi-megabyte input hashes the same as `sha256sum` (speed is measured by benchmarks, not here).
    func testTenMegabytesMatchesSha256sum() throws {
        let bytes = pseudoRandomBytes(10 << 20, seed: 5)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fovea-sha-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(bytes).write(to: dir.appendingPathComponent("big"))
        let expected = String(decoding: try runCommand("/usr/bin/sha256sum", ["big"], in: dir), as: UTF8.self).prefix(64)
        XCTAssertEqual(SHA256.hexDigest(bytes), String(expected))
    }
}
