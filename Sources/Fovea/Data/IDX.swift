import Foundation

/// An IDX array of unsigned bytes (the format of the MNIST files): a 4-byte magic number
/// `0x00 0x00 0x08 rank`, `rank` big-endian 32-bit dimensions, then the elements in row-major order.
public struct IDX: Sendable, Equatable {
    /// The dimensions from the header, outermost first (e.g. `[60000, 28, 28]`).
    public let dimensions: [Int]
    /// The elements, row-major; `data.count` is the product of `dimensions`.
    public let data: [UInt8]

    public init(dimensions: [Int], data: [UInt8]) {
        self.dimensions = dimensions
        self.data = data
    }

    /// The magic number of an unsigned-byte IDX array of the given rank (`0x00000803` for rank 3).
    public static func magic(rank: Int) -> UInt32 { 0x0000_0800 | UInt32(rank & 0xff) }

    /// Parses an unsigned-byte IDX array of rank `rank`. `file` names the source in errors.
    ///
    /// - Throws: `DatasetError.badMagic` (not IDX, not uint8, or another rank), `.truncatedHeader`, or
    ///   `.sizeMismatch` when the data is shorter or longer than the header says.
    public static func parse(_ bytes: [UInt8], rank: Int, file: String) throws -> IDX {
        try bytes.withUnsafeBytes { try parse($0, rank: rank, file: file) }
    }

    /// `parse(_:rank:file:)` for raw memory.
    public static func parse(_ bytes: UnsafeRawBufferPointer, rank: Int, file: String) throws -> IDX {
        let expectedMagic = magic(rank: rank)
        guard bytes.count >= 4 else {
            throw DatasetError.truncatedHeader(file: file, expectedBytes: 4 + 4 * rank, actualBytes: bytes.count)
        }
        let found = readBigEndian(bytes, at: 0)
        guard found == expectedMagic else {
            throw DatasetError.badMagic(file: file, found: found, expected: expectedMagic)
        }
        let headerBytes = 4 + 4 * rank
        guard bytes.count >= headerBytes else {
            throw DatasetError.truncatedHeader(file: file, expectedBytes: headerBytes, actualBytes: bytes.count)
        }
        var dimensions = [Int]()
        var expected = 1
        for i in 0..<rank {
            let d = Int(readBigEndian(bytes, at: 4 + 4 * i))
            dimensions.append(d)
            let (product, overflow) = expected.multipliedReportingOverflow(by: d)
            expected = overflow ? Int.max : product
        }
        let actual = bytes.count - headerBytes
        guard actual == expected else {
            throw DatasetError.sizeMismatch(file: file, dimensions: dimensions, expectedBytes: expected, actualBytes: actual)
        }
        let data = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[headerBytes...]))
        return IDX(dimensions: dimensions, data: data)
    }

    /// Encodes `data` as an unsigned-byte IDX array (the inverse of `parse`).
    public static func encode(dimensions: [Int], data: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(4 + 4 * dimensions.count + data.count)
        appendBigEndian(&out, magic(rank: dimensions.count))
        for d in dimensions { appendBigEndian(&out, UInt32(truncatingIfNeeded: d)) }
        out += data
        return out
    }

    private static func readBigEndian(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    private static func appendBigEndian(_ out: inout [UInt8], _ v: UInt32) {
        out += [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }
}
