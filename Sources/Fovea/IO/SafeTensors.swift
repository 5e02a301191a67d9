import Foundation

/// The safetensors format: an 8-byte little-endian header length, a JSON header naming each
/// tensor's dtype, shape and byte range (plus a free-form string map `__metadata__`), then the
/// raw little-endian data. Python's `safetensors` package reads what this writes.
public enum SafeTensors {
    /// Largest header accepted (the format's own limit is 100 MB).
    static let maxHeaderBytes = 100_000_000

    /// One tensor's entry in the header: its name, shape and byte range within the data section.
    struct Entry: Equatable {
        let name: String
        let shape: [Int]
        let start: Int
        let end: Int
    }

    /// Where each tensor goes when they are written in the given order.
    static func layout(_ tensors: [(name: String, tensor: Tensor)]) throws -> [Entry] {
        var entries: [Entry] = []
        var seen = Set<String>()
        var offset = 0
        for (name, t) in tensors {
            guard seen.insert(name).inserted, name != "__metadata__" else { throw FoveaError("safetensors: duplicate or reserved tensor name '\(name)'") }
            entries.append(Entry(name: name, shape: t.shape, start: offset, end: offset + t.count * 4))
            offset += t.count * 4
        }
        return entries
    }

    /// The data section: every tensor's little-endian float32 bytes, in order.
    static func dataSection(_ tensors: [(name: String, tensor: Tensor)]) -> Data {
        var out = Data(capacity: tensors.reduce(0) { $0 + $1.tensor.count * 4 })
        for (_, t) in tensors { t.withUnsafeBufferPointer { out.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) } }
        return out
    }

    /// Encodes float32 tensors and string metadata.
    public static func encode(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String]) throws -> Data {
        try encode(layout(tensors), section: dataSection(tensors), metadata: metadata)
    }

    static func encode(_ entries: [Entry], section: Data, metadata: [String: String]) throws -> Data {
        var header: [String: Any] = ["__metadata__": metadata]
        for e in entries { header[e.name] = ["dtype": "F32", "shape": e.shape, "data_offsets": [e.start, e.end]] }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
        while (json.count + 8) % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + section.count)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(section)
        return out
    }

    /// Decodes a safetensors file's bytes; every inconsistency is an error naming `file`.
    public static func decode(_ data: Data, file: String) throws -> (metadata: [String: String], tensors: [(name: String, tensor: Tensor)]) {
        let decoded = try decodeWithLayout(data, file: file)
        return (decoded.metadata, decoded.tensors)
    }

    /// ``decode(_:file:)`` plus each tensor's header entry and where the data section lies in `data`.
    static func decodeWithLayout(_ data: Data, file: String) throws
        -> (metadata: [String: String], tensors: [(name: String, tensor: Tensor)], entries: [Entry], body: Range<Int>) {
        func fail(_ why: String) -> FoveaError { FoveaError("\(file): not a valid safetensors file: \(why)") }
        guard data.count >= 8 else { throw fail("only \(data.count) bytes, too short for the header length") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(maxHeaderBytes), 8 + Int(headerLength) <= data.count else {
            throw fail("header claims \(headerLength) bytes but the file holds \(data.count - 8) after the length (truncated?)")
        }
        let headerData = data.subdata(in: 8..<(8 + Int(headerLength)))
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw fail("the header is not a JSON object (corrupt?)")
        }
        if header["__metadata__"] != nil && !(header["__metadata__"] is [String: String]) {
            throw fail("__metadata__ is not a map of strings to strings (corrupt?)")
        }
        let metadata = (header["__metadata__"] as? [String: String]) ?? [:]
        let body = 8 + Int(headerLength)
        let bodyLength = data.count - body
        var entries: [Entry] = []
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = (info["shape"] as? [NSNumber])?.map(\.intValue),
                  let offsets = (info["data_offsets"] as? [NSNumber])?.map(\.intValue), offsets.count == 2 else {
                throw fail("tensor '\(name)' lacks dtype, shape or data_offsets")
            }
            guard dtype == "F32" else { throw fail("tensor '\(name)' has dtype \(dtype); Fovea reads F32 tensors") }
            guard shape.allSatisfy({ $0 >= 0 && $0 < 1 << 31 }) else { throw fail("tensor '\(name)' has an invalid shape \(shape)") }
            var count = 1
            for d in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow, product < Int.max / 8 else { throw fail("tensor '\(name)' has an impossibly large shape \(shape)") }
                count = product
            }
            guard offsets[0] >= 0, offsets[1] >= offsets[0], offsets[1] <= bodyLength else {
                throw fail("tensor '\(name)' data \(offsets) lies outside the \(bodyLength) data bytes (truncated?)")
            }
            guard offsets[1] - offsets[0] == count * 4 else {
                throw fail("tensor '\(name)' of shape \(shape) needs \(count * 4) bytes but its range holds \(offsets[1] - offsets[0])")
            }
            entries.append(Entry(name: name, shape: shape, start: offsets[0], end: offsets[1]))
        }
        var tensors: [(name: String, tensor: Tensor)] = []
        for e in entries.sorted(by: { $0.start < $1.start }) {
            var t = Tensor(uninitializedShape: e.shape)
            t.withUnsafeMutableBufferPointer { dst in
                data.withUnsafeBytes { raw in
                    _ = memcpy(dst.baseAddress!, raw.baseAddress! + body + e.start, e.end - e.start)
                }
            }
            tensors.append((e.name, t))
        }
        return (metadata, tensors, entries.sorted { $0.name < $1.name }, body..<data.count)
    }
}

