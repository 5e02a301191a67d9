import CFoveaZlib
import Foundation
import ZIPFoundation

/// A zip archive read into memory: the container of `.npz` arrays and `.keras` models.
///
/// Only what those files use is supported: stored and deflated entries, ZIP64 sizes (NumPy's
/// `savez` writes ZIP64 extra fields for every entry), no encryption, a single disk. Everything is
/// located through the central directory, every offset is bounds-checked, and each entry's CRC-32 is
/// verified when it is read, so a truncated or corrupt archive is an error naming `file`.
///
/// Why reading is Fovea's own and not ZIPFoundation's (which writes Fovea's archives, `ZipWriter`
/// below): these archives come from strangers, and ZIPFoundation 0.9.20 (the release this project can
/// depend on) inflates an entry on Linux by reading on until zlib reports the stream's end, not up to
/// the entry's compressed size; when the data runs out first it loops forever at full CPU (upstream
/// weichsel/ZIPFoundation PR #389, not in a release). Tried here: a 603-byte archive whose first
/// deflate block claims to be a stored block longer than the file made `Archive.extract` spin until
/// killed, where this reader answers "compressed data ends early". This reader inflates exactly the
/// entry's bytes, refuses sizes past `maxEntryBytes` before allocating, and is fuzzed in the repository
/// (Fuzz/, harnesses `npz` and `keras`); the tests check it against ZIPFoundation on well-formed archives.
public struct ZipArchive {
    /// One entry of the central directory.
    public struct Entry {
        public let name: String
        /// 0 stored, 8 deflated.
        public let method: UInt16
        public let crc32: UInt32
        public let compressedSize: Int
        public let uncompressedSize: Int
        let localHeaderOffset: Int
        let flags: UInt16
    }

    /// The name used in error messages.
    public let file: String
    /// The entries, in central-directory order.
    public let entries: [Entry]
    private let bytes: [UInt8]

    /// Parses the archive's central directory.
    public init(_ data: Data, file: String) throws {
        try self.init(bytes: [UInt8](data), file: file)
    }

