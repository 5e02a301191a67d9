import Foundation
import XCTest
import Fovea

final class MNISTTests: XCTestCase {
    /// The real data bundled with Fovea (the only test that reads it in full).
    func testBundledMNISTLoads() throws {
        let start = Date()
        let mnist = try MNIST.load()
        let seconds = Date().timeIntervalSince(start)
        print("MNIST.load() of the bundled data (verify + decompress + check): \(String(format: "%.3f", seconds)) s")
        for verify in [true, false] {
            let again = Date()
            _ = try MNIST.load(verifyChecksums: verify)
            print("  again, verifyChecksums: \(verify): \(String(format: "%.3f", Date().timeIntervalSince(again))) s")
        }

        XCTAssertEqual(mnist.trainCount, 60000)
        XCTAssertEqual(mnist.testCount, 10000)
        XCTAssertEqual(mnist.rows, 28)
        XCTAssertEqual(mnist.columns, 28)
        XCTAssertEqual(mnist.trainImages.count, 60000 * 28 * 28)
        XCTAssertEqual(mnist.testImages.count, 10000 * 28 * 28)
        XCTAssertEqual(mnist.trainLabels.first, 5)
        XCTAssertEqual(mnist.testLabels.first, 7)

        var histogram = [Int](repeating: 0, count: 10)
        for label in mnist.trainLabels { histogram[Int(label)] += 1 }
        XCTAssertEqual(histogram.reduce(0, +), 60000)
        XCTAssertEqual(histogram, [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])

        // Pixel sums cross-checked with Python's gzip module.
        XCTAssertEqual(mnist.trainImages[0..<784].reduce(0) { $0 + Int($1) }, 27525)
        XCTAssertEqual(mnist.testImages[0..<784].reduce(0) { $0 + Int($1) }, 18454)
        XCTAssertEqual(mnist.trainImages.reduce(0) { $0 + Int($1) }, 1_567_298_545)
        XCTAssertEqual(mnist.testImages.reduce(0) { $0 + Int($1) }, 264_923_200)
    }

    func testBundledDirectoryHoldsTheFilesAndChecksums() {
        let dir = MNIST.bundledDirectory
        for name in MNIST.fileNames + ["SHA256SUMS"] {
            let path = dir.appendingPathComponent(name + (name == "SHA256SUMS" ? "" : ".gz")).path
            XCTAssertTrue(FileManager.default.fileExists(atPath: path), path)
        }
    }

    func testSyntheticGzippedAndPlainLoadTheSame() throws {
        var set = SyntheticMNIST()
        let gzDir = try makeTemporaryDirectory(self), plainDir = try makeTemporaryDirectory(self)
        try set.write(to: gzDir, gzip: true)
        try set.write(to: plainDir, gzip: false)
        for dir in [gzDir, plainDir] {
            let m = try MNIST.load(directory: dir)
            XCTAssertEqual(m.trainImages, set.trainImages)
            XCTAssertEqual(m.trainLabels, set.trainLabels)
            XCTAssertEqual(m.testImages, set.testImages)
            XCTAssertEqual(m.testLabels, set.testLabels)
            XCTAssertEqual(m.rows, 4)
            XCTAssertEqual(m.columns, 5)
            XCTAssertEqual(m.trainCount, 6)
            XCTAssertEqual(m.testCount, 3)
        }
    }

    /// A `.gz` name whose content was already decompressed (as some browsers do) still loads.
    func testGzNameHoldingPlainIDXLoads() throws {
        var set = SyntheticMNIST()
        let dir = try makeTemporaryDirectory(self)
        try set.write(to: dir, gzip: false, checksums: false)
        for name in MNIST.fileNames {
            try FileManager.default.moveItem(at: dir.appendingPathComponent(name),
                                             to: dir.appendingPathComponent(name + ".gz"))
        }
        XCTAssertEqual(try MNIST.load(directory: dir).trainImages, set.trainImages)
    }

    // MARK: - Corruption

