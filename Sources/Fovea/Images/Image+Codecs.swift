import CFoveaImageCodecs
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

private let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
private let jpegSignature: [UInt8] = [0xFF, 0xD8, 0xFF]

/// `read(2)` (inside `Image`, `read` names `Image.read(from:)`).
private func posixRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}

private enum Format {
    case png, jpeg
    var name: String { self == .png ? "PNG" : "JPEG" }
}

extension Image {
    // MARK: Reading

    /// Reads a PNG or JPEG file (chosen by its signature, not its extension).
    ///
    /// Throws `ImageError` — naming the file and the reason — for an unreadable, empty, truncated
    /// or corrupt file, a wrong signature, a zero width or height, or more than `maxPixels`
    /// pixels (checked from the header, before any pixel memory is allocated).
    public static func read(from url: URL, maxPixels: Int = 100_000_000) throws -> Image {
        let name = url.path
        let data = try readBounded(path: name, limit: fileByteLimit(maxPixels: maxPixels))
        return try decode(data, name: name, maxPixels: maxPixels)
    }

    /// The most bytes `read` accepts: an uncompressed 16-bit RGBA image of `maxPixels` pixels
    /// (8 bytes each) plus 16 MiB for metadata (ICC profiles, EXIF, thumbnails, chunk overhead).
    static func fileByteLimit(maxPixels: Int) -> Int {
        let (pixelBytes, overflow) = max(maxPixels, 0).multipliedReportingOverflow(by: 8)
        let (limit, overflow2) = pixelBytes.addingReportingOverflow(16 << 20)
        return overflow || overflow2 ? Int.max : limit
    }

