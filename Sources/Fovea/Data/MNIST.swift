import Dispatch
import Foundation

/// The MNIST handwritten digits: 60,000 training and 10,000 test images of 28×28 grey levels
/// (0 = background, 255 = ink) with their labels 0–9, as plain byte arrays.
public struct MNIST: Sendable {
    /// `trainCount × rows × columns` bytes, image after image, each row-major.
    public let trainImages: [UInt8]
    /// `trainCount` labels, each 0–9.
    public let trainLabels: [UInt8]
    /// `testCount × rows × columns` bytes, image after image, each row-major.
    public let testImages: [UInt8]
    /// `testCount` labels, each 0–9.
    public let testLabels: [UInt8]
    /// Image height and width in pixels (28 for MNIST).
    public let rows: Int, columns: Int

    public var trainCount: Int { trainLabels.count }
    public var testCount: Int { testLabels.count }

    /// Builds a data set from arrays already in memory (e.g. a small synthetic one).
    /// The sizes must agree: `trainImages.count == trainLabels.count * rows * columns`, and the same for test.
    public init(trainImages: [UInt8], trainLabels: [UInt8], testImages: [UInt8], testLabels: [UInt8],
                rows: Int, columns: Int) {
        precondition(rows > 0 && columns > 0, "MNIST: rows and columns must be positive")
        precondition(trainImages.count == trainLabels.count * rows * columns,
                     "MNIST: \(trainImages.count) training pixels for \(trainLabels.count) labels of \(rows)×\(columns)")
        precondition(testImages.count == testLabels.count * rows * columns,
                     "MNIST: \(testImages.count) test pixels for \(testLabels.count) labels of \(rows)×\(columns)")
        self.trainImages = trainImages
        self.trainLabels = trainLabels
        self.testImages = testImages
        self.testLabels = testLabels
        self.rows = rows
        self.columns = columns
    }

    /// The standard file names, without `.gz`, in the order train images, train labels, test images, test labels.
    public static let fileNames = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                   "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]

    /// The name of the checksum list (in `sha256sum` format) looked for next to the data files.
    public static let checksumFileName = "SHA256SUMS"

    /// The copy bundled with Fovea.
    public static var bundledDirectory: URL {
        Bundle.module.url(forResource: "mnist", withExtension: nil)
            ?? Bundle.module.bundleURL.appendingPathComponent("mnist", isDirectory: true)
    }

    /// Loads the four standard files (`.gz`, or already-decompressed files without `.gz`) from `directory`
    /// (default: the bundled copy). When the directory holds SHA256SUMS, every file it lists that is loaded is
    /// verified first; a mismatch throws naming the file and both digests. `verifyChecksums: false` skips it.
    /// (Hashing runs alongside decompression for speed; a mismatch always takes precedence over any other
    /// problem with that file, exactly as if it had been checked first.)
    ///
    /// Also checks the IDX headers against the data, that each image file and its label file hold the same
    /// number of examples, that every label is 0–9, and that training and test images have the same size.
    /// - Throws: `DatasetError`, whose description names the file, the problem and what to do.
    public static func load(directory: URL? = nil, verifyChecksums: Bool = true) throws -> MNIST {
        let dir = directory ?? bundledDirectory
        let checksums = verifyChecksums ? try readChecksums(in: dir) : nil

        // Find and read the four files, then hash and decode them in parallel (largest first). A checksum
        // mismatch is reported in preference to whatever decoding that file gave, so the result is the same
        // as verifying first; decoding corrupt data is harmless (zlib is bounded and checks everything).
        let ranks = [3, 1, 3, 1]
        let sources = try fileNames.map { try locate($0, in: dir) }
        var decoded = [Result<IDX, Error>?](repeating: nil, count: 4)
        var digests = [String?](repeating: nil, count: 4)
        let jobs = [0, 2, 1, 3].flatMap { i in
            checksums?[sources[i].name] == nil ? [(i, false)] : [(i, false), (i, true)]
        }
        decoded.withUnsafeMutableBufferPointer { decoded in
            digests.withUnsafeMutableBufferPointer { digests in
                let (decoded, digests) = (decoded, digests)
                DispatchQueue.concurrentPerform(iterations: jobs.count) { j in
                    let (i, hash) = jobs[j]
                    if hash {
                        digests[i] = sources[i].contents.withUnsafeBytes { SHA256.hexDigest($0) }
                    } else {
                        decoded[i] = Result { try decode(sources[i], rank: ranks[i]) }
                    }
                }
            }
        }
        var files = [(path: String, idx: IDX)]()
        for i in 0..<4 {
            if let expected = checksums?[sources[i].name], let actual = digests[i], actual != expected {
                throw DatasetError.checksumMismatch(file: sources[i].path, expected: expected, actual: actual)
            }
            files.append((sources[i].path, try decoded[i]!.get()))
        }
        let (trainImages, trainLabels, testImages, testLabels) = (files[0], files[1], files[2], files[3])

        for (images, labels) in [(trainImages, trainLabels), (testImages, testLabels)] {
            guard images.idx.dimensions[0] == labels.idx.dimensions[0] else {
                throw DatasetError.countMismatch(images: images.path, imageCount: images.idx.dimensions[0],
                                                 labels: labels.path, labelCount: labels.idx.dimensions[0])
            }
            if let bad = labels.idx.data.firstIndex(where: { $0 >= 10 }) {
                throw DatasetError.labelOutOfRange(file: labels.path, index: bad, value: labels.idx.data[bad])
            }
        }
        let trainShape = Array(trainImages.idx.dimensions[1...]), testShape = Array(testImages.idx.dimensions[1...])
        guard trainShape == testShape else {
            throw DatasetError.shapeMismatch(train: trainImages.path, trainShape: trainShape,
                                             test: testImages.path, testShape: testShape)
        }
        guard trainShape[0] > 0 && trainShape[1] > 0 else {
            throw DatasetError.emptyImages(file: trainImages.path, rows: trainShape[0], columns: trainShape[1])
        }
        return MNIST(trainImages: trainImages.idx.data, trainLabels: trainLabels.idx.data,
                     testImages: testImages.idx.data, testLabels: testLabels.idx.data,
                     rows: trainShape[0], columns: trainShape[1])
    }

