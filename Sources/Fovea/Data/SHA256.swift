import Crypto
import Foundation

/// SHA-256 for verifying data files (`SHA256SUMS`) and the native model file's checksum, computed by
/// swift-crypto (BoringSSL's implementation on Linux), not by code of Fovea's own.
public enum SHA256 {
    /// The 32-byte digest of `bytes`.
    public static func digest(_ bytes: UnsafeRawBufferPointer) -> [UInt8] { Array(Crypto.SHA256.hash(data: bytes)) }
    public static func digest(_ bytes: [UInt8]) -> [UInt8] { Array(Crypto.SHA256.hash(data: bytes)) }
    public static func digest(_ data: Data) -> [UInt8] { Array(Crypto.SHA256.hash(data: data)) }

    /// The digest as 64 lowercase hexadecimal digits (the format of `sha256sum`).
    public static func hexDigest(_ bytes: UnsafeRawBufferPointer) -> String { hex(digest(bytes)) }
    public static func hexDigest(_ bytes: [UInt8]) -> String { hex(digest(bytes)) }
    public static func hexDigest(_ data: Data) -> String { hex(digest(data)) }

    private static func hex(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var chars = [UInt8]()
        chars.reserveCapacity(2 * digest.count)
        for byte in digest { chars.append(digits[Int(byte >> 4)]); chars.append(digits[Int(byte & 15)]) }
        return String(decoding: chars, as: UTF8.self)
    }
}
