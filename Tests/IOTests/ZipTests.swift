import Foundation
import XCTest
import Fovea
import ZIPFoundation

final class ZipTests: XCTestCase {
    func testWrittenArchivesReadBackStoredAndDeflated() throws {
        var zip = ZipWriter()
        let text = Array(String(repeating: "convolution ", count: 200).utf8)
        let noise = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 7) }
        try zip.add("a.txt", text, compress: true)
        try zip.add("dir/b.bin", noise, compress: true)
        try zip.add("empty", [])
        try zip.add("ünïcode.txt", Array("ok".utf8))
        let bytes = try zip.finish()
        let archive = try ZipArchive(Data(bytes), file: "t.zip")
        XCTAssertEqual(archive.names, ["a.txt", "dir/b.bin", "empty", "ünïcode.txt"])
        XCTAssertEqual(archive.entry(named: "a.txt")?.method, 8)
        XCTAssertLessThan(archive.entry(named: "a.txt")!.compressedSize, text.count / 10)
        XCTAssertEqual(try archive.read("a.txt"), text)
        XCTAssertEqual(try archive.read("dir/b.bin"), noise)
        XCTAssertEqual(try archive.read("empty"), [])
        XCTAssertEqual(try archive.read("ünïcode.txt"), Array("ok".utf8))
        assertFoveaError(containing: ["t.zip", "no entry 'missing'", "a.txt"]) { try archive.read("missing") }
        // Same contents, same bytes: no timestamps of the moment leak in.
        var again = ZipWriter()
        try again.add("a.txt", text, compress: true)
        try again.add("dir/b.bin", noise, compress: true)
        try again.add("empty", [])
        try again.add("ünïcode.txt", Array("ok".utf8))
        XCTAssertEqual(try again.finish(), bytes)
        XCTAssertThrowsError(try again.add("empty", [1]))
    }

    func testEntryInflatingPastTheCapIsRefusedBeforeAllocation() throws {
        var zip = ZipWriter()
        try zip.add("zeros.npy", [UInt8](repeating: 0, count: 100_000), compress: true)
        let archive = try ZipArchive(Data(try zip.finish()), file: "bomb.npz")
        XCTAssertLessThan(archive.entries[0].compressedSize, 1000)
        setenv("FOVEA_ZIP_MAX_ENTRY_BYTES", "65536", 1)
        defer { unsetenv("FOVEA_ZIP_MAX_ENTRY_BYTES") }
        assertFoveaError(containing: ["bomb.npz", "zeros.npy", "100000 bytes", "limit of 65536 bytes", "FOVEA_ZIP_MAX_ENTRY_BYTES"]) {
            _ = try archive.read("zeros.npy")
        }
        setenv("FOVEA_ZIP_MAX_ENTRY_BYTES", "100000", 1)
        XCTAssertEqual(try archive.read("zeros.npy").count, 100_000)
    }

    func testKerasWrittenArchiveIsRead() throws {
        let archive = try ZipArchive(contentsOf: try fixture("keras_cnn.keras"))
        XCTAssertEqual(archive.names, ["metadata.json", "config.json", "model.weights.h5"])
        let metadata = try JSONSerialization.jsonObject(with: Data(try archive.read("metadata.json"))) as? [String: Any]
        XCTAssertEqual(metadata?["keras_version"] as? String, "3.15.1")
    }

    func testCorruptDirectoryFieldsAreErrors() throws {
        var zip = ZipWriter()
        try zip.add("x", Array(repeating: 7, count: 100), compress: true)
        let good = try zip.finish()
        let eocd = good.count - 22
        func patched(_ offset: Int, _ values: [UInt8]) -> [UInt8] {
            var b = good
            b.replaceSubrange(offset..<(offset + values.count), with: values)
            return b
        }
        let cases: [([UInt8], String)] = [
            (patched(eocd + 10, [0xFF, 0x00]), "cannot fit"),                   // entry count
            (patched(eocd + 16, [0xF0, 0xFF, 0x00, 0x00]), "lies outside"),      // directory offset
            (patched(eocd + 4, [1, 0]), "multi-disk"),
            (patched(eocd + 16, [0xFF, 0xFF, 0xFF, 0xFF]), "ZIP64"),             // ZIP64 marker with no locator
            (Array(good.prefix(good.count - 1)), "no end-of-central-directory"),
            (Array("PK".utf8), "too short"),
        ]
        for (bytes, expected) in cases {
            assertFoveaError(containing: ["c.zip", expected]) { try ZipArchive(Data(bytes), file: "c.zip") }
        }
        // Declared sizes that disagree with the data: caught on reading the entry.
        let directory = good.count - 22 - (46 + 1)
        for (offset, expected) in [(directory + 24, "inflates to"), (directory + 16, "CRC-32"), (directory + 10, "method")] {
            var b = good
            b[offset] ^= 0x04
            assertFoveaError(containing: ["c.zip", expected]) { try ZipArchive(Data(b), file: "c.zip").read("x") }
        }
    }
    /// Every archive Fovea reads in the tests, Keras-written and Fovea-written (through ZIPFoundation),
    /// gives the same names and contents through ZIPFoundation's reader as through Fovea's.
    func testReaderAgreesWithZIPFoundationOnWellFormedArchives() throws {
        var archives: [(String, [UInt8])] = []
        let dir = try fixture("keras_cnn.keras").deletingLastPathComponent()
        let kerasFiles = try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            + FileManager.default.contentsOfDirectory(at: dir.appendingPathComponent("graphs"), includingPropertiesForKeys: nil)
        for url in kerasFiles where url.pathExtension == "keras" { archives.append((url.lastPathComponent, [UInt8](try Data(contentsOf: url)))) }
        XCTAssertGreaterThanOrEqual(archives.count, 8)
        var zip = ZipWriter()
        try zip.add("a.npy", Array(String(repeating: "filters ", count: 500).utf8), compress: true)
        try zip.add("b.npy", (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 40503) })
        try zip.add("empty", [])
        archives.append(("written.npz", try zip.finish()))
        archives.append(("rewritten.keras", try Sequential.loadKeras(from: try fixture("keras_cnn.keras")).kerasArchive()))
        var entriesCompared = 0
        for (name, bytes) in archives {
            let ours = try ZipArchive(Data(bytes), file: name)
            let theirs = try Archive(data: Data(bytes), accessMode: .read)
            XCTAssertEqual(ours.names, theirs.map(\.path), name)
            for entry in theirs {
                var contents = Data()
                _ = try theirs.extract(entry, consumer: { contents.append($0) })
                XCTAssertEqual(try ours.read(entry.path), [UInt8](contents), "\(name) [\(entry.path)]")
                XCTAssertEqual(ours.entry(named: entry.path)?.crc32, entry.checksum, "\(name) [\(entry.path)]")
                entriesCompared += 1
            }
        }
        XCTAssertGreaterThan(entriesCompared, 3 * archives.count - 4)
    }

    /// A deflated entry whose first block claims to be a stored block longer than the whole file: the
    /// case that makes ZIPFoundation 0.9.20 loop forever on Linux (IO/Zip.swift) is an error here.
    func testDeflateStreamRunningPastItsEntryIsAnErrorNotAHang() throws {
        var zip = ZipWriter()
        try zip.add("x.bin", Array(String(repeating: "pooling ", count: 200).utf8), compress: true)
        var bytes = try zip.finish()
        let dataStart = 30 + (Int(bytes[26]) | Int(bytes[27]) << 8) + (Int(bytes[28]) | Int(bytes[29]) << 8)
        XCTAssertEqual(dataStart, 35)
        // BFINAL 0, BTYPE 00 (stored); LEN 0xFFFF and its complement NLEN 0x0000.
        bytes.replaceSubrange(dataStart..<(dataStart + 5), with: [0x00, 0xFF, 0xFF, 0x00, 0x00])
        let archive = try ZipArchive(Data(bytes), file: "runaway.npz")
        assertFoveaError(containing: ["runaway.npz", "x.bin", "ends early"]) { _ = try archive.read("x.bin") }
    }
}
