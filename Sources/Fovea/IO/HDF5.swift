import Foundation

/// The part of HDF5 that h5py writes by default, and so Keras's `model.weights.h5`: superblock
/// version 0/1, version-1 object headers, groups as symbol tables (a v1 B-tree of symbol nodes with
/// a local heap of names), and datasets stored contiguously or compactly, uncompressed.
///
/// This subset is all that Keras writes, for models of any size (checked on ResNet50, InceptionV3,
/// MobileNetV2 and VGG16 saved by Keras 3.15 with h5py 3.14 / HDF5 1.14 as `.h5`, `.keras` and
/// `.weights.h5`, and on keras.applications' Keras 2 weight files): h5py opens files with
/// `libver=("earliest", …)`, so there is no dense attribute storage, no version-2 object header and
/// no chunked dataset in them. An attribute larger than an object header message (64 KiB) cannot be
/// written in this layout at all (libhdf5: "object header message is too large"); Keras avoids that
/// by storing `model_config` (153 KB for ResNet50, 269 KB for InceptionV3) as one variable-length
/// string, whose text is an object in a global heap collection of its own, and by splitting long
/// name lists into `layer_names0`, `layer_names1`, … of fixed-length strings. Groups with hundreds
/// of members have symbol-table B-trees of several levels.
///
/// This is deliberately not a general HDF5 library. Anything outside the subset (superblock 2/3 from
/// `libver="latest"`, new-style link groups, chunked or filtered datasets) is an error naming the
/// feature. Every address is bounds-checked and every walk is bounded, so corrupt files are errors.
/// `HDF5File` is its public face; `HDF5Writer` writes the same layout.
///
/// Why Fovea reads HDF5 itself rather than through a package: the only complete implementation is the
/// HDF Group's C library (libhdf5), which the default build must not need (it is not installed on the
/// machines Fovea targets, and a system library for one file format would make every user install it);
/// no Swift package for HDF5 is among those the project can depend on; and libhdf5's record on hostile
/// files (a long run of CVEs from fuzzed inputs: heap overflows, infinite loops in its B-tree and heap
/// walks) is the opposite of what reading strangers' weight files needs. The subset here is small enough
/// to bound every read, and it is fuzzed in the repository (Fuzz/, harnesses `h5` and `keras`).
struct HDF5Reader {
    let file: String
    private let r: ByteReader
    private let base: Int
    private let offsetSize: Int
    private let lengthSize: Int
    private let rootHeader: Int

    static let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The message for a file outside the subset: what it uses, and how to get a file inside it.
    static func unsupported(_ file: String, _ feature: String) -> String {
        "\(file): uses \(feature), which Fovea's built-in HDF5 reader does not read: it reads the classic layout that h5py writes by default (what Keras's model.save writes). Load the model in Keras and save it again with model.save('model.keras') to get that layout."
    }

    /// Whether `bytes` starts like an HDF5 file (signature at offset 0).
    static func isHDF5(_ bytes: [UInt8]) -> Bool { bytes.count >= 8 && Array(bytes[0..<8]) == signature }

    init(bytes: [UInt8], file: String) throws {
        self.file = file
        r = ByteReader(bytes)
        // The superblock is at 0, or after a user block at 512, 1024, 2048, …
        var at = 0
        while !(at + 8 <= bytes.count && Array(bytes[at..<(at + 8)]) == Self.signature) {
            at = at == 0 ? 512 : at * 2
            guard at < bytes.count else { throw FoveaError("\(file): not an HDF5 file (no HDF5 signature)") }
        }
        func fail(_ why: String) -> FoveaError { FoveaError("\(file): unsupported or corrupt HDF5 file: \(why)") }
        do {
            let version = try r.u8(at + 8)
            guard version <= 1 else {
                throw FoveaError(Self.unsupported(file, "superblock version \(version) (written with libver='latest' or by a newer HDF5)"))
            }
            offsetSize = Int(try r.u8(at + 13))
            lengthSize = Int(try r.u8(at + 14))
            guard [2, 4, 8].contains(offsetSize), [2, 4, 8].contains(lengthSize) else {
                throw fail("offset/length sizes \(offsetSize)/\(lengthSize) are invalid")
            }
            var p = at + 24 + (version == 1 ? 4 : 0)
            let baseAddress = try r.uint(p, size: offsetSize)
            guard baseAddress <= UInt64(bytes.count) else { throw fail("base address \(baseAddress) lies past the end of the file") }
            base = Int(baseAddress)
            // The end-of-file address tells a cut-off file from a complete one, as libhdf5 checks.
            let endOfFile = try r.uint(p + 2 * offsetSize, size: offsetSize)
            guard endOfFile <= UInt64(bytes.count - base) else {
                throw fail("the superblock records \(endOfFile) bytes but the file holds \(bytes.count - base) (truncated?)")
            }
            p += 4 * offsetSize
            // Root group symbol table entry: link name offset, then the object header address.
            let root = try r.uint(p + offsetSize, size: offsetSize)
            rootHeader = try Self.address(root, base: base, size: offsetSize, limit: bytes.count, fail: fail)
        } catch let error as FoveaError where !error.message.hasPrefix(file) {
            throw fail(error.message)
        }
    }

