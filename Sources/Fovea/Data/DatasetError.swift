import Foundation

/// Why a data set could not be loaded. Every case names the file (its path) it is about; the
/// `description` also says what is wrong and what to do about it.
public enum DatasetError: Error, CustomStringConvertible, Equatable, Sendable {
    /// None of the accepted names of a required file exists in `directory`.
    case missingFile(file: String, directory: String, tried: [String])
    /// The file exists but could not be read.
    case unreadable(file: String, reason: String)
    /// The file's SHA-256 differs from the one listed in the directory's SHA256SUMS.
    case checksumMismatch(file: String, expected: String, actual: String)
    /// A line of a SHA256SUMS file is not `<64 hex digits> <name>`.
    case malformedChecksumList(file: String, line: Int)
    /// The gzip stream is cut off.
    case truncatedCompressedData(file: String)
    /// zlib rejected the gzip stream (bad header, corrupt data, CRC-32 or length mismatch).
    case corruptCompressedData(file: String, reason: String)
    /// Decompression would exceed `limit` bytes.
    case decompressedTooLarge(file: String, limit: Int)
    /// A complete gzip stream ends at byte `offset` and `count` bytes of something else follow.
    case trailingCompressedData(file: String, offset: Int, count: Int)
    /// The IDX magic number is not the expected one (not IDX, wrong element type, or wrong rank).
    case badMagic(file: String, found: UInt32, expected: UInt32)
    /// The IDX data is shorter than its own header (`expectedBytes` header bytes needed, `actualBytes` present).
    case truncatedHeader(file: String, expectedBytes: Int, actualBytes: Int)
    /// The IDX payload size differs from the product of the dimensions in the header.
    /// `expectedBytes` is `Int.max` when that product overflows.
    case sizeMismatch(file: String, dimensions: [Int], expectedBytes: Int, actualBytes: Int)
    /// An image file and its label file disagree on the number of examples.
    case countMismatch(images: String, imageCount: Int, labels: String, labelCount: Int)
    /// A label is not a digit 0–9.
    case labelOutOfRange(file: String, index: Int, value: UInt8)
    /// The training and test images have different sizes (`[rows, columns]`).
    case shapeMismatch(train: String, trainShape: [Int], test: String, testShape: [Int])
    /// The images have no pixels (a zero row or column count in the header).
    case emptyImages(file: String, rows: Int, columns: Int)

    /// The path of the (first) file the error is about.
    public var file: String {
        switch self {
        case .missingFile(let file, _, _), .unreadable(let file, _), .checksumMismatch(let file, _, _),
             .malformedChecksumList(let file, _), .truncatedCompressedData(let file),
             .corruptCompressedData(let file, _), .decompressedTooLarge(let file, _), .badMagic(let file, _, _),
             .truncatedHeader(let file, _, _), .sizeMismatch(let file, _, _, _), .labelOutOfRange(let file, _, _),
             .emptyImages(let file, _, _), .trailingCompressedData(let file, _, _):
            return file
        case .countMismatch(let images, _, _, _): return images
        case .shapeMismatch(let train, _, _, _): return train
        }
    }

    static let advice = "re-download it or point --data-dir at a good copy"

