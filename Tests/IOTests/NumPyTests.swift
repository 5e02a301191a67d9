import Foundation
import XCTest
import Fovea

final class NumPyTests: XCTestCase {
    /// One array of each type Fovea writes, with awkward values.
    let samples: [NumPyArray] = [
        try! NumPyArray(shape: [2, 3], values: .float32([0, -1.5, .infinity, -.infinity, .leastNonzeroMagnitude, 3.4e38])),
        try! NumPyArray(shape: [3], values: .float64([1e-300, -2.5, .pi])),
        try! NumPyArray(shape: [2, 2, 1], values: .uint8([0, 1, 128, 255])),
        try! NumPyArray(shape: [4], values: .int32([.min, -1, 0, .max])),
        try! NumPyArray(shape: [1, 3], values: .int64([.min, 42, .max])),
        try! NumPyArray(shape: [], values: .float32([7])),
        try! NumPyArray(shape: [0, 5], values: .float32([])),
    ]

    func testEveryDtypeRoundTripsThroughNpy() throws {
        for array in samples {
            let bytes = NumPy.encode(array)
            // NumPy aligns the data to 64 bytes; version 1.0 header length is little-endian at 8.
            let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            XCTAssertEqual((10 + headerLength) % 64, 0, "\(array.dtypeName)")
            XCTAssertEqual(bytes[10 + headerLength - 1], 0x0A, "header ends in a newline")
            XCTAssertEqual(try NumPy.decode(bytes, file: "x.npy"), array)
        }
    }

    func testHeaderTextMatchesNumPys() throws {
        let bytes = NumPy.encode(try NumPyArray(shape: [3], values: .int64([1, 2, 3])))
        let header = String(decoding: bytes[10..<74], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }"), header)
        let scalar = NumPy.encode(try NumPyArray(shape: [], values: .uint8([9])))
        XCTAssertTrue(String(decoding: scalar[10..<74], as: UTF8.self).hasPrefix("{'descr': '|u1', 'fortran_order': False, 'shape': (), }"))
    }

    func testEveryDtypeRoundTripsThroughNpz() throws {
        let named = samples.enumerated().map { (name: "array_\($0.offset)", array: $0.element) }
        for compressed in [false, true] {
            let bytes = try NumPy.encodeArchive(named, compressed: compressed)
            let decoded = try NumPy.decodeArchive(bytes, file: "x.npz")
            XCTAssertEqual(decoded.map(\.name), named.map(\.name))
            XCTAssertEqual(decoded.map(\.array), named.map(\.array))
        }
        // Compression is kept only where it pays: zeros shrink, so the archive does.
        let zeros = [(name: "zeros", array: NumPyArray(Tensor.zeros([64, 64])))]
        XCTAssertLessThan(try NumPy.encodeArchive(zeros, compressed: true).count, try NumPy.encodeArchive(zeros).count / 10)
    }

    func testTensorFilesRoundTrip() throws {
        let dir = try makeTemporaryDirectory(self)
        let t = Tensor.uniform([3, 4, 5], seed: 3)
        let url = dir.appendingPathComponent("t.npy")
        try t.writeNumPy(to: url)
        let back = try Tensor.readNumPy(from: url)
        XCTAssertEqual(back.shape, t.shape)
        XCTAssertEqual(back.scalars, t.scalars)
        let npz = dir.appendingPathComponent("t.npz")
        try NumPy.writeArchive([("x", NumPyArray(t)), ("labels", try NumPyArray(shape: [3], values: .int64([0, 9, 4])))], to: npz, compressed: true)
        let read = try NumPy.readArchive(from: npz)
        XCTAssertEqual(read.map(\.name), ["x", "labels"])
        XCTAssertEqual(read[0].array.tensor.scalars, t.scalars)
        XCTAssertEqual(read[1].array.floats, [0, 9, 4])
    }