    /// The bundled test-label file, cut in half, in a directory of otherwise synthetic files.
    func testTruncatedBundledGzip() throws {
        var set = SyntheticMNIST()
        let dir = try makeTemporaryDirectory(self)
        try set.write(to: dir, checksums: false)
        let original = try Data(contentsOf: MNIST.bundledDirectory.appendingPathComponent("t10k-labels-idx1-ubyte.gz"))
        let target = dir.appendingPathComponent("t10k-labels-idx1-ubyte.gz")
        try original.prefix(original.count / 2).write(to: target)

        let error = assertDatasetError(naming: target.path) { try MNIST.load(directory: dir) }
        XCTAssertEqual(error, .truncatedCompressedData(file: target.path))
        XCTAssertTrue(error?.description.contains("truncated") ?? false)

        // Cut off only the last byte of the CRC/length trailer: still detected.
        try original.dropLast().write(to: target)
        XCTAssertEqual(assertDatasetError(naming: target.path) { try MNIST.load(directory: dir) },
                       .truncatedCompressedData(file: target.path))

        // With the bundled checksum of that file listed, the checksum check catches it first.
        let bundledSums = try String(contentsOf: MNIST.bundledDirectory.appendingPathComponent("SHA256SUMS"), encoding: .utf8)
        let line = bundledSums.split(separator: "\n").first { $0.hasSuffix("t10k-labels-idx1-ubyte.gz") }!
        try (line + "\n").write(to: dir.appendingPathComponent("SHA256SUMS"), atomically: true, encoding: .utf8)
        let cut = try Data(contentsOf: target)
        let mismatch = assertDatasetError(naming: target.path) { try MNIST.load(directory: dir) }
        XCTAssertEqual(mismatch, .checksumMismatch(file: target.path, expected: String(line.prefix(64)),
                                                   actual: SHA256.hexDigest(cut)))
        XCTAssertThrowsError(try MNIST.load(directory: dir, verifyChecksums: false)) {
            XCTAssertEqual($0 as? DatasetError, .truncatedCompressedData(file: target.path))
        }
    }

    /// Every single-bit flip anywhere in a gzipped file is caught: by SHA256SUMS when present, and otherwise
    /// by zlib (header, data, CRC-32, length) or the IDX checks, unless it only touched bits that do not affect
    /// the data (the FTEXT flag, MTIME, XFL, OS, the padding after the last deflate block): then the data is intact.
    func testBitFlippedGzipNeverLoadsWrongData() throws {
        var set = SyntheticMNIST()
        let dir = try makeTemporaryDirectory(self)
        let urls = try set.write(to: dir)
        let target = urls[1]  // train labels
        let original = try Data(contentsOf: target)
        let expectedDigest = SHA256.hexDigest(original)
        var caughtWithoutChecksum = 0, harmless = 0
        for offset in 0..<original.count {
            for bit in 0..<8 {
                var flipped = original
                flipped[offset] ^= UInt8(1 << bit)
                try flipped.write(to: target)
                XCTAssertEqual(assertDatasetError(naming: target.path) { try MNIST.load(directory: dir) },
                               .checksumMismatch(file: target.path, expected: expectedDigest,
                                                 actual: SHA256.hexDigest(flipped)))
                do {
                    let m = try MNIST.load(directory: dir, verifyChecksums: false)
                    XCTAssertEqual(m.trainLabels, set.trainLabels, "flip at \(offset).\(bit) gave wrong labels")
                    XCTAssertEqual(m.trainImages, set.trainImages)
                    let lastDeflateByte = original.count - 9
                    XCTAssertTrue((offset == 3 && bit == 0) || (4...9).contains(offset) || offset == lastDeflateByte,
                                  "flip at byte \(offset) bit \(bit) went unnoticed")
                    harmless += 1
                } catch let error as DatasetError {
                    XCTAssertEqual(error.file, target.path, "\(error)")
                    caughtWithoutChecksum += 1
                }
            }
        }
        XCTAssertLessThanOrEqual(harmless, 1 + 6 * 8 + 7)
        XCTAssertEqual(caughtWithoutChecksum + harmless, 8 * original.count)
        print("bit flips in a \(original.count)-byte .gz: all \(8 * original.count) caught by SHA256SUMS; without it "
              + "\(caughtWithoutChecksum) caught, \(harmless) harmless (FTEXT/MTIME/XFL/OS/final padding bits, data intact)")
    }

    func testCorruptDeflateDataIsAZlibError() throws {
        var set = SyntheticMNIST()
        let dir = try makeTemporaryDirectory(self)
        let target = try set.write(to: dir, checksums: false)[2]
        var bytes = try Data(contentsOf: target)
        for i in 10..<(bytes.count - 8) { bytes[i] = 0xff }  // wipe the deflate data, keep header and trailer
        try bytes.write(to: target)
        let error = assertDatasetError(naming: target.path) { try MNIST.load(directory: dir) }
        guard case .corruptCompressedData = error else { return XCTFail("\(String(describing: error))") }
    }

    func testNotGzipWithGzName() throws {
        var set = SyntheticMNIST()
        let dir = try makeTemporaryDirectory(self)
        let target = try set.write(to: dir, checksums: false)[0]
        try Data("<html><body>404 Not Found</body></html>".utf8).write(to: target)
        let error = assertDatasetError(naming: target.path) { try MNIST.load(directory: dir) }
        guard case .corruptCompressedData = error else { return XCTFail("\(String(describing: error))") }
    }