    public var description: String {
        switch self {
        case let .missingFile(file, directory, tried):
            let names = tried.map { ($0 as NSString).lastPathComponent }.joined(separator: " or ")
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory)
            let where_ = exists && isDirectory.boolValue ? "directory \(directory)" : "directory \(directory) (which does not exist)"
            return "\(file): missing: looked for \(names) in \(where_); download the MNIST files "
                + "(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
                + "t10k-labels-idx1-ubyte.gz) there or point --data-dir at a directory that holds them"
        case let .unreadable(file, reason):
            return "\(file): cannot be read (\(reason)); check its permissions or point --data-dir at a good copy"
        case let .checksumMismatch(file, expected, actual):
            return "\(file): checksum mismatch: SHA256SUMS lists \(expected), the file hashes to \(actual); "
                + "the file is corrupt or a different version: \(Self.advice)"
        case let .malformedChecksumList(file, line):
            return "\(file): line \(line) is not '<64 hex digits>  <file name>'; fix or delete the checksum list"
        case let .truncatedCompressedData(file):
            return "\(file): truncated: the gzip stream ends early (an interrupted download?); \(Self.advice)"
        case let .corruptCompressedData(file, reason):
            return "\(file): corrupt gzip data (zlib: \(reason)); \(Self.advice)"
        case let .trailingCompressedData(file, offset, count):
            return "\(file): trailing garbage: the gzip stream is complete at byte \(offset), but \(count) more bytes follow "
                + "that are not another gzip member (something was appended, or the copy is damaged); \(Self.advice)"
        case let .decompressedTooLarge(file, limit):
            return "\(file): decompresses to more than \(limit) bytes, far more than an MNIST file; \(Self.advice)"
        case let .badMagic(file, found, expected):
            let reason: String
            if found >> 16 != 0 {
                reason = "not an IDX file (it starts with bytes \(hexBytes(found)))"
            } else if (found >> 8) & 0xff != (expected >> 8) & 0xff {
                reason = "IDX element type \(typeName(UInt8((found >> 8) & 0xff))), expected \(typeName(UInt8((expected >> 8) & 0xff)))"
            } else {
                reason = "IDX rank \(found & 0xff), expected \(expected & 0xff)"
            }
            return "\(file): bad magic number \(hex32(found)) (expected \(hex32(expected))): \(reason); "
                + "is it the right file? \(Self.advice)"
        case let .truncatedHeader(file, expected, actual):
            return "\(file): truncated: the IDX header needs \(expected) bytes, the data holds \(actual); \(Self.advice)"
        case let .sizeMismatch(file, dimensions, expected, actual):
            let dims = dimensions.map(String.init).joined(separator: "×")
            if expected == Int.max {
                return "\(file): corrupt header: dimensions \(dims) are impossibly large; \(Self.advice)"
            }
            let what = actual < expected ? "truncated" : "too long (\(actual - expected) extra bytes)"
            return "\(file): \(what): header says \(dims) = \(expected) bytes, file holds \(actual); \(Self.advice)"
        case let .countMismatch(images, imageCount, labels, labelCount):
            return "\(images): holds \(imageCount) images but \(labels) holds \(labelCount) labels; "
                + "the two files must come from the same set: \(Self.advice)"
        case let .labelOutOfRange(file, index, value):
            return "\(file): label \(index) is \(value), not a digit 0–9; \(Self.advice)"
        case let .shapeMismatch(train, trainShape, test, testShape):
            return "\(train): images are \(trainShape.map(String.init).joined(separator: "×")) but \(test) has "
                + "\(testShape.map(String.init).joined(separator: "×")) images; both must come from the same data set: \(Self.advice)"
        case let .emptyImages(file, rows, columns):
            return "\(file): header says the images are \(rows)×\(columns) pixels, which is empty; \(Self.advice)"
        }
    }

    private func hex32(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
    }

    private func hexBytes(_ v: UInt32) -> String {
        (0..<4).map { i -> String in
            let b = UInt8(truncatingIfNeeded: v >> (24 - 8 * UInt32(i)))
            return (b < 16 ? "0" : "") + String(b, radix: 16)
        }.joined(separator: " ")
    }

    private func typeName(_ code: UInt8) -> String {
        let names: [UInt8: String] = [0x08: "uint8", 0x09: "int8", 0x0b: "int16", 0x0c: "int32", 0x0d: "float32", 0x0e: "float64"]
        let c = (code < 16 ? "0x0" : "0x") + String(code, radix: 16)
        return names[code].map { "\(c) (\($0))" } ?? "\(c) (unknown)"
    }
}