    // MARK: - Files

    /// Reads `SHA256SUMS` in `directory` (if present) into file name → lowercase hex digest.
    static func readChecksums(in directory: URL) throws -> [String: String]? {
        let url = directory.appendingPathComponent(checksumFileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let text: String
        do {
            text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
        } catch {
            throw DatasetError.unreadable(file: url.path, reason: error.localizedDescription)
        }
        var sums = [String: String]()
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            // "<hex>  <name>" (text mode) or "<hex> *<name>" (binary mode).
            guard let space = line.firstIndex(where: { $0 == " " || $0 == "\t" }) else {
                throw DatasetError.malformedChecksumList(file: url.path, line: number + 1)
            }
            let digest = line[..<space].lowercased()
            var name = line[space...].drop(while: { $0 == " " || $0 == "\t" })
            if name.hasPrefix("*") { name = name.dropFirst() }
            if name.hasPrefix("./") { name = name.dropFirst(2) }
            guard digest.count == 64, digest.allSatisfy({ $0.isHexDigit }), !name.isEmpty else {
                throw DatasetError.malformedChecksumList(file: url.path, line: number + 1)
            }
            sums[String(name)] = digest
        }
        return sums
    }

    /// A data file found and read into memory.
    struct Source: @unchecked Sendable {  // Data is immutable here
        var name: String
        var path: String
        var contents: Data
    }

    /// Finds `name.gz` or `name` in `directory` and reads it.
    static func locate(_ name: String, in directory: URL) throws -> Source {
        let candidates = [name + ".gz", name]
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard let found = candidates.first(where: {
            fm.fileExists(atPath: directory.appendingPathComponent($0).path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }) else {
            throw DatasetError.missingFile(file: directory.appendingPathComponent(candidates[0]).path,
                                           directory: directory.path,
                                           tried: candidates.map { directory.appendingPathComponent($0).path })
        }
        let path = directory.appendingPathComponent(found).path
        do {
            return Source(name: found, path: path, contents: try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw DatasetError.unreadable(file: path, reason: error.localizedDescription)
        }
    }

    /// Decompresses `source` if it is gzip data and parses it as an IDX array of `rank`.
    static func decode(_ source: Source, rank: Int) throws -> IDX {
        let path = source.path
        return try source.contents.withUnsafeBytes { bytes -> IDX in
            let isGzip = bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
            // A `.gz` name holding plain IDX data (a browser that decompressed it on the way) is accepted;
            // anything else with a `.gz` name goes to zlib, which says what is wrong with it.
            let looksLikeIDX = bytes.count >= 4 && bytes[0] == 0 && bytes[1] == 0 && bytes[2] == 0x08
            guard isGzip || (source.name.hasSuffix(".gz") && !looksLikeIDX) else {
                return try IDX.parse(bytes, rank: rank, file: path)
            }
            do {
                return try Gzip.withDecompressed(bytes, maxOutputBytes: 1 << 30) {
                    try IDX.parse($0, rank: rank, file: path)
                }
            } catch let error as GzipError {
                switch error {
                case .truncated: throw DatasetError.truncatedCompressedData(file: path)
                case .corrupt(let reason): throw DatasetError.corruptCompressedData(file: path, reason: reason)
                case .outputTooLarge(let limit): throw DatasetError.decompressedTooLarge(file: path, limit: limit)
                case let .trailingData(offset, count): throw DatasetError.trailingCompressedData(file: path, offset: offset, count: count)
                }
            }
        }
    }
}
