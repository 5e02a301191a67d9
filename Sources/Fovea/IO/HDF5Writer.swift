import Foundation

/// Writes a new HDF5 file in the classic layout h5py writes by default (superblock 0, version-1
/// object headers, symbol-table groups, contiguous little-endian float32 data), so that h5py and
/// Keras read it with the real HDF5 library, and Fovea's `HDF5Reader` reads it back.
///
/// A file is a tree of groups holding groups, float32 datasets and attributes. Attributes live in
/// their object's header, as HDF5 keeps them unless a file is written with `libver="latest"`; the
/// text of variable-length strings lives in global heap collections (`GCOL`), where an attribute
/// holds only a 16-byte reference per string, so a string of any length fits (this is how h5py
/// stores Keras's `model_config`). A fixed-length or numeric attribute must fit in one header
/// message (64 KiB): Keras splits longer lists itself (see `KerasLegacyH5.setStringList`).
enum HDF5Writer {
    /// Symbol nodes hold up to 2·K entries; K is raised (it is a per-file setting) only when a
    /// group has more members than one B-tree leaf of 2·`internalK` such nodes can list.
    static let defaultLeafK = 4
    static let internalK = 16
    /// The largest message body a version-1 object header holds: its size is a 16-bit field, and
    /// message bodies are padded to 8 bytes.
    static let maxMessageBody = 65_528
    /// The size of a new global heap collection (libhdf5's `H5HG_MINSIZE`); a larger object gets a
    /// collection of its own, of its size.
    static let heapCollectionSize = 4096

    /// The character set HDF5 records for a string: h5py writes Python `bytes` as ASCII and `str`
    /// as UTF-8 (the bytes stored are UTF-8 either way).
    enum StringEncoding: UInt8 { case ascii = 0, utf8 = 1 }

    /// An attribute value in one of the encodings h5py produces.
    enum Attribute {
        /// A scalar variable-length string (h5py: `attrs[k] = "text"` or `b"text"`).
        case string(String, StringEncoding)
        /// A 1-D array of variable-length strings (h5py: a Python list of `str` or `bytes`).
        case strings([String], StringEncoding)
        /// A scalar fixed-length string, NUL-padded, as long as its UTF-8 bytes (h5py: `np.bytes_`).
        case fixedLengthString(String)
        /// A 1-D array of fixed-length strings, each NUL-padded to `itemSize` bytes (h5py: a numpy
        /// `S` array, whose item size is that of its longest string).
        case fixedLengthStrings([String], itemSize: Int)
        /// A float64 array (h5py: a numpy float64 array); `shape` [] for a scalar.
        case float64s([Double], shape: [Int])

        /// An empty list as h5py stores it (`attrs[k] = []`): a float64 array of shape (0,).
        static let emptyList = Attribute.float64s([], shape: [0])
    }

    /// A group under construction: its attributes (in the order they are written), member groups
    /// and float32 datasets.
    final class Group {
        private(set) var attributes: [(name: String, value: Attribute)] = []
        fileprivate var groups: [String: Group] = [:]
        fileprivate var datasets: [String: (shape: [Int], values: [Float])] = [:]

        init() {}

        fileprivate var childCount: Int { groups.count + datasets.count }
        fileprivate var maxChildren: Int { groups.values.reduce(childCount) { max($0, $1.maxChildren) } }

        /// Adds an attribute; names are unique within an object.
        func setAttribute(_ name: String, _ value: Attribute) throws {
            guard !name.isEmpty, !name.utf8.contains(0), name.utf8.count < 0x8000 else { throw FoveaError("HDF5: invalid attribute name '\(name.prefix(80))'") }
            guard !attributes.contains(where: { $0.name == name }) else { throw FoveaError("HDF5: attribute '\(name)' is set twice") }
            guard attributes.count < 0x8000 else { throw FoveaError("HDF5: too many attributes (\(attributes.count))") }
            attributes.append((name, value))
        }