    private static func address(_ raw: UInt64, base: Int, size: Int, limit: Int, fail: (String) -> FoveaError) throws -> Int {
        let undefined = size == 8 ? UInt64.max : (UInt64(1) << UInt64(8 * size)) - 1
        guard raw != undefined else { throw fail("an undefined address where an object was expected") }
        guard raw < UInt64(limit), base + Int(raw) < limit else { throw fail("address \(raw) lies past the end of the \(limit)-byte file (truncated?)") }
        return base + Int(raw)
    }

    /// Whether the four bytes at `at` are `signature` (ASCII), without allocating.
    private func has(_ signature: StaticString, at: Int) throws -> Bool {
        try r.check(at, 4)
        return signature.withUTF8Buffer { sig in (0..<4).allSatisfy { r.bytes[at + $0] == sig[$0] } }
    }

    private func fail(_ why: String) -> FoveaError { FoveaError("\(file): unsupported or corrupt HDF5 file: \(why)") }

    private func address(at offset: Int) throws -> Int {
        try Self.address(try r.uint(offset, size: offsetSize), base: base, size: offsetSize, limit: r.bytes.count, fail: fail)
    }
    private func isUndefinedAddress(at offset: Int) throws -> Bool {
        let undefined = offsetSize == 8 ? UInt64.max : (UInt64(1) << UInt64(8 * offsetSize)) - 1
        return try r.uint(offset, size: offsetSize) == undefined
    }
    private func length(at offset: Int) throws -> Int {
        let v = try r.uint(offset, size: lengthSize)
        guard v <= UInt64(r.bytes.count) else { throw fail("length \(v) exceeds the file's size (corrupt)") }
        return Int(v)
    }

    struct Message { let type: UInt16; let flags: UInt8; let offset: Int; let size: Int }

    /// The header messages of the object whose header is at (absolute) `at`.
    func messages(at: Int) throws -> [Message] {
        if (try? has("OHDR", at: at)) == true {
            throw FoveaError(Self.unsupported(file, "version-2 object headers (written with libver='latest')"))
        }
        guard try r.u8(at) == 1 else { throw fail("object header at \(at) has version \(try r.u8(at)), expected 1") }
        let count = Int(try r.u16(at + 2))
        var chunks = [(start: at + 16, size: Int(try r.u32(at + 8)))]
        var result: [Message] = []
        var chunkIndex = 0
        while chunkIndex < chunks.count && result.count < count {
            let (start, size) = chunks[chunkIndex]
            chunkIndex += 1
            try r.check(start, size)
            var p = start
            while p + 8 <= start + size && result.count < count {
                let type = try r.u16(p), bodySize = Int(try r.u16(p + 2)), flags = try r.u8(p + 4)
                guard p + 8 + bodySize <= start + size else { throw fail("object header message at \(p) runs past its chunk") }
                if type == 0x10 {
                    guard chunks.count < 1000 else { throw fail("too many object header continuation chunks") }
                    chunks.append((try address(at: p + 8), try length(at: p + 8 + offsetSize)))
                }
                result.append(Message(type: type, flags: flags, offset: p + 8, size: bodySize))
                p += 8 + bodySize
            }
        }
        return result
    }