    func testWrongMagicNumber() throws {
        var set = SyntheticMNIST()
        let dir = try makeTemporaryDirectory(self)
        // Labels where images belong: rank 1 instead of 3.
        var urls = try set.write(to: dir, checksums: false, replace: [0: IDX.encode(dimensions: [6], data: [UInt8](repeating: 0, count: 6))])
        XCTAssertEqual(assertDatasetError(naming: urls[0].path) { try MNIST.load(directory: dir) },
                       .badMagic(file: urls[0].path, found: 0x0000_0801, expected: 0x0000_0803))

        // float32 element type (0x0D).
        var images = IDX.encode(dimensions: [6, 4, 5], data: set.trainImages)
        images[2] = 0x0d
        urls = try set.write(to: dir, checksums: false, replace: [0: images])
        let typeError = assertDatasetError(naming: urls[0].path) { try MNIST.load(directory: dir) }
        XCTAssertEqual(typeError, .badMagic(file: urls[0].path, found: 0x0000_0d03, expected: 0x0000_0803))
        XCTAssertTrue(typeError?.description.contains("float32") ?? false, "\(String(describing: typeError))")

        // Not IDX at all (uncompressed).
        let plain = try makeTemporaryDirectory(self)
        urls = try set.write(to: plain, gzip: false, checksums: false, replace: [3: Array("hello, world".utf8)])
        let notIDX = assertDatasetError(naming: urls[3].path) { try MNIST.load(directory: plain) }
        XCTAssertEqual(notIDX, .badMagic(file: urls[3].path, found: 0x6865_6c6c, expected: 0x0000_0801))
        XCTAssertTrue(notIDX?.description.contains("not an IDX file") ?? false)
    }

    func testHeaderClaimsMoreDataThanPresent() throws {
        var set = SyntheticMNIST()
        let dir = try makeTemporaryDirectory(self)
        // The header says 7 images of 4×5, the file holds 6.
        let short = IDX.encode(dimensions: [7, 4, 5], data: set.trainImages)
        let urls = try set.write(to: dir, replace: [0: short])
        let error = assertDatasetError(naming: urls[0].path) { try MNIST.load(directory: dir) }
        XCTAssertEqual(error, .sizeMismatch(file: urls[0].path, dimensions: [7, 4, 5], expectedBytes: 140, actualBytes: 120))
        XCTAssertEqual(error?.description,
                       "\(urls[0].path): truncated: header says 7×4×5 = 140 bytes, file holds 120; "
                       + "re-download it or point --data-dir at a good copy")
    }

    func testFileLongerThanHeaderSays() throws {
        var set = SyntheticMNIST()
        let dir = try makeTemporaryDirectory(self)
        let long = IDX.encode(dimensions: [3], data: set.testLabels) + [0, 0]
        let urls = try set.write(to: dir, replace: [3: long])
        let error = assertDatasetError(naming: urls[3].path) { try MNIST.load(directory: dir) }
        XCTAssertEqual(error, .sizeMismatch(file: urls[3].path, dimensions: [3], expectedBytes: 3, actualBytes: 5))
        XCTAssertTrue(error?.description.contains("too long") ?? false)
    }

    func testTruncatedHeaderAndImpossibleDimensions() throws {
        var set = SyntheticMNIST()
        let dir = try makeTemporaryDirectory(self)
        var urls = try set.write(to: dir, replace: [2: [0, 0, 8, 3, 0, 0]])
        XCTAssertEqual(assertDatasetError(naming: urls[2].path) { try MNIST.load(directory: dir) },
                       .truncatedHeader(file: urls[2].path, expectedBytes: 16, actualBytes: 6))
        // 0xFFFFFFFF³ overflows: reported, not trapped.
        urls = try set.write(to: dir, replace: [2: [0, 0, 8, 3] + [UInt8](repeating: 0xff, count: 12) + [1, 2, 3]])
        let error = assertDatasetError(naming: urls[2].path) { try MNIST.load(directory: dir) }
        XCTAssertEqual(error, .sizeMismatch(file: urls[2].path, dimensions: [0xffff_ffff, 0xffff_ffff, 0xffff_ffff],
                                            expectedBytes: Int.max, actualBytes: 3))
    }

    func testImageAndLabelCountMismatch() throws {
        var set = SyntheticMNIST()
        let dir = try makeTemporaryDirectory(self)
        let urls = try set.write(to: dir, replace: [1: IDX.encode(dimensions: [5], data: [1, 2, 3, 4, 5])])
        let error = assertDatasetError(naming: urls[0].path) { try MNIST.load(directory: dir) }
        XCTAssertEqual(error, .countMismatch(images: urls[0].path, imageCount: 6, labels: urls[1].path, labelCount: 5))
        XCTAssertTrue(error?.description.contains(urls[1].path) ?? false)
    }

