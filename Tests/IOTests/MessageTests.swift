import Foundation
import XCTest
import Fovea

/// Error messages about a file's contents: short, naming what is wrong, never echoing a whole
/// header or raw bytes a terminal would interpret.
final class MessageTests: XCTestCase {
    /// A `.npy` file with `header` (padded as NumPy pads it) and no data.
    func npy(_ header: String, major: UInt8 = 1) -> [UInt8] {
        var text = header
        while (10 + text.utf8.count + 1) % 64 != 0 { text += " " }
        text += "\n"
        let n = text.utf8.count
        return [0x93] + Array("NUMPY".utf8) + [major, 0, UInt8(n & 0xFF), UInt8(n >> 8)] + Array(text.utf8)
    }

    func testABadShapeNamesTheDimensionNotTheWholeHeader() {
        let nested = "(((1)))"
        let padding = String(repeating: "x", count: 5000)
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, \(nested)), 'pad': '\(padding)', }"
        guard let error = assertFoveaError(containing: ["bad.npy", "dimension 1 (of 2)", "a sequence of 1"], {
            try NumPy.decode(self.npy(header), file: "bad.npy")
        }) else { return }
        XCTAssertLessThan(error.message.count, 200, error.message)
        XCTAssertFalse(error.message.contains("xxxxxxxxxx"), error.message)
        assertFoveaError(containing: ["dimension 0 (of 1)", "-3"]) {
            try NumPy.decode(self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }"), file: "neg.npy")
        }
    }

    func testAnUnparsableHeaderIsEchoedCutAndEscaped() {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), \u{1B}[31m" + String(repeating: "y", count: 3000) + "}"
        guard let error = assertFoveaError(containing: ["cannot parse the header", "\\u{1B}[31m", "more bytes"], {
            try NumPy.decode(self.npy(header), file: "esc.npy")
        }) else { return }
        XCTAssertFalse(error.message.contains("\u{1B}"), "no raw escape code")
        XCTAssertLessThan(error.message.count, 400, error.message)
    }

    /// Invalid UTF-8 in a version-3 (UTF-8) header is shown as \\xNN, never raw.
    func testInvalidUTF8IsEscaped() {
        var bytes = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'k': 'AB'}", major: 3)
        // Version 3 has a 4-byte length; rebuild with one, and put invalid UTF-8 where 'AB' is.
        let header = Array(bytes[10...])
        bytes = [0x93] + Array("NUMPY".utf8) + [3, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8), 0, 0] + header
        let at = bytes.firstIndex(of: UInt8(ascii: "A"))!
        bytes[at] = 0xFF; bytes[at + 1] = 0xC3
        bytes[bytes.count - 2] = UInt8(ascii: "!")  // make it unparsable so the header is echoed
        guard let error = assertFoveaError(containing: ["cannot parse the header", "\\xFF\\xC3"], { try NumPy.decode(bytes, file: "utf8.npy") }) else { return }
        XCTAssertFalse(error.message.contains("\u{FFFD}"), error.message)
        XCTAssertEqual(messageText(bytes: [0x61, 0xFF, 0xE2, 0x82, 0xAC, 0x0A, 0x1B]), "a\\xFF€\\n\\u{1B}")
        XCTAssertEqual(messageText(String(repeating: "z", count: 10), limit: 4), "zzzz… (6 more characters)")
    }

    func testAnNPZWhereAnNPYIsExpectedSaysSo() throws {
        let npz = try NumPy.encodeArchive([("x", NumPyArray(Tensor.ones([2])))])
        assertFoveaError(containing: ["x.npz", "zip archive", ".npz", "NumPy.readArchive"]) { try NumPy.decode(npz, file: "x.npz") }
        assertFoveaError(containing: ["x.gz", "gzip-compressed"]) { try NumPy.decode(Gzip.compress(Array(repeating: 1, count: 20)), file: "x.gz") }
        assertFoveaError(containing: ["plain.txt", "does not start with \\x93NUMPY", "it starts with hello wo"]) {
            try NumPy.decode(Array("hello world".utf8), file: "plain.txt")
        }
    }
}