    enum Object { case group(btree: Int, heap: Int), dataset([Message]), other }

    func object(at: Int) throws -> Object {
        let msgs = try messages(at: at)
        if let stab = msgs.first(where: { $0.type == 0x11 }) {
            return .group(btree: try address(at: stab.offset), heap: try address(at: stab.offset + offsetSize))
        }
        if msgs.contains(where: { $0.type == 0x06 || $0.type == 0x02 }) {
            throw FoveaError(Self.unsupported(file, "new-style (link message) groups"))
        }
        if msgs.contains(where: { $0.type == 0x08 }) { return .dataset(msgs) }
        return .other
    }

    /// Every dataset reachable from the root group, by slash-separated path, with its header address.
    func datasets() throws -> [String: Int] {
        var found: [String: Int] = [:]
        var visited = Set<Int>()
        var budget = 200_000
        func walk(_ header: Int, _ path: String, depth: Int) throws {
            guard depth < 64 else { throw fail("groups nested more than 64 deep") }
            guard visited.insert(header).inserted else { return }  // hard links may form cycles
            switch try object(at: header) {
            case .group(let btree, let heap):
                for (name, child) in try groupEntries(btree: btree, heap: heap, budget: &budget) {
                    try walk(child, path.isEmpty ? name : "\(path)/\(name)", depth: depth + 1)
                }
            case .dataset: found[path] = header
            case .other: break
            }
        }
        try walk(rootHeader, "", depth: 0)
        return found
    }

    /// The members of the group whose header is at `header`, by name, with their header addresses,
    /// in the order the group stores them (by name); nil when `header` is not a group.
    func members(ofGroupAt header: Int) throws -> [(name: String, header: Int)]? {
        guard case .group(let btree, let heap) = try object(at: header) else { return nil }
        var budget = 200_000
        return try groupEntries(btree: btree, heap: heap, budget: &budget).map { (name: $0.0, header: $0.1) }
    }

    /// The object header of the group or dataset at slash-separated `path` ("" is the root group),
    /// or nil when no such member exists.
    func objectHeader(at path: String) throws -> Int? {
        var header = rootHeader
        var budget = 200_000
        for name in path.split(separator: "/").map(String.init) {
            guard case .group(let btree, let heap) = try object(at: header) else { return nil }
            guard let child = try groupEntries(btree: btree, heap: heap, budget: &budget).first(where: { $0.0 == name }) else { return nil }
            header = child.1
        }
        return header
    }

    typealias Attribute = HDF5Attribute

    /// The attributes of the object whose header is at `header`, by name. Only attributes stored in
    /// the object header itself (what HDF5 does unless `libver` allows dense attribute storage).
    func attributes(ofObjectAt header: Int) throws -> [String: Attribute] {
        let msgs = try messages(at: header)
        if let info = msgs.first(where: { $0.type == 0x15 }) {
            // Attribute info: dense storage in a fractal heap when its address is defined.
            let flags = try r.u8(info.offset + 1)
            let heapAt = info.offset + 2 + (flags & 1 != 0 ? 2 : 0)
            if !(try isUndefinedAddress(at: heapAt)) { throw FoveaError(Self.unsupported(file, "dense attribute storage (written with libver='latest')")) }
        }
        var result: [String: Attribute] = [:]
        for m in msgs where m.type == 0x0C {
            let (name, value) = try attribute(m)
            result[name] = value
        }
        return result
    }

