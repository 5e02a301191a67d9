import CFoveaZlib
import Foundation

/// Why a gzip/zlib stream could not be decompressed.
public enum GzipError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input ended before the end of the compressed stream (a cut-off download, or an empty file).
    case truncated
    /// zlib rejected the stream: a bad header, corrupt deflate data, or a failed CRC-32/length check.
    case corrupt(String)
    /// Decompressing would produce more than `limit` bytes.
    case outputTooLarge(limit: Int)
    /// A whole, valid stream ends at byte `offset` and is followed by `count` bytes that are neither
    /// another gzip member nor zero padding (something appended to the file, or a damaged copy).
    case trailingData(offset: Int, count: Int)

    public var description: String {
        switch self {
        case .truncated: return "compressed stream is truncated (input ended before the end of the stream)"
        case .corrupt(let reason): return "compressed data is corrupt (\(reason))"
        case .outputTooLarge(let limit): return "decompressed data exceeds the limit of \(limit) bytes (a decompression bomb, or a larger file than expected: pass a larger maxOutputBytes to raise the limit)"
        case let .trailingData(offset, count):
            return "the compressed stream ends at byte \(offset), followed by \(count) bytes that are not another gzip member (trailing garbage)"
        }
    }
}

/// gzip / zlib decompression through the system zlib.
public enum Gzip {
    /// Decompresses a gzip or zlib stream (detected from its header). Concatenated gzip members are
    /// decompressed one after the other, as `gunzip` does; zero padding after the last member is ignored.
    /// Every member is read to its end, so gzip's CRC-32 and length trailer is always checked.
    ///
    /// - Throws: `GzipError` for truncated or corrupt input, or when the output would exceed `maxOutputBytes`.
    public static func decompress(_ bytes: [UInt8], maxOutputBytes: Int = 1 << 30) throws -> [UInt8] {
        try bytes.withUnsafeBytes { try decompress($0, maxOutputBytes: maxOutputBytes) }
    }

    /// `decompress(_:maxOutputBytes:)` for `Data`.
    public static func decompress(_ data: Data, maxOutputBytes: Int = 1 << 30) throws -> [UInt8] {
        try data.withUnsafeBytes { try decompress($0, maxOutputBytes: maxOutputBytes) }
    }

    /// `decompress(_:maxOutputBytes:)` for raw memory.
    public static func decompress(_ input: UnsafeRawBufferPointer, maxOutputBytes: Int = 1 << 30) throws -> [UInt8] {
        try withDecompressed(input, maxOutputBytes: maxOutputBytes) { Array($0) }
    }