    /// A `.npy` file with a hand-written header and data.
    func npy(_ header: String, version: UInt8 = 1, data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0]
        let h = Array(header.utf8)
        if version == 1 {
            out += [UInt8(h.count & 0xFF), UInt8(h.count >> 8)]
        } else {
            out += [UInt8(h.count & 0xFF), UInt8((h.count >> 8) & 0xFF), UInt8((h.count >> 16) & 0xFF), UInt8(h.count >> 24)]
        }
        return out + h + data
    }

    func testHeaderVariantsNumPyAndOthersWrite() throws {
        let two: [UInt8] = [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]  // 1.0, 2.0 as little-endian float32
        // Version 2.0 and 3.0 headers, keys in any order, double quotes, Python 2 longs, no trailing comma.
        for (header, version) in [("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", UInt8(2)),
                                  ("{\"shape\": (1, 2), \"fortran_order\": False, \"descr\": \"<f4\"}\n", 3),
                                  ("{'descr':'<f4','fortran_order':False,'shape':(2L,)}   \n", 1)] {
            let array = try NumPy.decode(npy(header, version: version, data: two), file: "v.npy")
            XCTAssertEqual(array.floats, [1, 2], header)
        }
        // Big-endian data and the integer/bool types that convert.
        let be = try NumPy.decode(npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n", data: [0x3F, 0x80, 0, 0, 0x40, 0, 0, 0]), file: "be.npy")
        XCTAssertEqual(be.floats, [1, 2])
        let b = try NumPy.decode(npy("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }\n", data: [0, 1, 2]), file: "b.npy")
        XCTAssertEqual(b.values, .uint8([0, 1, 1]))
        let i16 = try NumPy.decode(npy("{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }\n", data: [0xFF, 0xFF, 2, 0]), file: "i.npy")
        XCTAssertEqual(i16.values, .int32([-1, 2]))
        // Fortran order is only a problem when it changes the layout.
        let column = try NumPy.decode(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 1), }\n", data: two), file: "c.npy")
        XCTAssertEqual(column.floats, [1, 2])
    }

    func testBadHeadersAreClearErrors() {
        let two: [UInt8] = [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]
        let cases: [(header: String, data: [UInt8], expected: String)] = [
            ("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n", two + two, "Fortran"),
            ("{'descr': '|O', 'fortran_order': False, 'shape': (), }\n", [0x80], "pickled"),
            ("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }\n", two, "'<c8' is not supported"),
            ("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }\n", [0, 0, 0, 0], "structured"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", two, "needs 12 data bytes, the file holds 8 (truncated?)"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n", two, "needs 4 data bytes, the file holds 8"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }\n", two, "non-negative"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }\n", two, "too large"),
            ("{'descr': '<f4', 'fortran_order': False}\n", two, "no shape"),
            ("{'descr': '<f4', 'fortran_order': 'no', 'shape': (2,)}\n", two, "fortran_order"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), \n", two, "cannot parse the header"),
            ("not a dict\n", two, "cannot parse the header"),
            (String(repeating: "(", count: 50) + "\n", two, "nested too deeply"),
        ]
        for c in cases {
            assertFoveaError(containing: ["bad.npy", c.expected]) { try NumPy.decode(npy(c.header, data: c.data), file: "bad.npy") }
        }
        assertFoveaError(containing: ["bad.npy", "does not start with"]) { try NumPy.decode(Array("PK not numpy".utf8), file: "bad.npy") }
        assertFoveaError(containing: ["bad.npy", "version 4.0"]) { try NumPy.decode(npy("{}\n", version: 4, data: []), file: "bad.npy") }
        assertFoveaError(containing: ["bad.npy", "truncated"]) { try NumPy.decode([0x93, 0x4E, 0x55], file: "bad.npy") }
    }

    func testNpzFromNumPyIsRead() throws {
        // NumPy's savez writes ZIP64 extra fields for every member; keras_cnn_npz.keras holds one.
        let keras = try ZipArchive(contentsOf: try fixture("keras_cnn_npz.keras"))
        let npz = try NumPy.decodeArchive(try keras.read("model.weights.npz"), file: "model.weights.npz")
        let names = Set(npz.map(\.name))
        XCTAssertTrue(names.contains("layers/conv2d/vars/0"), "\(names.sorted())")
        XCTAssertEqual(npz.first { $0.name == "layers/conv2d/vars/0" }?.array.shape, [3, 3, 2, 4])
        XCTAssertEqual(npz.first { $0.name == "layers/dense_1/vars/1" }?.array.shape, [3])
    }

    func testDamagedNpyIsAnErrorNotACrash() throws {
        let bytes = NumPy.encode(try NumPyArray(shape: [3, 2], values: .int64([1, 2, 3, 4, 5, 6])))
        let result = feedDamagedCopies(of: bytes) { _ = try NumPy.decode($0, file: "d.npy") }
        XCTAssertEqual(result.truncatedRejected, bytes.count, "every truncation must be rejected")
        // Flips in the magic, version, header length, header text or... the data (which decodes fine).
        XCTAssertGreaterThan(result.flippedRejected, 20)
        for fixtureName in ["keras_cnn_input.npy", "keras_chain_output.npy"] {
            let real = try fixtureBytes(fixtureName)
            let r = feedDamagedCopies(of: real, truncationStep: 1, flipStep: 1) { _ = try NumPy.decode($0, file: fixtureName) }
            XCTAssertEqual(r.truncatedRejected, real.count)
        }
    }

    func testDamagedNpzIsAnErrorNotACrash() throws {
        for compressed in [false, true] {
            let bytes = try NumPy.encodeArchive([("a", NumPyArray(Tensor.uniform([4, 3], seed: 1))),
                                                 ("b", try NumPyArray(shape: [2], values: .uint8([7, 8])))], compressed: compressed)
            let result = feedDamagedCopies(of: bytes) { _ = try NumPy.decodeArchive($0, file: "d.npz") }
            XCTAssertEqual(result.truncatedRejected, bytes.count, "compressed \(compressed)")
            // Every byte of the contents is CRC-checked; only unchecked header fields may flip silently.
            XCTAssertGreaterThan(result.flippedRejected, bytes.count * 3 / 4, "compressed \(compressed)")
        }
    }
}
