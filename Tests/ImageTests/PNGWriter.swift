import CFoveaZlib

/// An independent, hand-written PNG encoder (zlib for the compression and CRCs) so the decoder is
/// tested against bytes libpng did not write, including the variants the library's own encoder
/// never produces (palette, 1/2/4/16-bit, gray+alpha, interlaced) and deliberately broken files.
enum PNGWriter {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    static func be32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    static func crc(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
    }

    static func deflate(_ data: [UInt8]) -> [UInt8] {
        var length = compressBound(uLong(data.count))
        var out = [UInt8](repeating: 0, count: Int(length))
        let status = out.withUnsafeMutableBufferPointer { o in
            data.withUnsafeBufferPointer { i in compress(o.baseAddress, &length, i.baseAddress, uLong(data.count)) }
        }
        precondition(status == Z_OK)
        return Array(out.prefix(Int(length)))
    }

    static func chunk(_ type: String, _ data: [UInt8], corruptCRC: Bool = false) -> [UInt8] {
        let body = Array(type.utf8) + data
        var checksum = crc(body)
        if corruptCRC { checksum ^= 0xFFFF_FFFF }
        return be32(UInt32(data.count)) + body + be32(checksum)
    }

    static func channelCount(colorType: Int) -> Int {
        switch colorType {
        case 0, 3: return 1
        case 2: return 3
        case 4: return 2
        case 6: return 4
        default: fatalError("bad colour type")
        }
    }

    /// One scanline (with filter byte 0) of the given pixels' samples.
    static func scanline(_ samples: [[UInt]], bitDepth: Int) -> [UInt8] {
        var out: [UInt8] = [0]
        if bitDepth >= 8 {
            for pixel in samples {
                for value in pixel {
                    if bitDepth == 16 { out += [UInt8(value >> 8), UInt8(value & 0xFF)] } else { out.append(UInt8(value)) }
                }
            }
        } else {
            var byte = 0, used = 0
            for pixel in samples {
                for value in pixel {
                    byte = (byte << bitDepth) | Int(value)
                    used += bitDepth
                    if used == 8 { out.append(UInt8(byte)); byte = 0; used = 0 }
                }
            }
            if used > 0 { out.append(UInt8(byte << (8 - used))) }
        }
        return out
    }

    /// The filtered (filter 0), uncompressed image stream.
    static func rawData(width: Int, height: Int, bitDepth: Int, interlaced: Bool, pixel: (Int, Int) -> [UInt]) -> [UInt8] {
        var raw: [UInt8] = []
        if !interlaced {
            for y in 0..<height { raw += scanline((0..<width).map { pixel($0, y) }, bitDepth: bitDepth) }
            return raw
        }
        let passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        for (x0, y0, dx, dy) in passes {
            let columns = width > x0 ? (width - x0 + dx - 1) / dx : 0
            let rows = height > y0 ? (height - y0 + dy - 1) / dy : 0
            if columns == 0 || rows == 0 { continue }
            for r in 0..<rows {
                raw += scanline((0..<columns).map { pixel(x0 + $0 * dx, y0 + r * dy) }, bitDepth: bitDepth)
            }
        }
        return raw
    }

    static func ihdr(width: Int, height: Int, bitDepth: Int, colorType: Int, interlaced: Bool) -> [UInt8] {
        chunk("IHDR", be32(UInt32(width)) + be32(UInt32(height)) + [UInt8(bitDepth), UInt8(colorType), 0, 0, interlaced ? 1 : 0])
    }

    /// A complete PNG. `pixel(x, y)` gives the samples of one pixel (palette index for colour type 3).
    static func png(width: Int, height: Int, bitDepth: Int = 8, colorType: Int, interlaced: Bool = false,
                    palette: [(UInt8, UInt8, UInt8)]? = nil, transparency: [UInt8]? = nil,
                    pixel: (Int, Int) -> [UInt]) -> [UInt8] {
        var bytes = signature + ihdr(width: width, height: height, bitDepth: bitDepth, colorType: colorType, interlaced: interlaced)
        if let palette { bytes += chunk("PLTE", palette.flatMap { [$0.0, $0.1, $0.2] }) }
        if let transparency { bytes += chunk("tRNS", transparency) }
        let raw = rawData(width: width, height: height, bitDepth: bitDepth, interlaced: interlaced, pixel: pixel)
        bytes += chunk("IDAT", deflate(raw))
        bytes += chunk("IEND", [])
        return bytes
    }
}
