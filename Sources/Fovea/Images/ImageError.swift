import Foundation

/// Why an image could not be read, decoded, encoded or built. Every case names the file it is
/// about (its path, or `"<memory>"` / the `name` given to `Image.decode`), and `description` says
/// what is wrong.
public enum ImageError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be read from disk.
    case unreadable(file: String, reason: String)
    /// The file could not be written (or moved into place).
    case unwritable(file: String, reason: String)
    /// The file holds no bytes at all.
    case empty(file: String)
    /// The first bytes are neither a PNG nor a JPEG signature.
    case unrecognizedFormat(file: String, firstBytes: [UInt8])
    /// The data ends before the image does.
    case truncated(file: String, format: String, reason: String)
    /// The data is damaged (bad CRC, bad compressed stream, bad markers, ...).
    case corrupt(file: String, format: String, reason: String)
    /// The header declares a zero width or height.
    case zeroSize(file: String, width: Int, height: Int)
    /// The header declares more pixels than the caller's `maxPixels` (checked before allocating).
    case tooManyPixels(file: String, width: Int, height: Int, limit: Int)
    /// The file is larger than any image of at most `maxPixels` pixels could reasonably be
    /// (`maxPixels × 8` bytes plus 16 MiB for metadata); it is not read into memory.
    case fileTooLarge(file: String, bytes: Int, limit: Int)
    /// A valid image of a kind this library does not handle (e.g. a CMYK JPEG).
    case unsupported(file: String, format: String, reason: String)
    /// The image's dimensions, channel count or pixel count are inconsistent or out of range for
    /// the operation.
    case invalidImage(file: String, reason: String)
    /// The encoder failed.
    case encodingFailed(file: String, format: String, reason: String)

    /// The file (path or name) the error is about.
    public var file: String {
        switch self {
        case .unreadable(let file, _), .unwritable(let file, _), .empty(let file),
             .unrecognizedFormat(let file, _), .truncated(let file, _, _), .corrupt(let file, _, _),
             .zeroSize(let file, _, _), .tooManyPixels(let file, _, _, _), .fileTooLarge(let file, _, _), .unsupported(let file, _, _),
             .invalidImage(let file, _), .encodingFailed(let file, _, _):
            return file
        }
    }

    public var description: String {
        switch self {
        case .unreadable(let file, let reason):
            return "\(file): cannot read the file: \(reason)"
        case .unwritable(let file, let reason):
            return "\(file): cannot write the file: \(reason)"
        case .empty(let file):
            return "\(file): the file is empty (0 bytes); expected a PNG or JPEG image"
        case .unrecognizedFormat(let file, let bytes):
            let hex = bytes.map { String(format: "%02x", $0) }.joined(separator: " ")
            return "\(file): not a PNG or JPEG image (first bytes: \(hex)); "
                + "expected the PNG signature 89 50 4e 47 0d 0a 1a 0a or the JPEG marker ff d8 ff"
        case .truncated(let file, let format, let reason):
            return "\(file): truncated \(format) (the data ends before the image does): \(reason)"
        case .corrupt(let file, let format, let reason):
            return "\(file): corrupt \(format) data: \(reason)"
        case .zeroSize(let file, let width, let height):
            return "\(file): the image header declares \(width)×\(height) pixels; width and height must be at least 1"
        case .tooManyPixels(let file, let width, let height, let limit):
            return "\(file): the image is \(width)×\(height) pixels, more than the limit of \(limit) "
                + "(raise maxPixels to read it)"
        case .fileTooLarge(let file, let bytes, let limit):
            return "\(file): the file has \(bytes) bytes, more than the \(limit) bytes an image within maxPixels "
                + "can need (raise maxPixels to read it)"
        case .unsupported(let file, let format, let reason):
            return "\(file): unsupported \(format): \(reason)"
        case .invalidImage(let file, let reason):
            return "\(file): invalid image: \(reason)"
        case .encodingFailed(let file, let format, let reason):
            return "\(file): \(format) encoding failed: \(reason)"
        }
    }
}