    /// Reads and parses an archive from disk.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw FoveaError("cannot read \(url.path): \(error.localizedDescription)")
        }
        try self.init(data, file: url.path)
    }

    init(bytes: [UInt8], file: String) throws {
        self.bytes = bytes
        self.file = file
        func fail(_ why: String) -> FoveaError { FoveaError("\(file): not a valid zip archive: \(why)") }
        let r = ByteReader(bytes)

        // The end-of-central-directory record sits in the last 22 + 65535 (comment) bytes.
        guard bytes.count >= 22 else { throw fail("only \(bytes.count) bytes, too short for a zip archive (truncated?)") }
        var eocd = -1
        var p = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 0xFFFF)
        while p >= lowest {
            if bytes[p] == 0x50 && bytes[p + 1] == 0x4B && bytes[p + 2] == 5 && bytes[p + 3] == 6 { eocd = p; break }
            p -= 1
        }
        guard eocd >= 0 else { throw fail("no end-of-central-directory record (truncated, or not a zip file)") }
        guard try r.u16(eocd + 4) == 0, try r.u16(eocd + 6) == 0 else { throw fail("multi-disk archives are not supported") }
        var count = Int(try r.u16(eocd + 10))
        var directorySize = Int(try r.u32(eocd + 12))
        var directoryOffset = Int(try r.u32(eocd + 16))
        if count == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            // ZIP64: a locator just before the record points at the 64-bit record.
            let locator = eocd - 20
            guard locator >= 0, try r.u32(locator) == 0x0706_4B50 else { throw fail("ZIP64 sizes without a ZIP64 locator") }
            let record = try r.offset64(locator + 8, "ZIP64 record offset")
            guard try r.u32(record) == 0x0606_4B50 else { throw fail("ZIP64 end-of-central-directory record missing at \(record)") }
            count = try r.offset64(record + 32, "entry count")
            directorySize = try r.offset64(record + 40, "central directory size")
            directoryOffset = try r.offset64(record + 48, "central directory offset")
        }
        guard directoryOffset <= bytes.count, directorySize <= bytes.count - directoryOffset else {
            throw fail("central directory (\(directorySize) bytes at \(directoryOffset)) lies outside the \(bytes.count)-byte file (truncated?)")
        }
        // Each central-directory header takes at least 46 bytes, which bounds a corrupt count.
        guard count <= directorySize / 46 else { throw fail("\(count) entries cannot fit in a \(directorySize)-byte central directory") }

        var entries: [Entry] = []
        var seen = Set<String>()
        var q = directoryOffset
        for index in 0..<count {
            guard try r.u32(q) == 0x0201_4B50 else { throw fail("central directory entry \(index) has a bad signature (corrupt)") }
            let flags = try r.u16(q + 8)
            let method = try r.u16(q + 10)
            let crc = try r.u32(q + 16)
            var compressed = Int(try r.u32(q + 20))
            var uncompressed = Int(try r.u32(q + 24))
            let nameLength = Int(try r.u16(q + 28)), extraLength = Int(try r.u16(q + 30)), commentLength = Int(try r.u16(q + 32))
            var local = Int(try r.u32(q + 42))
            let nameBytes = try r.slice(q + 46, nameLength)
            guard let name = String(validating: nameBytes, as: UTF8.self) else { throw fail("entry \(index) has a name that is not UTF-8") }
            // ZIP64 extra field: the 64-bit values of exactly those fields that hold 0xFFFFFFFF.
            var e = q + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = try r.u16(e), size = Int(try r.u16(e + 2))
                guard e + 4 + size <= extraEnd else { throw fail("entry '\(name)' has a malformed extra field") }
                if id == 1 {
                    var f = e + 4
                    func next(_ what: String) throws -> Int {
                        guard f + 8 <= e + 4 + size else { throw fail("entry '\(name)' has a short ZIP64 extra field") }
                        defer { f += 8 }
                        return try r.offset64(f, what)
                    }
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try next("size") }
                    if compressed == 0xFFFF_FFFF { compressed = try next("compressed size") }
                    if local == 0xFFFF_FFFF { local = try next("offset") }
                }
                e += 4 + size
            }
            guard flags & 1 == 0 else { throw fail("entry '\(name)' is encrypted") }
            guard method == 0 || method == 8 else { throw fail("entry '\(name)' uses compression method \(method); only stored (0) and deflate (8) are supported") }
            guard seen.insert(name).inserted else { throw fail("entry '\(name)' appears twice") }
            entries.append(Entry(name: name, method: method, crc32: crc, compressedSize: compressed,
                                 uncompressedSize: uncompressed, localHeaderOffset: local, flags: flags))
            q = extraEnd + commentLength
            guard q <= directoryOffset + directorySize else { throw fail("central directory entry \(index) runs past the directory's end") }
        }
        self.entries = entries
    }

    /// The most bytes one entry may inflate to (checked before any memory is reserved): 2 GiB, or
    /// the environment variable FOVEA_ZIP_MAX_ENTRY_BYTES.
    public static var maxEntryBytes: Int {
        ProcessInfo.processInfo.environment["FOVEA_ZIP_MAX_ENTRY_BYTES"].flatMap { Int($0) }.map { max(0, $0) } ?? (1 << 31)
    }

    /// The entry named `name`, if present.
    public func entry(named name: String) -> Entry? { entries.first { $0.name == name } }

    /// The names of all entries.
    public var names: [String] { entries.map(\.name) }

    /// The decompressed contents of `name`; its size and CRC-32 are checked.
    public func read(_ name: String) throws -> [UInt8] {
        guard let entry = entry(named: name) else {
            throw FoveaError("\(file): the archive has no entry '\(name)' (it holds \(names.joined(separator: ", ")))")
        }
        return try read(entry)
    }

    /// The decompressed contents of `entry`; its size and CRC-32 are checked.
    public func read(_ entry: Entry) throws -> [UInt8] {
        func fail(_ why: String) -> FoveaError { FoveaError("\(file): zip entry '\(entry.name)' is corrupt: \(why)") }
        let r = ByteReader(bytes)
        let h = entry.localHeaderOffset
        guard try r.u32(h) == 0x0403_4B50 else { throw fail("no local header at offset \(h) (truncated?)") }
        let nameLength = Int(try r.u16(h + 26)), extraLength = Int(try r.u16(h + 28))
        guard try r.slice(h + 30, nameLength) == Array(entry.name.utf8) else { throw fail("the local header names another file") }
        let start = h + 30 + nameLength + extraLength
        guard start <= bytes.count, entry.compressedSize <= bytes.count - start else {
            throw fail("its \(entry.compressedSize) bytes at offset \(start) run past the end of the \(bytes.count)-byte file (truncated?)")
        }
        // zlib counts in 32 bits; models and arrays beyond 4 GB per entry are out of scope.
        guard entry.compressedSize < Int(UInt32.max), entry.uncompressedSize < Int(UInt32.max) else {
            throw fail("entries of 4 GB or more are not supported")
        }
        // The declared size is reserved before inflating: a small entry must not claim gigabytes.
        let cap = Self.maxEntryBytes
        guard entry.uncompressedSize <= cap else {
            throw FoveaError("\(file): zip entry '\(entry.name)' declares \(entry.uncompressedSize) bytes uncompressed, more than the limit of \(cap) bytes per entry (set the environment variable FOVEA_ZIP_MAX_ENTRY_BYTES to raise it)")
        }
        let payload = bytes[start..<(start + entry.compressedSize)]
        let out: [UInt8]
        if entry.method == 0 {
            guard entry.compressedSize == entry.uncompressedSize else { throw fail("stored entry with different sizes") }
            out = Array(payload)
        } else {
            // Deflate cannot expand more than ~1032:1, so a larger declared size is corrupt (or a bomb).
            guard entry.uncompressedSize <= entry.compressedSize * 1032 + 1024 else {
                throw fail("declares \(entry.uncompressedSize) bytes from only \(entry.compressedSize) compressed")
            }
            out = try inflateRaw(payload, expected: entry.uncompressedSize, fail: fail)
        }
        let crc = out.withUnsafeBufferPointer { UInt32(truncatingIfNeeded: crc32(0, $0.baseAddress, UInt32($0.count))) }
        guard crc == entry.crc32 else { throw fail(String(format: "CRC-32 %08x does not match the recorded %08x", crc, entry.crc32)) }
        return out
    }
}