        private static func components(_ path: String) throws -> [String] {
            let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty && !$0.utf8.contains(0) }) else {
                throw FoveaError("HDF5: invalid path '\(path)' (empty or NUL in a name)")
            }
            return parts
        }

        private func walk(_ parts: ArraySlice<String>, path: String) throws -> Group {
            var g = self
            for part in parts {
                guard g.datasets[part] == nil else { throw FoveaError("HDF5: '\(path)' passes through a dataset") }
                if g.groups[part] == nil { g.groups[part] = Group() }
                g = g.groups[part]!
            }
            return g
        }

        /// The group at slash-separated `path` below this one, created with any groups on the way
        /// (as h5py's `create_group` and `require_group` do).
        @discardableResult
        func group(_ path: String) throws -> Group {
            let parts = try Self.components(path)
            return try walk(parts[...], path: path)
        }

        /// Adds a float32 dataset at slash-separated `path` below this group (intermediate groups
        /// are created, as h5py's `create_dataset("a/b")` does).
        func addDataset(_ path: String, shape: [Int], values: [Float]) throws {
            let parts = try Self.components(path)
            guard shape.count <= 32, shape.allSatisfy({ $0 >= 0 }), checkedProduct(shape) == values.count else {
                throw FoveaError("HDF5: '\(path)' has shape \(shape) but \(values.count) values")
            }
            let g = try walk(parts.dropLast(), path: path)
            let name = parts.last!
            guard g.groups[name] == nil, g.datasets[name] == nil else { throw FoveaError("HDF5: duplicate path '\(path)'") }
            g.datasets[name] = (shape, values)
        }
    }

    /// An HDF5 file holding each array at its slash-separated path (groups are created as needed).
    static func encode(_ arrays: [(path: String, shape: [Int], values: [Float])]) throws -> [UInt8] {
        let root = Group()
        for (path, shape, values) in arrays { try root.addDataset(path, shape: shape, values: values) }
        return try encode(root)
    }

    /// The bytes of an HDF5 file whose root group is `root`.
    static func encode(_ root: Group) throws -> [UInt8] {
        let nodesPerGroup = 2 * internalK
        let leafK = max(defaultLeafK, (root.maxChildren + 2 * nodesPerGroup - 1) / (2 * nodesPerGroup))
        guard leafK < 0x8000 else { throw FoveaError("HDF5: a group with \(root.maxChildren) members is too large") }

        var e = Encoder(leafK: leafK)
        e.out = [UInt8](repeating: 0, count: 96)  // the superblock, filled in last
        let (rootHeader, rootBTree, rootHeap) = try e.writeGroup(root, path: "")
        e.closeHeapCollection()

        var sb: [UInt8] = HDF5Reader.signature
        sb += [0, 0, 0, 0, 0, 8, 8, 0]           // versions (superblock, free space, root, -, shared header), sizes of offsets/lengths
        sb.le16(UInt16(leafK)); sb.le16(UInt16(internalK))
        sb.le32(0)                                // file consistency flags
        sb.le64(0); sb.le64(.max); sb.le64(UInt64(e.out.count)); sb.le64(.max)  // base, free space, end of file, driver info
        sb.le64(0); sb.le64(UInt64(rootHeader)); sb.le32(1); sb.le32(0)         // root entry: name offset, header, cache type 1
        sb.le64(UInt64(rootBTree)); sb.le64(UInt64(rootHeap))
        precondition(sb.count == 96)
        e.out.replaceSubrange(0..<96, with: sb)
        return e.out
    }

    /// The file as it grows, and the global heap collection that variable-length strings go into.
    private struct Encoder {
        var out: [UInt8] = []
        let leafK: Int
        /// The collection receiving small heap objects: where it starts, its size, the bytes used
        /// (its 16-byte header included) and the next object index.
        var collection: (start: Int, size: Int, used: Int, nextIndex: Int)?

        init(leafK: Int) { self.leafK = leafK }

        /// Stores `bytes` as a global heap object (reference count 0, as libhdf5 writes attribute
        /// data) and returns the collection's address and the object's index there.
        mutating func heapObject(_ bytes: [UInt8]) -> (collection: Int, index: Int) {
            let need = 16 + (bytes.count + 7) / 8 * 8
            if 16 + need > heapCollectionSize {
                // Too large to share a collection: one of its own, exactly as large.
                let start = openCollection(size: 16 + need)
                write(object: bytes, index: 1, at: start + 16)
                return (start, 1)
            }
            if let c = collection, c.used + need <= c.size, c.nextIndex <= 0xFFFF {
                write(object: bytes, index: c.nextIndex, at: c.start + c.used)
                collection = (c.start, c.size, c.used + need, c.nextIndex + 1)
                return (c.start, c.nextIndex)
            }
            closeHeapCollection()
            let start = openCollection(size: heapCollectionSize)
            write(object: bytes, index: 1, at: start + 16)
            collection = (start, heapCollectionSize, 16 + need, 2)
            return (start, 1)
        }

        /// Appends an empty collection of `size` bytes (its header written) and returns its address.
        private mutating func openCollection(size: Int) -> Int {
            let start = out.count
            var header = Array("GCOL".utf8) + [1, 0, 0, 0]
            header.le64(UInt64(size))
            out += header
            out += [UInt8](repeating: 0, count: size - header.count)
            return start
        }

        private mutating func write(object bytes: [UInt8], index: Int, at p: Int) {
            var header: [UInt8] = []
            header.le16(UInt16(index)); header.le16(0); header.le32(0); header.le64(UInt64(bytes.count))
            out.replaceSubrange(p..<(p + 16), with: header)
            out.replaceSubrange((p + 16)..<(p + 16 + bytes.count), with: bytes)
        }

        /// Ends the open collection: its unused tail becomes the free-space object (index 0, its
        /// size counting its own header), as libhdf5 writes it; a tail too small for an object
        /// header stays zero, which libhdf5 also reads as free space.
        mutating func closeHeapCollection() {
            guard let c = collection else { return }
            let free = c.size - c.used
            if free >= 16 {
                var header: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0]
                header.le64(UInt64(free))
                out.replaceSubrange((c.start + c.used)..<(c.start + c.used + 16), with: header)
            }
            collection = nil
        }

        /// Writes a group's children, then its local heap, symbol nodes, B-tree and object header.
        mutating func writeGroup(_ group: Group, path: String) throws -> (header: Int, btree: Int, heap: Int) {
            // Symbol nodes are searched by binary search on the names' bytes: sort them that way.
            let names = (Array(group.groups.keys) + Array(group.datasets.keys)).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            var entries: [(name: String, header: Int, cache: (btree: Int, heap: Int)?)] = []
            for name in names {
                let childPath = path.isEmpty ? name : "\(path)/\(name)"
                if let child = group.groups[name] {
                    let (h, b, l) = try writeGroup(child, path: childPath)
                    entries.append((name, h, (b, l)))
                } else {
                    let (shape, values) = group.datasets[name]!
                    entries.append((name, writeDataset(shape: shape, values: values), nil))
                }
            }

            // Local heap: the empty name at offset 0, then each name NUL-terminated, 8-byte aligned.
            var heapData = [UInt8](repeating: 0, count: 8)
            var nameOffsets: [Int] = []
            for e in entries {
                nameOffsets.append(heapData.count)
                heapData += Array(e.name.utf8) + [0]
                while heapData.count % 8 != 0 { heapData.append(0) }
            }
            let heap = out.count
            out += Array("HEAP".utf8) + [0, 0, 0, 0]
            out.le64(UInt64(heapData.count)); out.le64(1)  // size; free list: none (HDF5's H5HL_FREE_NULL)
            out.le64(UInt64(heap + 32))
            out += heapData

            // Symbol nodes of at most 2·K entries each, filled evenly (so each holds at least K).
            let capacity = 2 * leafK
            let nodeCount = (entries.count + capacity - 1) / capacity
            var nodes: [(address: Int, lastNameOffset: Int)] = []
            var first = 0
            for n in 0..<nodeCount {
                let end = first + (entries.count - first) / (nodeCount - n)
                let address = out.count
                var node = Array("SNOD".utf8) + [1, 0]
                node.le16(UInt16(end - first))
                for i in first..<end {
                    node.le64(UInt64(nameOffsets[i])); node.le64(UInt64(entries[i].header))
                    if let cache = entries[i].cache {
                        node.le32(1); node.le32(0); node.le64(UInt64(cache.btree)); node.le64(UInt64(cache.heap))
                    } else {
                        node.le32(0); node.le32(0); node += [UInt8](repeating: 0, count: 16)
                    }
                }
                node += [UInt8](repeating: 0, count: 8 + capacity * 40 - node.count)
                out += node
                nodes.append((address, nameOffsets[end - 1]))
                first = end
            }
            precondition(nodes.count <= 2 * internalK)

            // One B-tree leaf: key 0 (the empty name), then each node and the key of its last name.
            let btree = out.count
            var tree = Array("TREE".utf8) + [0, 0]
            tree.le16(UInt16(nodes.count))
            tree.le64(.max); tree.le64(.max)
            tree.le64(0)
            for node in nodes { tree.le64(UInt64(node.address)); tree.le64(UInt64(node.lastNameOffset)) }
            tree += [UInt8](repeating: 0, count: 24 + (2 * internalK + 1) * 8 + 2 * internalK * 8 - tree.count)
            out += tree

            var messages: [(type: UInt16, flags: UInt8, body: [UInt8])] = [(0x11, 0, le64s([btree, heap]))]
            for (name, value) in group.attributes {
                messages.append((0x0C, 0, try attributeMessage(name, value, object: path.isEmpty ? "the root group" : "group '\(path)'")))
            }
            let header = out.count
            writeObjectHeader(messages)
            return (header, btree, heap)
        }

        /// A version-1 attribute message: name, datatype and dataspace each padded to 8 bytes, then
        /// the data. Variable-length strings go to the global heap here.
        private mutating func attributeMessage(_ name: String, _ value: Attribute, object: String) throws -> [UInt8] {
            var type: [UInt8] = [], shape: [Int]? = nil, data: [UInt8] = []
            func vlen(_ text: String) throws {
                guard text.utf8.count <= Int(UInt32.max) - 64 else { throw FoveaError("HDF5: attribute '\(name)' of \(object) holds a string of \(text.utf8.count) bytes, too long for HDF5") }
                let (collection, index) = heapObject(Array(text.utf8))
                data.le32(UInt32(text.utf8.count)); data.le64(UInt64(collection)); data.le32(UInt32(index))
            }
            func vlenType(_ encoding: StringEncoding) -> [UInt8] {
                // Class 9 (variable-length) version 1, a string, NUL-terminated, in `encoding`; 16
                // bytes per element; its base type an unsigned byte, as libhdf5 records it.
                var t: [UInt8] = [0x19, 0x01, encoding.rawValue, 0]
                t.le32(UInt32(8 + 8))
                t += [0x10, 0, 0, 0]; t.le32(1); t.le16(0); t.le16(8)
                return t
            }
            func fixed(_ strings: [String], itemSize: Int) throws {
                for s in strings {
                    let bytes = Array(s.utf8)
                    guard bytes.count <= itemSize else { throw FoveaError("HDF5: attribute '\(name)' of \(object): '\(s)' is longer than its \(itemSize)-byte strings") }
                    data += bytes + [UInt8](repeating: 0, count: itemSize - bytes.count)
                }
                // Class 3 (string) version 1, NUL-padded, ASCII (what h5py records for numpy 'S').
                type = [0x13, 0x01, 0, 0]
                type.le32(UInt32(itemSize))
            }
            switch value {
            case .string(let text, let encoding):
                type = vlenType(encoding); try vlen(text)
            case .strings(let texts, let encoding):
                type = vlenType(encoding); shape = [texts.count]; try texts.forEach(vlen)
            case .fixedLengthString(let text):
                try fixed([text], itemSize: max(1, text.utf8.count))
            case .fixedLengthStrings(let texts, let itemSize):
                guard (1...maxMessageBody).contains(itemSize) else { throw FoveaError("HDF5: attribute '\(name)' of \(object) has \(itemSize)-byte strings") }
                shape = [texts.count]; try fixed(texts, itemSize: itemSize)
            case .float64s(let values, let s):
                guard s.count <= 32, s.allSatisfy({ $0 >= 0 }), checkedProduct(s) == values.count else {
                    throw FoveaError("HDF5: attribute '\(name)' of \(object) has shape \(s) but \(values.count) values")
                }
                shape = s
                // IEEE float64 little-endian: sign at bit 63, exponent 11 bits at 52 (bias 1023), mantissa 52 bits.
                type = [0x11, 0x20, 0x3F, 0x00]; type.le32(8)
                type.le16(0); type.le16(64); type += [52, 11, 0, 52]; type.le32(1023)
                for v in values { data.le64(v.bitPattern) }
            }
            // Dataspace version 1: a scalar (rank 0), or a simple extent whose maximum equals it, as h5py writes.
            var space: [UInt8] = [1, UInt8(shape?.count ?? 0), shape == nil ? 0 : 1, 0, 0, 0, 0, 0]
            for _ in 0..<2 { for d in shape ?? [] { space.le64(UInt64(d)) } }

            let nameBytes = Array(name.utf8) + [0]
            func padded(_ b: [UInt8]) -> [UInt8] { b + [UInt8](repeating: 0, count: (8 - b.count % 8) % 8) }
            var body: [UInt8] = [1, 0]
            body.le16(UInt16(nameBytes.count)); body.le16(UInt16(type.count)); body.le16(UInt16(space.count))
            body += padded(nameBytes) + padded(type) + padded(space) + data
            guard body.count <= maxMessageBody else {
                throw FoveaError("HDF5: attribute '\(name)' of \(object) needs \(body.count) bytes, more than the \(maxMessageBody) an object header message holds; store long text as one variable-length string, or split a long list into several attributes as Keras does (layer_names0, layer_names1, …)")
            }
            return body
        }

        private mutating func writeDataset(shape: [Int], values: [Float]) -> Int {
            let data = out.count
            out.reserveCapacity(out.count + values.count * 4 + 256)
            for v in values { out.le32(v.bitPattern) }

            var space: [UInt8] = [1, UInt8(shape.count), 0, 0, 0, 0, 0, 0]  // version 1, rank, no max dims
            for d in shape { space.le64(UInt64(d)) }
            // IEEE float32 little-endian: class 1 version 1; mantissa normalised (implied bit), sign at bit 31.
            var type: [UInt8] = [0x11, 0x20, 0x1F, 0x00]
            type.le32(4)
            type.le16(0); type.le16(32); type += [23, 8, 0, 23]; type.le32(127)
            // Fill value version 2: allocation late, write on allocation, value undefined (h5py's default).
            let fill: [UInt8] = [2, 2, 2, 1, 0, 0, 0, 0]
            var layout: [UInt8] = [3, 1]  // version 3, contiguous
            layout.le64(UInt64(data)); layout.le64(UInt64(values.count * 4))

            let header = out.count
            writeObjectHeader([(0x01, 0, space), (0x03, 1, type), (0x05, 1, fill), (0x08, 0, layout)])
            return header
        }

        /// A version-1 object header: 16-byte prefix, then one chunk of messages padded to 8 bytes.
        private mutating func writeObjectHeader(_ messages: [(type: UInt16, flags: UInt8, body: [UInt8])]) {
            var chunk: [UInt8] = []
            for m in messages {
                var body = m.body
                while body.count % 8 != 0 { body.append(0) }
                chunk.le16(m.type); chunk.le16(UInt16(body.count)); chunk += [m.flags, 0, 0, 0]
                chunk += body
            }
            out += [1, 0]
            out.le16(UInt16(messages.count)); out.le32(1); out.le32(UInt32(chunk.count)); out.le32(0)
            out += chunk
        }
    }

    private static func le64s(_ values: [Int]) -> [UInt8] {
        var b: [UInt8] = []
        for v in values { b.le64(UInt64(v)) }
        return b
    }
}