    func testLabelOutOfRange() throws {
        var set = SyntheticMNIST()
        let dir = try makeTemporaryDirectory(self)
        let urls = try set.write(to: dir, replace: [3: IDX.encode(dimensions: [3], data: [1, 10, 2])])
        XCTAssertEqual(assertDatasetError(naming: urls[3].path) { try MNIST.load(directory: dir) },
                       .labelOutOfRange(file: urls[3].path, index: 1, value: 10))
    }

    func testTrainAndTestImageSizesDisagree() throws {
        var set = SyntheticMNIST()
        let dir = try makeTemporaryDirectory(self)
        let urls = try set.write(to: dir, replace: [2: IDX.encode(dimensions: [3, 5, 4], data: set.testImages)])
        let error = assertDatasetError(naming: urls[0].path) { try MNIST.load(directory: dir) }
        XCTAssertEqual(error, .shapeMismatch(train: urls[0].path, trainShape: [4, 5], test: urls[2].path, testShape: [5, 4]))
    }

    func testEmptyImagesAreRejected() throws {
        var set = SyntheticMNIST()
        let dir = try makeTemporaryDirectory(self)
        let urls = try set.write(to: dir, replace: [0: IDX.encode(dimensions: [6, 0, 5], data: []),
                                                    2: IDX.encode(dimensions: [3, 0, 5], data: [])])
        XCTAssertEqual(assertDatasetError(naming: urls[0].path) { try MNIST.load(directory: dir) },
                       .emptyImages(file: urls[0].path, rows: 0, columns: 5))
    }

    func testMissingFile() throws {
        var set = SyntheticMNIST()
        let dir = try makeTemporaryDirectory(self)
        let urls = try set.write(to: dir, checksums: false)
        try FileManager.default.removeItem(at: urls[3])
        let error = assertDatasetError(naming: urls[3].path) { try MNIST.load(directory: dir) }
        XCTAssertEqual(error, .missingFile(file: urls[3].path, directory: dir.path,
                                           tried: [urls[3].path, dir.appendingPathComponent("t10k-labels-idx1-ubyte").path]))
        let text = error?.description ?? ""
        XCTAssertTrue(text.contains("t10k-labels-idx1-ubyte.gz or t10k-labels-idx1-ubyte"), text)
        XCTAssertTrue(text.contains("directory \(dir.path)"), text)

        let nowhere = dir.appendingPathComponent("no-such-directory")
        let missingDir = assertDatasetError(naming: nowhere.appendingPathComponent("train-images-idx3-ubyte.gz").path) {
            try MNIST.load(directory: nowhere)
        }
        XCTAssertTrue(missingDir?.description.contains("does not exist") ?? false)
    }

    // MARK: - SHA256SUMS

    func testChecksumListFormats() throws {
        var set = SyntheticMNIST()
        let dir = try makeTemporaryDirectory(self)
        let urls = try set.write(to: dir, checksums: false)
        // Binary-mode marker, "./" prefixes, upper-case digits, comments, blank lines, unrelated entries.
        var text = "# checksums\n\n"
        for url in urls {
            text += "\(SHA256.hexDigest(try Data(contentsOf: url)).uppercased()) *./\(url.lastPathComponent)\n"
        }
        text += "\(String(repeating: "0", count: 64))  README.txt\n"
        let sums = dir.appendingPathComponent("SHA256SUMS")
        try text.write(to: sums, atomically: true, encoding: .utf8)
        XCTAssertEqual(try MNIST.load(directory: dir).testLabels, set.testLabels)

        // The list is checked against sha256sum itself.
        try runCommand("/usr/bin/sha256sum", ["-c", "--quiet", "--ignore-missing", "SHA256SUMS"], in: dir)

        try (text + "not a checksum line\n").write(to: sums, atomically: true, encoding: .utf8)
        XCTAssertEqual(assertDatasetError(naming: sums.path) { try MNIST.load(directory: dir) },
                       .malformedChecksumList(file: sums.path, line: 8))
        XCTAssertNoThrow(try MNIST.load(directory: dir, verifyChecksums: false))
    }

    // MARK: - IDX

    func testIDXRoundTrip() throws {
        let data = pseudoRandomBytes(2 * 3 * 4, seed: 7)
        let encoded = IDX.encode(dimensions: [2, 3, 4], data: data)
        XCTAssertEqual(Array(encoded.prefix(16)), [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4])
        XCTAssertEqual(try IDX.parse(encoded, rank: 3, file: "x"), IDX(dimensions: [2, 3, 4], data: data))
        XCTAssertThrowsError(try IDX.parse(encoded, rank: 1, file: "x")) {
            XCTAssertEqual($0 as? DatasetError, .badMagic(file: "x", found: 0x803, expected: 0x801))
        }
        XCTAssertThrowsError(try IDX.parse([0, 0], rank: 1, file: "x")) {
            XCTAssertEqual($0 as? DatasetError, .truncatedHeader(file: "x", expectedBytes: 8, actualBytes: 2))
        }
    }
}
