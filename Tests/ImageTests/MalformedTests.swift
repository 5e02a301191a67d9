import Foundation
import XCTest

import Fovea

/// Every malformed input throws an `ImageError` naming the file and the reason — never a crash,
/// never an unbounded allocation, never a partial image.
final class MalformedImageTests: XCTestCase {
    private func samplePNG() -> [UInt8] {
        PNGWriter.png(width: 16, height: 12, colorType: 2) { x, y in [UInt(x * 15), UInt(y * 20), UInt((x ^ y) * 7)] }
    }

    private func sampleJPEG() throws -> [UInt8] {
        try gradient(width: 32, height: 24, channels: 3).jpegData(quality: 90)
    }

    /// Offset of the start-of-frame segment (FF C0 / FF C2) in a JPEG.
    private func sofOffset(_ bytes: [UInt8]) -> Int {
        (0..<(bytes.count - 1)).first { bytes[$0] == 0xFF && (bytes[$0 + 1] == 0xC0 || bytes[$0 + 1] == 0xC2) }!
    }

    func testEmptyData() {
        XCTAssertEqual(assertDecodeFails([], name: "empty.png"), .empty(file: "empty.png"))
    }

    func testEmptyFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("nothing.jpg")
        XCTAssertTrue(FileManager.default.createFile(atPath: url.path, contents: Data()))
        XCTAssertThrowsError(try Image.read(from: url)) { error in
            XCTAssertEqual(error as? ImageError, .empty(file: url.path))
        }
    }

    func testOversizedFileIsNotRead() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("huge.png")
        var bytes = try gradient(width: 4, height: 4, channels: 3).pngData()
        XCTAssertTrue(FileManager.default.createFile(atPath: url.path, contents: Data(bytes)))
        // A sparse 40 MiB file: more than 1 pixel × 8 bytes + 16 MiB of metadata allowance.
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: 40 << 20)
        try handle.close()
        XCTAssertThrowsError(try Image.read(from: url, maxPixels: 1)) { error in
            XCTAssertEqual(error as? ImageError, .fileTooLarge(file: url.path, bytes: 40 << 20, limit: 8 + (16 << 20)))
        }
        // Within the default limit it is read (and the trailing zeros after IEND are ignored).
        bytes = try gradient(width: 4, height: 4, channels: 3).pngData()
        XCTAssertEqual(try Image.read(from: url), try Image.decode(bytes))
    }

    func testDirectoryIsUnreadable() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        XCTAssertThrowsError(try Image.read(from: directory)) { error in
            guard case .unreadable(let file, _)? = error as? ImageError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, directory.path)
        }
    }

    func testMissingFile() {
        let url = URL(fileURLWithPath: "/nonexistent-fovea-dir/missing.png")
        XCTAssertThrowsError(try Image.read(from: url)) { error in
            guard case .unreadable(let file, _)? = error as? ImageError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, url.path)
            XCTAssertTrue("\(error)".contains("missing.png"))
        }
    }

    func testWrongSignature() {
        let error = assertDecodeFails(Array("hello, this is not an image".utf8), name: "text.png")
        guard case .unrecognizedFormat(_, let first)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(first, Array("hello, t".utf8))
        // A GIF, a BMP, a PNG signature with one byte changed.
        assertDecodeFails(Array("GIF89a".utf8) + [UInt8](repeating: 0, count: 20))
        assertDecodeFails([0x42, 0x4D] + [UInt8](repeating: 0, count: 60))
        var png = samplePNG()
        png[1] = 0x51
        guard case .unrecognizedFormat? = assertDecodeFails(png) else { return XCTFail() }
    }

    func testTruncatedPNG() {
        let png = samplePNG()
        let idatData = 8 + 25 + 8  // first byte of IDAT's data
        for length in [1, 4, 7, 8, 12, 20, 32, 33, 40, idatData + 5, png.count - 20, png.count - 12, png.count - 1] {
            let error = assertDecodeFails(Array(png.prefix(length)), name: "cut-\(length).png")
            guard case .truncated(_, "PNG", _)? = error else {
                XCTFail("length \(length): \(String(describing: error))"); continue
            }
        }
    }

    func testTruncatedJPEG() throws {
        let jpeg = try sampleJPEG()
        XCTAssertEqual(Array(jpeg.suffix(2)), [0xFF, 0xD9])
        for length in [1, 2, 3, 10, 100, sofOffset(jpeg) + 5, jpeg.count / 2, jpeg.count - 20, jpeg.count - 2, jpeg.count - 1] {
            let error = assertDecodeFails(Array(jpeg.prefix(length)), name: "cut-\(length).jpg")
            guard case .truncated(_, "JPEG", _)? = error else {
                XCTFail("length \(length): \(String(describing: error))"); continue
            }
        }
    }

    func testTruncatedProgressiveJPEG() {
        let jpeg = encodeJPEG(gradient(width: 40, height: 40, channels: 3), quality: 90, progressive: true)
        for length in [jpeg.count / 3, jpeg.count / 2, jpeg.count - 10] {
            guard case .truncated? = assertDecodeFails(Array(jpeg.prefix(length)), name: "p.jpg") else {
                XCTFail("length \(length)"); continue
            }
        }
    }

    func testZeroWidthOrHeightPNG() {
        for (width, height) in [(0, 5), (5, 0), (0, 0)] {
            var bytes = PNGWriter.signature + PNGWriter.ihdr(width: width, height: height, bitDepth: 8, colorType: 0, interlaced: false)
            bytes += PNGWriter.chunk("IDAT", PNGWriter.deflate([0])) + PNGWriter.chunk("IEND", [])
            XCTAssertEqual(assertDecodeFails(bytes, name: "zero.png"), .zeroSize(file: "zero.png", width: width, height: height))
        }
    }

    func testZeroHeightJPEG() throws {
        var jpeg = try sampleJPEG()
        let sof = sofOffset(jpeg)
        jpeg[sof + 5] = 0; jpeg[sof + 6] = 0  // height (the width follows at +7)
        XCTAssertEqual(assertDecodeFails(jpeg, name: "flat.jpg"), .zeroSize(file: "flat.jpg", width: 32, height: 0))
    }

    func testMorePixelsThanTheLimit() throws {
        let png = samplePNG()  // 16×12 = 192 pixels
        XCTAssertEqual(assertDecodeFails(png, name: "big.png", maxPixels: 191),
                       .tooManyPixels(file: "big.png", width: 16, height: 12, limit: 191))
        XCTAssertNoThrow(try Image.decode(png, maxPixels: 192))
        let jpeg = try sampleJPEG()  // 32×24 = 768 pixels
        XCTAssertEqual(assertDecodeFails(jpeg, name: "big.jpg", maxPixels: 767),
                       .tooManyPixels(file: "big.jpg", width: 32, height: 24, limit: 767))
        XCTAssertNoThrow(try Image.decode(jpeg, maxPixels: 768))
    }

    func testHugeHeaderIsRejectedBeforeAllocating() throws {
        // Nothing image-sized may be allocated (or cleared) before the check: this must be instant.
        let start = Date()
        defer { XCTAssertLessThan(Date().timeIntervalSince(start), 2) }
        // Headers claiming billions of pixels over a few bytes of data.
        var png = PNGWriter.signature + PNGWriter.ihdr(width: 2_000_000_000, height: 2_000_000_000, bitDepth: 16, colorType: 6, interlaced: false)
        png += PNGWriter.chunk("IDAT", PNGWriter.deflate([0, 0, 0])) + PNGWriter.chunk("IEND", [])
        XCTAssertEqual(assertDecodeFails(png, name: "bomb.png"),
                       .tooManyPixels(file: "bomb.png", width: 2_000_000_000, height: 2_000_000_000, limit: 100_000_000))

        var jpeg = try sampleJPEG()
        let sof = sofOffset(jpeg)
        jpeg[sof + 5] = 0xFF; jpeg[sof + 6] = 0xD0; jpeg[sof + 7] = 0xFF; jpeg[sof + 8] = 0xD0  // 65488×65488
        XCTAssertEqual(assertDecodeFails(jpeg, name: "bomb.jpg"),
                       .tooManyPixels(file: "bomb.jpg", width: 65488, height: 65488, limit: 100_000_000))
    }

    func testBadChunkCRC() {
        // IDAT with a flipped data byte (CRC no longer matches), and a bad IHDR CRC.
        // A flipped byte inside the compressed data fails in zlib or the filters before the CRC.
        var flipped = samplePNG()
        flipped[8 + 25 + 8 + 3] ^= 0x01
        guard case .corrupt(_, "PNG", _)? = assertDecodeFails(flipped, name: "flip.png") else { return XCTFail() }
        // A damaged IDAT checksum (the 4 bytes before the 12-byte IEND chunk).
        var png = samplePNG()
        png[png.count - 13] ^= 0x01
        guard case .corrupt(_, "PNG", let reason)? = assertDecodeFails(png, name: "crc.png") else { return XCTFail() }
        XCTAssertTrue(reason.lowercased().contains("crc"), reason)

        let header = PNGWriter.signature + PNGWriter.chunk("IHDR", PNGWriter.be32(4) + PNGWriter.be32(4) + [8, 0, 0, 0, 0], corruptCRC: true)
        let bad = header + PNGWriter.chunk("IDAT", PNGWriter.deflate([UInt8](repeating: 0, count: 20))) + PNGWriter.chunk("IEND", [])
        guard case .corrupt? = assertDecodeFails(bad, name: "ihdr.png") else { return XCTFail() }
    }

    func testBadZlibStream() {
        let header = PNGWriter.signature + PNGWriter.ihdr(width: 4, height: 4, bitDepth: 8, colorType: 0, interlaced: false)
        // Not a zlib stream at all (valid CRC).
        let garbage = header + PNGWriter.chunk("IDAT", [0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0]) + PNGWriter.chunk("IEND", [])
        guard case .corrupt? = assertDecodeFails(garbage, name: "zlib.png") else { return XCTFail() }
        // A valid zlib stream holding only 2 of the 4 rows.
        let short = header + PNGWriter.chunk("IDAT", PNGWriter.deflate([UInt8](repeating: 0, count: 10))) + PNGWriter.chunk("IEND", [])
        guard case .corrupt? = assertDecodeFails(short, name: "short.png") else { return XCTFail() }
        // A bad filter type byte.
        let filter = header + PNGWriter.chunk("IDAT", PNGWriter.deflate([UInt8](repeating: 9, count: 20))) + PNGWriter.chunk("IEND", [])
        guard case .corrupt? = assertDecodeFails(filter, name: "filter.png") else { return XCTFail() }
    }

    func testInvalidHeaderFields() {
        // Bit depth 3 does not exist; palette image without a palette.
        let depth = PNGWriter.signature + PNGWriter.ihdr(width: 2, height: 2, bitDepth: 3, colorType: 0, interlaced: false)
            + PNGWriter.chunk("IDAT", PNGWriter.deflate([0, 0, 0, 0])) + PNGWriter.chunk("IEND", [])
        guard case .corrupt? = assertDecodeFails(depth, name: "depth.png") else { return XCTFail() }
        let noPalette = PNGWriter.signature + PNGWriter.ihdr(width: 2, height: 2, bitDepth: 8, colorType: 3, interlaced: false)
            + PNGWriter.chunk("IDAT", PNGWriter.deflate([0, 0, 0, 0, 0, 0])) + PNGWriter.chunk("IEND", [])
        guard case .corrupt? = assertDecodeFails(noPalette, name: "nopalette.png") else { return XCTFail() }
    }

    func testCorruptJPEGHeader() throws {
        var jpeg = try sampleJPEG()
        jpeg[sofOffset(jpeg) + 4] = 7  // sample precision 7 bits
        guard case .corrupt(_, "JPEG", _)? = assertDecodeFails(jpeg, name: "precision.jpg") else { return XCTFail() }
        // Only the start-of-image marker followed by an end-of-image marker.
        let noFrame: [UInt8] = [0xFF, 0xD8, 0xFF, 0xD9]
        assertDecodeFails(noFrame, name: "noframe.jpg")
    }

    func testCorruptedBytesNeverCrash() throws {
        // Flip bytes all over valid files: each decode either succeeds with a whole image or throws.
        let files = [samplePNG(), try sampleJPEG()]
        for original in files {
            for position in stride(from: 2, to: original.count, by: max(1, original.count / 60)) {
                var bytes = original
                bytes[position] ^= 0x5A
                if let image = try? Image.decode(bytes, name: "fuzz") {
                    XCTAssertEqual(image.pixels.count, image.width * image.height * image.channels)
                }
            }
        }
    }

    func testDescriptionsNameFileAndReason() {
        let error = ImageError.truncated(file: "/data/cat.png", format: "PNG", reason: "unexpected end of data")
        XCTAssertTrue(error.description.contains("/data/cat.png"))
        XCTAssertTrue(error.description.contains("unexpected end of data"))
        XCTAssertTrue(ImageError.tooManyPixels(file: "x.jpg", width: 10, height: 20, limit: 100).description.contains("maxPixels"))
    }
}