/// Raw deflate (no zlib/gzip wrapper) into exactly `expected` bytes.
private func inflateRaw(_ input: ArraySlice<UInt8>, expected: Int, fail: (String) -> FoveaError) throws -> [UInt8] {
    var stream = z_stream()
    guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
        throw fail("zlib could not start")
    }
    defer { inflateEnd(&stream) }
    // One spare byte tells "exactly the declared size" from "more than declared".
    var out = [UInt8](repeating: 0, count: expected + 1)
    let (rc, produced) = zlibPass(&stream, input, into: &out) { inflate(&$0, Z_FINISH) }
    if produced > expected { throw fail("inflates to more than the \(expected) bytes the directory records") }
    switch rc {
    case Z_STREAM_END:
        guard produced == expected else { throw fail("inflates to \(produced) bytes, the directory says \(expected)") }
    case Z_BUF_ERROR, Z_OK:
        throw fail("compressed data ends early (truncated?)")
    default:
        throw fail(stream.msg.map { String(cString: $0) } ?? "zlib error \(rc)")
    }
    out.removeLast()
    return out
}

/// Builds a zip archive in memory with ZIPFoundation: entries are stored or deflated, with a fixed
/// timestamp (1980-01-01 00:00 UTC) so the same contents always give the same bytes. Entries and
/// archives past 4 GB get ZIP64 records.
public struct ZipWriter {
    private var archive: Archive?
    private var names = Set<String>()

    public init() {}