    /// Compresses `bytes` as a single gzip member (`level` 0–9, or -1 for zlib's default).
    public static func compress(_ bytes: [UInt8], level: Int = -1) -> [UInt8] {
        var stream = z_stream()
        // windowBits 15 + 16: gzip wrapper; memLevel 8 is zlib's default.
        let rc = deflateInit2_(&stream, Int32(max(-1, min(9, level))), Z_DEFLATED, 15 + 16, 8,
                               Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(rc == Z_OK, "deflateInit2 failed (\(rc))")
        defer { deflateEnd(&stream) }
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        bytes.withUnsafeBufferPointer { inBuf in
            var fed = 0
            var status = Z_OK
            repeat {
                if stream.avail_in == 0 && fed < inBuf.count {
                    let n = min(inBuf.count - fed, Int(UInt32.max))
                    stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress! + fed)
                    stream.avail_in = UInt32(n)
                    fed += n
                }
                let flush = fed == inBuf.count ? Z_FINISH : Z_NO_FLUSH
                chunk.withUnsafeMutableBufferPointer { c in
                    stream.next_out = c.baseAddress
                    stream.avail_out = UInt32(c.count)
                    status = deflate(&stream, flush)
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: c[0..<(c.count - Int(stream.avail_out))]))
                }
                precondition(status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR,
                             "deflate failed (\(status))")
            } while status != Z_STREAM_END
        }
        return out
    }

    /// Decompresses `input` into a temporary buffer and hands it to `body` (valid only during the call).
    /// Used by the loaders to avoid copying the decompressed bytes twice.
    static func withDecompressed<R>(_ input: UnsafeRawBufferPointer, maxOutputBytes: Int,
                                    _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard input.count > 0, let inBase = input.baseAddress else { throw GzipError.truncated }
        let limit = max(0, maxOutputBytes)
        // One byte beyond the limit is allowed to be produced, so that "exactly at the limit" and
        // "over the limit" can be told apart.
        let hardCap = limit == Int.max ? limit : limit + 1

        var stream = z_stream()
        // 15 + 32: maximum window, automatic gzip/zlib header detection.
        var rc = inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw GzipError.corrupt("inflateInit2 failed with code \(rc)") }
        defer { inflateEnd(&stream) }

        let bytes = inBase.assumingMemoryBound(to: UInt8.self)
        var capacity = max(1, min(initialCapacity(input), hardCap))
        var out = try allocate(capacity)
        defer { free(out) }

        var produced = 0
        var fed = 0
        while true {
            if stream.avail_in == 0 && fed < input.count {
                let n = min(input.count - fed, Int(UInt32.max))
                stream.next_in = UnsafeMutablePointer(mutating: bytes + fed)
                stream.avail_in = UInt32(n)
                fed += n
            }
            if produced == capacity {
                guard capacity < hardCap else { throw GzipError.outputTooLarge(limit: limit) }
                let grown = capacity > hardCap / 2 ? hardCap : capacity * 2
                guard let bigger = realloc(out, grown) else {
                    throw GzipError.corrupt("out of memory growing the output to \(grown) bytes")
                }
                out = bigger.assumingMemoryBound(to: UInt8.self)
                capacity = grown
            }
            let room = UInt32(min(capacity - produced, Int(UInt32.max)))
            stream.next_out = out + produced
            stream.avail_out = room
            rc = inflate(&stream, Z_NO_FLUSH)
            produced += Int(room - stream.avail_out)
            if produced > limit { throw GzipError.outputTooLarge(limit: limit) }
            let consumed = fed - Int(stream.avail_in)

            switch rc {
            case Z_STREAM_END:
                // End of one member (its CRC-32 and length were verified by zlib).
                let rest = UnsafeBufferPointer(start: bytes + consumed, count: input.count - consumed)
                if rest.allSatisfy({ $0 == 0 }) {
                    return try body(UnsafeRawBufferPointer(start: out, count: produced))
                }
                // Another member follows; anything else is trailing garbage, named as such (zlib would
                // call it an incorrect header check).
                guard rest.count >= 2, rest[0] == 0x1f, rest[1] == 0x8b else {
                    throw GzipError.trailingData(offset: consumed, count: rest.count)
                }
                guard inflateReset(&stream) == Z_OK else { throw GzipError.corrupt("inflateReset failed") }
            case Z_OK:
                if stream.avail_in == 0 && fed == input.count && stream.avail_out > 0 {
                    throw GzipError.truncated  // zlib took everything and wants more input
                }
            case Z_BUF_ERROR:
                // No progress possible: either the output is full (grown on the next pass) or the input ran out.
                if stream.avail_out > 0 {
                    if stream.avail_in == 0 && fed == input.count { throw GzipError.truncated }
                    if stream.avail_in > 0 { throw GzipError.corrupt("zlib made no progress") }  // cannot happen
                }
            case Z_NEED_DICT:
                throw GzipError.corrupt("stream needs a preset dictionary")
            case Z_MEM_ERROR:
                throw GzipError.corrupt("zlib ran out of memory")
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                throw GzipError.corrupt(message)
            }
        }
    }

    /// A first guess at the output size: gzip's trailer holds the size mod 2³² of the (last) member,
    /// bounded by deflate's maximum ratio (~1032:1) so that a corrupt trailer cannot ask for gigabytes.
    private static func initialCapacity(_ input: UnsafeRawBufferPointer) -> Int {
        let n = input.count
        let fallback = n.multipliedReportingOverflow(by: 4)
        var guess = fallback.overflow ? Int.max : fallback.partialValue
        if n >= 18 && input[0] == 0x1f && input[1] == 0x8b {
            let isize = Int(input[n - 4]) | Int(input[n - 3]) << 8 | Int(input[n - 2]) << 16 | Int(input[n - 1]) << 24
            let bound = n.multipliedReportingOverflow(by: 1032)
            if isize > 0 { guess = min(isize, bound.overflow ? Int.max : bound.partialValue) }
        }
        return max(guess, 4096)
    }

    private static func allocate(_ count: Int) throws -> UnsafeMutablePointer<UInt8> {
        guard let p = malloc(count) else { throw GzipError.corrupt("out of memory allocating \(count) bytes") }
        return p.assumingMemoryBound(to: UInt8.self)
    }
}
