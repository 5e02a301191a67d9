import Foundation

/// The safetensors format: an 8-byte little-endian header length, a JSON header naming each
/// tensor's dtype, shape and byte range (plus a free-form string map `__metadata__`), then the
/// raw little-endian data. Python's `safetensors` package reads what this writes.
public enum SafeTensors {
    /// Largest header accepted (the format's own limit is 100 MB).
    static let maxHeaderBytes = 100_000_000

    /// Encodes float32 tensors and string metadata.
    public static func encode(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String]) throws -> Data {
        var header: [String: Any] = ["__metadata__": metadata]
        var offset = 0
        for (name, t) in tensors {
            guard header[name] == nil else { throw FoveaError("safetensors: duplicate tensor name '\(name)'") }
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + t.count * 4]]
            offset += t.count * 4
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
        while (json.count + 8) % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for (_, t) in tensors { t.withUnsafeBufferPointer { out.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) } }
        return out
    }

    /// Decodes a safetensors file's bytes; every inconsistency is an error naming `file`.
    public static func decode(_ data: Data, file: String) throws -> (metadata: [String: String], tensors: [(name: String, tensor: Tensor)]) {
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
        let metadata = (header["__metadata__"] as? [String: String]) ?? [:]
        let body = 8 + Int(headerLength)
        let bodyLength = data.count - body
        var entries: [(name: String, shape: [Int], start: Int, end: Int)] = []
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = (info["shape"] as? [NSNumber])?.map(\.intValue),
                  let offsets = (info["data_offsets"] as? [NSNumber])?.map(\.intValue), offsets.count == 2 else {
                throw fail("tensor '\(name)' lacks dtype, shape or data_offsets")
            }
            guard dtype == "F32" else { throw fail("tensor '\(name)' has dtype \(dtype); Fovea reads F32 tensors") }
            guard shape.allSatisfy({ $0 >= 0 && $0 < 1 << 31 }) else { throw fail("tensor '\(name)' has an invalid shape \(shape)") }
            let count = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).partialValue }
            guard offsets[0] >= 0, offsets[1] >= offsets[0], offsets[1] <= bodyLength else {
                throw fail("tensor '\(name)' data \(offsets) lies outside the \(bodyLength) data bytes (truncated?)")
            }
            guard offsets[1] - offsets[0] == count * 4 else {
                throw fail("tensor '\(name)' of shape \(shape) needs \(count * 4) bytes but its range holds \(offsets[1] - offsets[0])")
            }
            entries.append((name, shape, offsets[0], offsets[1]))
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
        return (metadata, tensors)
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
}