    /// Adds an entry; `compress` deflates it (as `numpy.savez_compressed` does).
    public mutating func add(_ name: String, _ contents: [UInt8], compress: Bool = false) throws {
        guard names.insert(name).inserted else { throw FoveaError("zip: duplicate entry '\(name)'") }
        do {
            let archive = try self.archive ?? Archive(data: Data(), accessMode: .create)
            self.archive = archive
            try contents.withUnsafeBufferPointer { buffer in
                try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(buffer.count),
                                     modificationDate: Date(timeIntervalSince1970: 315_532_800), permissions: 0o644,
                                     compressionMethod: compress ? .deflate : .none, bufferSize: 1 << 20) { position, size in
                    Data(UnsafeBufferPointer(rebasing: buffer[Int(position)..<(Int(position) + size)]))
                }
            }
        } catch {
            throw FoveaError("zip: cannot add entry '\(name)' (\(contents.count) bytes): \(error)")
        }
    }

    /// The finished archive.
    public func finish() throws -> [UInt8] {
        guard let archive else { return Self.emptyArchive }
        guard let data = archive.data else { throw FoveaError("zip: the in-memory archive has no data") }
        return [UInt8](data)
    }

    /// An archive without entries: the end-of-central-directory record alone.
    private static let emptyArchive: [UInt8] = [0x50, 0x4B, 5, 6] + [UInt8](repeating: 0, count: 18)
}

/// Points `stream` at all of `input` and `out`, runs `step` (one inflate or deflate call) and
/// returns its result code and how many bytes it wrote into `out`.
private func zlibPass(_ stream: inout z_stream, _ input: ArraySlice<UInt8>, into out: inout [UInt8],
                      _ step: (inout z_stream) -> Int32) -> (Int32, Int) {
    input.withUnsafeBufferPointer { inBuf in
        out.withUnsafeMutableBufferPointer { outBuf in
            stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
            stream.avail_in = UInt32(inBuf.count)
            stream.next_out = outBuf.baseAddress
            stream.avail_out = UInt32(outBuf.count)
            let rc = step(&stream)
            return (rc, outBuf.count - Int(stream.avail_out))
        }
    }
}

/// Bounds-checked little-endian reads; every failure is a thrown error, never a trap.
struct ByteReader {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func check(_ offset: Int, _ count: Int) throws {
        guard offset >= 0, count >= 0, offset <= bytes.count, count <= bytes.count - offset else {
            throw FoveaError("read of \(count) bytes at offset \(offset) runs past the end of the \(bytes.count)-byte data (truncated?)")
        }
    }
    func u8(_ o: Int) throws -> UInt8 { try check(o, 1); return bytes[o] }
    func u16(_ o: Int) throws -> UInt16 { try check(o, 2); return UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8 }
    func u32(_ o: Int) throws -> UInt32 {
        try check(o, 4)
        return (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[o + $1]) << (8 * UInt32($1)) }
    }
    func u64(_ o: Int) throws -> UInt64 {
        try check(o, 8)
        return (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[o + $1]) << (8 * UInt64($1)) }
    }
    /// An unsigned integer of `size` bytes (1, 2, 4 or 8).
    func uint(_ o: Int, size: Int) throws -> UInt64 {
        switch size {
        case 1: return UInt64(try u8(o))
        case 2: return UInt64(try u16(o))
        case 4: return UInt64(try u32(o))
        case 8: return try u64(o)
        default: throw FoveaError("unsupported integer size \(size)")
        }
    }
    /// A 64-bit value used as an offset or size: must fit in the file's address range.
    func offset64(_ o: Int, _ what: String) throws -> Int {
        let v = try u64(o)
        guard v <= UInt64(Int.max / 2) else { throw FoveaError("\(what) \(v) is out of range (corrupt)") }
        return Int(v)
    }
    func slice(_ o: Int, _ count: Int) throws -> [UInt8] {
        try check(o, count)
        return Array(bytes[o..<(o + count)])
    }
}

extension Array where Element == UInt8 {
    mutating func le16(_ v: UInt16) { append(UInt8(v & 0xFF)); append(UInt8(v >> 8)) }
    mutating func le32(_ v: UInt32) { for i in 0..<4 { append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
    mutating func le64(_ v: UInt64) { for i in 0..<8 { append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
}