    /// One attribute message: version 1 (name, datatype and dataspace each padded to 8 bytes),
    /// 2 (unpadded) or 3 (unpadded, with the name's character set).
    private func attribute(_ m: Message) throws -> (String, Attribute) {
        let end = m.offset + m.size
        let version = try r.u8(m.offset)
        guard (1...3).contains(version) else { throw fail("attribute message at \(m.offset) has version \(version)") }
        let nameSize = Int(try r.u16(m.offset + 2)), typeSize = Int(try r.u16(m.offset + 4)), spaceSize = Int(try r.u16(m.offset + 6))
        func padded(_ n: Int) -> Int { version == 1 ? (n + 7) / 8 * 8 : n }
        let nameAt = m.offset + (version == 3 ? 9 : 8)
        let typeAt = nameAt + padded(nameSize), spaceAt = typeAt + padded(typeSize), dataAt = spaceAt + padded(spaceSize)
        guard nameSize >= 1, dataAt <= end else { throw fail("attribute message at \(m.offset) runs past its end") }
        let name = String(decoding: try r.slice(nameAt, nameSize).prefix { $0 != 0 }, as: UTF8.self)
        let what = "attribute '\(name)'"
        if version >= 2, try r.u8(m.offset + 1) & 0x03 != 0 {
            throw FoveaError(Self.unsupported(file, "a shared datatype or dataspace in \(what)"))
        }
        let shape = try dataspace(at: spaceAt, what: what) ?? [0]
        guard let count = checkedProduct(shape), count <= end - dataAt else {
            throw fail("\(what) of shape \(shape) does not fit in its \(m.size)-byte message")
        }
        let typeClass = try r.u8(typeAt) & 0x0F
        let bits = try r.u8(typeAt + 1)
        let size = Int(try r.u32(typeAt + 4))
        let (needed, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow, needed <= end - dataAt else { throw fail("\(what) of shape \(shape) does not fit in its \(m.size)-byte message") }
        switch typeClass {
        case 3:
            // Fixed-length: NUL-terminated or NUL-padded (0, 1), or space-padded (2).
            let spacePadded = bits & 0x0F == 2
            return (name, .strings(try (0..<count).map { i in
                var text = try r.slice(dataAt + i * size, size).prefix { $0 != 0 }
                if spacePadded { while text.last == 0x20 { text.removeLast() } }
                return String(decoding: text, as: UTF8.self)
            }))
        case 9:
            guard bits & 0x0F == 1 else { throw fail("\(what) is a variable-length sequence; Fovea reads variable-length strings") }
            guard size == 8 + offsetSize else { throw fail("\(what) has \(size)-byte variable-length elements") }
            // Each element: its length, then the global heap collection and the object's index there.
            return (name, .strings(try (0..<count).map { i in
                let at = dataAt + i * size
                let length = Int(try r.u32(at))
                if length == 0 { return "" }
                let bytes = try globalHeapObject(collection: try address(at: at + 4), index: Int(try r.u32(at + 4 + offsetSize)), what: what)
                guard length <= bytes.count else { throw fail("\(what) has a string of \(length) bytes in a \(bytes.count)-byte heap object") }
                return String(decoding: bytes.prefix(length), as: UTF8.self)
            }))
        default:
            guard let (element, elementSize) = try numericType(at: typeAt, what: what) else {
                throw fail("\(what) has HDF5 datatype class \(typeClass); Fovea reads strings and numbers")
            }
            let values = r.bytes.withUnsafeBytes { raw in
                element.decode(UnsafeRawBufferPointer(rebasing: raw[dataAt..<(dataAt + count * elementSize)]), count: count)
            }
            return (name, .numbers(try NumPyArray(shape: shape, values: values)))
        }
    }

    /// The bytes of object `index` in the global heap collection at `collection`, where HDF5 keeps
    /// variable-length data (h5py's `str` attributes).
    private func globalHeapObject(collection: Int, index: Int, what: String) throws -> [UInt8] {
        guard try has("GCOL", at: collection) else { throw fail("\(what) points to \(collection), which is not a global heap collection") }
        let size = try length(at: collection + 8)
        try r.check(collection, size)
        let end = collection + size
        var p = collection + 8 + lengthSize
        while p + 8 + lengthSize <= end {
            let id = Int(try r.u16(p))
            let objectSize = try length(at: p + 8)
            let data = p + 8 + lengthSize
            guard id != 0 else { break }  // the free space that ends the collection
            guard objectSize <= end - data else { throw fail("global heap object \(id) at \(p) runs past its collection") }
            if id == index { return try r.slice(data, objectSize) }
            p = data + (objectSize + 7) / 8 * 8
        }
        throw fail("\(what) refers to global heap object \(index), which collection \(collection) does not hold")
    }

    private func groupEntries(btree: Int, heap: Int, budget: inout Int) throws -> [(String, Int)] {
        guard try has("HEAP", at: heap) else { throw fail("no local heap at \(heap)") }
        let heapSize = try length(at: heap + 8)
        let heapData = try address(at: heap + 8 + 2 * lengthSize)
        try r.check(heapData, heapSize)
        func name(_ offset: Int) throws -> String {
            guard offset >= 0, offset < heapSize else { throw fail("a link name offset \(offset) lies outside its \(heapSize)-byte heap") }
            guard let end = r.bytes[(heapData + offset)..<(heapData + heapSize)].firstIndex(of: 0) else {
                throw fail("a link name in the local heap is not terminated")
            }
            let bytes = r.bytes[(heapData + offset)..<end]
            let s = String(decoding: bytes, as: UTF8.self)
            guard !bytes.isEmpty, !bytes.contains(0x2F) else { throw fail("invalid link name '\(s)'") }  // empty or with a '/'
            return s
        }
        var entries: [(String, Int)] = []
        // Each child of a node at level L is a node at level L - 1 (as libhdf5 requires), so the
        // walk ends within the root's level (at most 255) however the nodes point; the budget
        // bounds the work. Small B-tree parameters give deep trees: K = 1 gives one level per
        // member or so.
        func visit(_ node: Int, level expected: UInt8?) throws {
            budget -= 1
            guard budget > 0 else { throw fail("group B-tree is too large or cyclic") }
            guard try has("TREE", at: node) else { throw fail("no B-tree node at \(node)") }
            guard try r.u8(node + 4) == 0 else { throw fail("B-tree node at \(node) is not a group node") }
            let level = try r.u8(node + 5)
            if let expected, level != expected { throw fail("B-tree node at \(node) has level \(level) below a node of level \(expected + 1)") }
            let used = Int(try r.u16(node + 6))
            var p = node + 8 + 2 * offsetSize
            for _ in 0..<used {
                let child = try address(at: p + lengthSize)
                p += lengthSize + offsetSize
                if level > 0 { try visit(child, level: level - 1); continue }
                guard try has("SNOD", at: child) else { throw fail("no symbol table node at \(child)") }
                let symbols = Int(try r.u16(child + 6))
                let entrySize = 2 * offsetSize + 24
                for s in 0..<symbols {
                    let e = child + 8 + s * entrySize
                    budget -= 1
                    guard budget > 0 else { throw fail("too many group entries") }
                    let nameOffset = try r.uint(e, size: offsetSize)
                    entries.append((try name(nameOffset > UInt64(Int32.max) ? -1 : Int(nameOffset)), try address(at: e + offsetSize)))
                }
            }
        }
        try visit(btree, level: nil)
        return entries
    }

    /// The dimensions of the dataspace encoded at `at` (scalar: []), or nil for a null dataspace.
    private func dataspace(at: Int, what: String) throws -> [Int]? {
        // Version 1: rank, flags, 5 reserved bytes; version 2: rank, flags, type (2 is null).
        let version = try r.u8(at)
        let rank = Int(try r.u8(at + 1))
        guard rank <= 32 else { throw fail("\(what) has rank \(rank)") }
        let dimsAt: Int
        switch version {
        case 1: dimsAt = at + 8
        case 2:
            guard try r.u8(at + 3) != 2 else { return nil }
            dimsAt = at + 4
        default: throw fail("\(what) has dataspace version \(version)")
        }
        var shape: [Int] = []
        for d in 0..<rank {
            let n = try r.uint(dimsAt + d * lengthSize, size: lengthSize)
            guard n < 1 << 40 else { throw fail("\(what) has a dimension of \(n)") }
            shape.append(Int(n))
        }
        return shape
    }

    /// The element type and size of the IEEE float or integer datatype encoded at `at`, or nil for
    /// any other class.
    private func numericType(at: Int, what: String) throws -> (NumPyElementType, Int)? {
        let classAndVersion = try r.u8(at)
        let bits = try r.u8(at + 1)
        let size = Int(try r.u32(at + 4))
        let order = bits & 1 == 1 ? ">" : "<"
        let descr: String
        switch (classAndVersion & 0x0F, size) {
        case (1, 4), (1, 8): descr = "\(order)f\(size)"
        case (0, 1): descr = bits & 0x08 != 0 ? "|i1" : "|u1"
        case (0, 2), (0, 4), (0, 8): descr = "\(order)\(bits & 0x08 != 0 ? "i" : "u")\(size)"
        case (0, _), (1, _): throw fail("\(what) has a \(size)-byte number type")
        default: return nil
        }
        return (try NumPyElementType(descr: descr) { FoveaError("\(what): \($0)") }, size)
    }

    /// The dataset whose header is at `header` as a NumPy array (named `path` in errors).
    func readDataset(at header: Int, path: String) throws -> NumPyArray {
        guard case .dataset(let msgs) = try object(at: header) else { throw fail("'\(path)' is not a dataset") }
        func message(_ type: UInt16, _ what: String) throws -> Message {
            guard let m = msgs.first(where: { $0.type == type }) else { throw fail("dataset '\(path)' has no \(what) message") }
            if m.flags & 0x02 != 0 { throw FoveaError(Self.unsupported(file, "a shared \(what) message in dataset '\(path)'")) }
            return m
        }
        if msgs.contains(where: { $0.type == 0x0B }) {
            throw FoveaError(Self.unsupported(file, "compression or filters (a filter pipeline) on dataset '\(path)'"))
        }
        if msgs.contains(where: { $0.type == 0x07 }) { throw FoveaError(Self.unsupported(file, "external data files for dataset '\(path)'")) }

        guard let shape = try dataspace(at: try message(0x01, "dataspace").offset, what: "dataset '\(path)'") else {
            throw fail("dataset '\(path)' has a null dataspace")
        }
        guard let count = checkedProduct(shape) else { throw fail("dataset '\(path)' has shape \(shape), too large") }
        let type = try message(0x03, "datatype")
        guard let (element, size) = try numericType(at: type.offset, what: "dataset '\(path)'") else {
            throw fail("dataset '\(path)' has HDF5 datatype class \(try r.u8(type.offset) & 0x0F); Fovea reads floats and integers")
        }
        let (needed, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow else { throw fail("dataset '\(path)' is too large") }

        // Layout: compact (data in the header) or contiguous (one block in the file).
        let layout = try message(0x08, "data layout")
        let layoutVersion = try r.u8(layout.offset)
        var dataAt: Int, stored: Int
        switch layoutVersion {
        case 3, 4:
            switch try r.u8(layout.offset + 1) {
            case 0: stored = Int(try r.u16(layout.offset + 2)); dataAt = layout.offset + 4
            case 1:
                stored = try length(at: layout.offset + 2 + offsetSize)
                if try isUndefinedAddress(at: layout.offset + 2) {
                    guard needed == 0 else { throw fail("dataset '\(path)' has no data written") }
                    dataAt = 0
                } else {
                    dataAt = try address(at: layout.offset + 2)
                }
            case let c: throw FoveaError(Self.unsupported(file, "\(c == 2 ? "chunked" : "virtual or unknown (class \(c))") storage for dataset '\(path)'"))
            }
        case 1, 2:
            let dims = Int(try r.u8(layout.offset + 1))
            switch try r.u8(layout.offset + 2) {
            case 0:
                let at = layout.offset + 8 + 4 * dims
                stored = Int(try r.u32(at)); dataAt = at + 4
            case 1: stored = needed; dataAt = try address(at: layout.offset + 8)
            default: throw FoveaError(Self.unsupported(file, "chunked storage for dataset '\(path)'"))
            }
        default: throw fail("dataset '\(path)' has data layout version \(layoutVersion)")
        }
        guard stored >= needed else { throw fail("dataset '\(path)' of shape \(shape) needs \(needed) bytes, \(stored) are stored") }
        try r.check(dataAt, needed)
        let values = r.bytes.withUnsafeBytes { raw in
            element.decode(UnsafeRawBufferPointer(rebasing: raw[dataAt..<(dataAt + needed)]), count: count)
        }
        return try NumPyArray(shape: shape, values: values)
    }
}