/// Writes `data` to `url` atomically: a temporary file in the same folder, flushed to disk, then
/// renamed over the target. A crash leaves either the old file or the new one, never half of one.
public func writeAtomically(_ data: Data, to url: URL) throws {
    let dir = url.deletingLastPathComponent()
    let temp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    let fd = open(temp.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
    guard fd >= 0 else { throw FoveaError("cannot create \(temp.path): \(String(cString: strerror(errno)))") }
    var ok = false
    defer { if !ok { close(fd); unlink(temp.path) } }
    try data.withUnsafeBytes { raw in
        var written = 0
        while written < raw.count {
            let n = write(fd, raw.baseAddress! + written, raw.count - written)
            guard n > 0 else { throw FoveaError("cannot write \(temp.path): \(String(cString: strerror(errno)))") }
            written += n
        }
    }
    guard fsync(fd) == 0 else { throw FoveaError("cannot flush \(temp.path): \(String(cString: strerror(errno)))") }
    close(fd)
    ok = true
    guard rename(temp.path, url.path) == 0 else {
        let reason = String(cString: strerror(errno))
        unlink(temp.path)
        throw FoveaError("cannot move the new file into place at \(url.path): \(reason)")
    }
    let dirFD = open(dir.path, O_RDONLY)
    if dirFD >= 0 { fsync(dirFD); close(dirFD) }
    removeAbandonedTemporaryFiles(for: url)
}

/// Deletes temporary files that writes to `url` left behind when their process was killed
/// (`.<name>.tmp-<pid>-<random>` whose process no longer exists). Files of live processes stay.
func removeAbandonedTemporaryFiles(for url: URL) {
    let dir = url.deletingLastPathComponent()
    let prefix = ".\(url.lastPathComponent).tmp-"
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return }
    for name in names where name.hasPrefix(prefix) {
        let rest = name.dropFirst(prefix.count)
        guard let dash = rest.firstIndex(of: "-"), let pid = pid_t(rest[..<dash]), pid > 0, pid != getpid() else { continue }
        if kill(pid, 0) != 0 && errno == ESRCH { unlink(dir.appendingPathComponent(name).path) }
    }
}