    /// Reads a whole file, refusing (before allocating) one larger than `limit` bytes; also stops
    /// at `limit` for files whose size is not known up front (pipes, devices).
    private static func readBounded(path: String, limit: Int) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ImageError.unreadable(file: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw ImageError.unreadable(file: path, reason: String(cString: strerror(errno)))
        }
        if (status.st_mode & S_IFMT) == S_IFDIR {
            throw ImageError.unreadable(file: path, reason: "it is a directory")
        }
        let knownSize = (status.st_mode & S_IFMT) == S_IFREG ? Int(status.st_size) : nil
        if let knownSize, knownSize > limit {
            throw ImageError.fileTooLarge(file: path, bytes: knownSize, limit: limit)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(min(knownSize ?? 65536, limit))
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = chunk.withUnsafeMutableBytes { posixRead(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ImageError.unreadable(file: path, reason: String(cString: strerror(errno)))
            }
            if count == 0 { return bytes }
            if bytes.count + count > limit {
                throw ImageError.fileTooLarge(file: path, bytes: bytes.count + count, limit: limit)
            }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    /// Decodes PNG or JPEG bytes (chosen by signature). `name` is used in error messages.
    ///
    /// PNG: gray, gray+alpha, RGB, RGBA, palette (expanded to RGB, or RGBA with a tRNS chunk),
    /// 1/2/4/8/16-bit (16-bit samples divided by 257), interlaced. JPEG: gray (1 channel) or
    /// colour (3 channels, RGB), baseline or progressive.
    public static func decode(_ data: [UInt8], name: String = "<memory>", maxPixels: Int = 100_000_000) throws -> Image {
        guard !data.isEmpty else { throw ImageError.empty(file: name) }
        let format: Format
        if data.starts(with: pngSignature) {
            format = .png
        } else if data.starts(with: jpegSignature) {
            format = .jpeg
        } else if data.count < pngSignature.count, pngSignature.starts(with: data) {
            throw ImageError.truncated(file: name, format: "PNG", reason: "only \(data.count) bytes of the 8-byte signature")
        } else if data.count < jpegSignature.count, jpegSignature.starts(with: data) {
            throw ImageError.truncated(file: name, format: "JPEG", reason: "only \(data.count) bytes of the start-of-image marker")
        } else {
            throw ImageError.unrecognizedFormat(file: name, firstBytes: Array(data.prefix(8)))
        }

        if format == .png, data.count >= 24, Array(data[12..<16]) == Array("IHDR".utf8) {
            // libpng would only say "Invalid IHDR data"; name the actual problem.
            let width = Image.bigEndian32(data, at: 16), height = Image.bigEndian32(data, at: 20)
            if width == 0 || height == 0 { throw ImageError.zeroSize(file: name, width: width, height: height) }
        }

        var info = fovea_img_info()
        var message = [CChar](repeating: 0, count: Int(FOVEA_IMG_MESSAGE_SIZE))
        let status: Int32 = data.withUnsafeBufferPointer { bytes in
            message.withUnsafeMutableBufferPointer { text in
                format == .png
                    ? fovea_png_info(bytes.baseAddress, bytes.count, &info, text.baseAddress)
                    : fovea_jpeg_info(bytes.baseAddress, bytes.count, &info, text.baseAddress)
            }
        }
        try Image.check(status, message, format: format, file: name, info: info)

        let width = Int(info.width), height = Int(info.height), channels = Int(info.channels)
        guard width > 0, height > 0 else { throw ImageError.zeroSize(file: name, width: width, height: height) }
        let (area, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, area <= maxPixels else {
            throw ImageError.tooManyPixels(file: name, width: width, height: height, limit: maxPixels)
        }
        guard (1...4).contains(channels) else {
            throw ImageError.unsupported(file: name, format: format.name, reason: "\(channels) channels after expansion")
        }
        let count = area * channels

        var decoded = fovea_img_info()
        var decodeStatus: Int32 = 0
        let pixels = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            decodeStatus = data.withUnsafeBufferPointer { bytes in
                message.withUnsafeMutableBufferPointer { text in
                    format == .png
                        ? fovea_png_decode(bytes.baseAddress, bytes.count, buffer.baseAddress, count, &decoded, text.baseAddress)
                        : fovea_jpeg_decode(bytes.baseAddress, bytes.count, buffer.baseAddress, count, &decoded, text.baseAddress)
                }
            }
            if decodeStatus == Int32(FOVEA_IMG_OK) {
                initialized = count
            } else {
                // Float is trivial: nothing to deinitialize. A failed decode never yields pixels.
                buffer.initialize(repeating: 0)
                initialized = count
            }
        }
        try Image.check(decodeStatus, message, format: format, file: name, info: decoded)
        guard Int(decoded.width) == width, Int(decoded.height) == height, Int(decoded.channels) == channels else {
            throw ImageError.corrupt(file: name, format: format.name, reason: "the header changed between reads")
        }
        return Image(unchecked: width, height, channels, pixels)
    }

    // MARK: Writing

    /// PNG bytes: 8-bit samples (each value rounded and clamped to 0...255), colour type by
    /// `channels` (gray, gray+alpha, RGB, RGBA).
    public func pngData() throws -> [UInt8] {
        try pngData(file: "<memory>")
    }

    /// JPEG bytes (baseline, `quality` clamped to 1...100). Gray images are written as gray, RGB as
    /// RGB; an alpha channel is dropped (JPEG has none).
    public func jpegData(quality: Int = 90) throws -> [UInt8] {
        try jpegData(quality: quality, file: "<memory>")
    }

    /// Writes a PNG file atomically (a temporary file in the same directory, then a rename).
    public func writePNG(to url: URL) throws {
        let bytes = try pngData(file: url.path)
        try Image.writeAtomically(bytes, to: url)
    }

    /// Writes a JPEG file atomically (a temporary file in the same directory, then a rename).
    public func writeJPEG(to url: URL, quality: Int = 90) throws {
        let bytes = try jpegData(quality: quality, file: url.path)
        try Image.writeAtomically(bytes, to: url)
    }

    func pngData(file: String) throws -> [UInt8] {
        try validated(file: file)
        return try Image.encode(format: .png, file: file, samples: Image.bytes(pixels), width: width,
                                height: height, channels: channels, quality: 0)
    }

    func jpegData(quality: Int, file: String) throws -> [UInt8] {
        try validated(file: file)
        let opaque = channels == 2 ? withChannels(1) : channels == 4 ? withChannels(3) : self
        return try Image.encode(format: .jpeg, file: file, samples: Image.bytes(opaque.pixels), width: width,
                                height: height, channels: opaque.channels, quality: min(max(quality, 1), 100))
    }

    // MARK: Helpers

    /// Rounds and clamps each sample to 0...255 (NaN becomes 0).
    static func bytes(_ pixels: [Float]) -> [UInt8] {
        pixels.map { value in
            if !(value > 0) { return 0 }
            if value >= 255 { return 255 }
            return UInt8(value.rounded())
        }
    }

    private static func encode(format: Format, file: String, samples: [UInt8], width: Int, height: Int,
                               channels: Int, quality: Int) throws -> [UInt8] {
        guard width <= Int(Int32.max), height <= Int(Int32.max) else {
            throw ImageError.encodingFailed(file: file, format: format.name, reason: "\(width)×\(height) is too large")
        }
        var message = [CChar](repeating: 0, count: Int(FOVEA_IMG_MESSAGE_SIZE))
        var output: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        let status: Int32 = samples.withUnsafeBufferPointer { pixels in
            message.withUnsafeMutableBufferPointer { text in
                format == .png
                    ? fovea_png_encode(pixels.baseAddress, UInt32(width), UInt32(height), Int32(channels), 0,
                                       &output, &size, text.baseAddress)
                    : fovea_jpeg_encode(pixels.baseAddress, UInt32(width), UInt32(height), Int32(channels),
                                        Int32(quality), 0, &output, &size, text.baseAddress)
            }
        }
        defer { fovea_img_free(output) }
        guard status == Int32(FOVEA_IMG_OK), let output else {
            throw ImageError.encodingFailed(file: file, format: format.name, reason: Image.text(message))
        }
        return Array(UnsafeBufferPointer(start: output, count: size))
    }

    private static func check(_ status: Int32, _ message: [CChar], format: Format, file: String,
                              info: fovea_img_info) throws {
        let reason = text(message)
        switch Int(status) {
        case Int(FOVEA_IMG_OK): return
        case Int(FOVEA_IMG_TRUNCATED): throw ImageError.truncated(file: file, format: format.name, reason: reason)
        case Int(FOVEA_IMG_EMPTY_DIMENSIONS):
            throw ImageError.zeroSize(file: file, width: Int(info.width), height: Int(info.height))
        case Int(FOVEA_IMG_UNSUPPORTED): throw ImageError.unsupported(file: file, format: format.name, reason: reason)
        case Int(FOVEA_IMG_OUT_OF_MEMORY):
            throw ImageError.corrupt(file: file, format: format.name, reason: "out of memory while decoding: \(reason)")
        default: throw ImageError.corrupt(file: file, format: format.name, reason: reason)
        }
    }

    private static func text(_ message: [CChar]) -> String {
        let end = message.firstIndex(of: 0) ?? message.count
        let text = String(decoding: message[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.isEmpty ? "unknown error" : text
    }

    private static func bigEndian32(_ data: [UInt8], at offset: Int) -> Int {
        (Int(data[offset]) << 24) | (Int(data[offset + 1]) << 16) | (Int(data[offset + 2]) << 8) | Int(data[offset + 3])
    }

    private static func reason(of error: Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError,
           underlying.domain == NSPOSIXErrorDomain, let code = POSIXErrorCode(rawValue: Int32(underlying.code)) {
            return String(cString: strerror(code.rawValue))
        }
        return nsError.localizedDescription
    }

    /// Through Fovea's one atomic writer (temporary file, fsync, rename, fsync of the folder).
    private static func writeAtomically(_ bytes: [UInt8], to url: URL) throws {
        do {
            try Fovea.writeAtomically(Data(bytes), to: url)
        } catch let error as FoveaError {
            throw ImageError.unwritable(file: url.path, reason: error.message)
        }
    }
}
