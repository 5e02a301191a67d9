import Fovea
import Foundation

/// The raw image route's decoding (TorchServe's `POST /predictions/{model}`): the image bytes from
/// a body or a multipart form, prepared exactly as `fovea predict` prepares an image
/// (``ImagePreparation``), and the answer as the top classes with their probabilities.
public enum ImageRequestDecoder {
    /// Largest image accepted, in pixels: the decoded image is held as floats (16 bytes a pixel
    /// for RGBA), so this bounds a request's memory (64 MiB) whatever its compressed size.
    public static let defaultMaximumPixels = 4_000_000

    /// Whether `bytes` start as a PNG or a JPEG file.
    public static func looksLikeImage(_ bytes: some Collection<UInt8>) -> Bool {
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        return bytes.starts(with: png) || bytes.starts(with: [0xFF, 0xD8, 0xFF])
    }

    /// The image file a request carries: the body itself, or for `multipart/form-data` the part
    /// named `data`, `file` or `image` (TorchServe's names), else the first part with a file name,
    /// else the first part.
    public static func imageBytes(body: [UInt8], contentType: String?) throws(ServingError) -> [UInt8] {
        let type = contentType?.lowercased() ?? ""
        let bytes: [UInt8]
        if type.hasPrefix("multipart/") {
            bytes = try multipartImage(body: body, contentType: contentType!)
        } else {
            bytes = body
        }
        guard !bytes.isEmpty else { throw .badRequest("the request carries no image (empty body)") }
        guard looksLikeImage(bytes) else {
            throw ServingError(.unsupportedMediaType, "the request body is not a PNG or JPEG image (send the file's bytes, or a multipart form with a 'data' field)")
        }
        return bytes
    }

    /// The parts of a multipart body (RFC 2046): their Content-Disposition `name`, whether they
    /// had a `filename`, and their bytes. At most 16 parts; a body without its closing delimiter
    /// is refused as truncated.
    ///
    /// Read here rather than with MultipartKit: its 4.7.1 parser indexes a 128-entry table with any
    /// header byte and traps on bytes from 128 (found by DecoderFuzzTests), which would let one
    /// request take the server down.
    public static func multipartParts(body: [UInt8], contentType: String) throws(ServingError) -> [(name: String?, isFile: Bool, bytes: [UInt8])] {
        guard let boundary = boundary(in: contentType) else {
            throw .badRequest("a multipart body needs a boundary parameter (1 to 70 characters) in its Content-Type (got '\(contentType)')")
        }
        let dash = Array("--\(boundary)".utf8)
        // Delimiters: "--boundary" at the start of the body or right after a CRLF.
        var delimiters: [Int] = []
        var i = 0
        while i + dash.count <= body.count {
            if body[i] == dash[0], i == 0 || (i >= 2 && body[i - 2] == 0x0D && body[i - 1] == 0x0A), body[i..<(i + dash.count)].elementsEqual(dash) {
                delimiters.append(i)
                let after = i + dash.count
                if after + 1 < body.count, body[after] == UInt8(ascii: "-"), body[after + 1] == UInt8(ascii: "-") { break }
                i = after
            } else {
                i += 1
            }
        }
        guard let last = delimiters.last, last + dash.count + 1 < body.count,
              body[last + dash.count] == UInt8(ascii: "-"), body[last + dash.count + 1] == UInt8(ascii: "-") else {
            throw .badRequest("the multipart body has no closing boundary '--\(boundary)--' (truncated, or the boundary does not match)")
        }
        guard delimiters.count >= 2 else { throw .badRequest("the multipart body has no parts") }
        guard delimiters.count <= 17 else { throw .badRequest("the multipart body has more than 16 parts") }
        var parts: [(name: String?, isFile: Bool, bytes: [UInt8])] = []
        for (start, next) in zip(delimiters, delimiters.dropFirst()) {
            var at = start + dash.count
            while at < next, body[at] == 0x20 || body[at] == 0x09 { at += 1 }  // transport padding
            guard at + 1 < next, body[at] == 0x0D, body[at + 1] == 0x0A else { throw .badRequest("a multipart delimiter is not followed by a line break") }
            at += 2
            let end = next - 2  // the CRLF before the next delimiter belongs to it
            // Headers end at an empty line.
            var headerEnd = -1
            var j = at
            if j + 1 < end + 2, body[j] == 0x0D, body[j + 1] == 0x0A {
                headerEnd = j
            } else {
                while j + 3 < end + 2 {
                    if body[j] == 0x0D, body[j + 1] == 0x0A, body[j + 2] == 0x0D, body[j + 3] == 0x0A { headerEnd = j + 2; break }
                    j += 1
                }
            }
            guard headerEnd >= 0, headerEnd + 2 <= end else { throw .badRequest("a multipart part has no blank line after its headers") }
            var name: String?, isFile = false
            let headers = String(decoding: body[at..<headerEnd], as: UTF8.self)
            for line in headers.split(separator: "\r\n") {
                guard let colon = line.firstIndex(of: ":"), line[..<colon].lowercased() == "content-disposition" else { continue }
                for parameter in line[line.index(after: colon)...].split(separator: ";").dropFirst() {
                    let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                    guard pair.count == 2 else { continue }
                    let value = pair[1].count >= 2 && pair[1].hasPrefix("\"") && pair[1].hasSuffix("\"") ? String(pair[1].dropFirst().dropLast()) : pair[1]
                    if pair[0].lowercased() == "name" { name = value }
                    if pair[0].lowercased() == "filename" { isFile = true }
                }
            }
            parts.append((name, isFile, Array(body[(headerEnd + 2)..<end])))
        }
        return parts
    }

    static func multipartImage(body: [UInt8], contentType: String) throws(ServingError) -> [UInt8] {
        let parts = try multipartParts(body: body, contentType: contentType)
        if let named = parts.first(where: { ["data", "file", "image"].contains($0.name ?? "") }) { return named.bytes }
        if let file = parts.first(where: \.isFile) { return file.bytes }
        return parts[0].bytes
    }

    /// The `boundary` parameter of a multipart Content-Type (1...70 characters, RFC 2046).
    static func boundary(in contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].lowercased() == "boundary" else { continue }
            var value = pair[1]
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            return (1...70).contains(value.utf8.count) ? value : nil
        }
        return nil
    }

    /// Decodes a PNG or JPEG and prepares it for a model whose input is `inputShape` (no batch
    /// axis): one sample's floats.
    public static func prepare(_ bytes: [UInt8], inputShape: [Int], preparation: ImagePreparation = ImagePreparation(),
                               maximumPixels: Int = defaultMaximumPixels) throws(ServingError) -> [Float] {
        guard looksLikeImage(bytes) else { throw ServingError(.unsupportedMediaType, "not a PNG or JPEG image") }
        let image: Image
        do {
            image = try Image.decode(bytes, name: "the request's image", maxPixels: maximumPixels)
        } catch {
            throw .badRequest("the image cannot be decoded: \(error)")
        }
        do {
            return try preparation.input(image, shape: [nil] + inputShape.map { Optional($0) }).scalars
        } catch {
            throw .badRequest("the image cannot be prepared for this model: \(error)")
        }
    }

    /// The `k` most probable classes of one output row (softmax first when it is not already a
    /// distribution, as `fovea predict` does), named by `classNames` or by index.
    public static func topClasses(_ output: [Float], k: Int, classNames: [String]?) throws(ServingError) -> [(name: String, probability: Float)] {
        do {
            return try Fovea.topClasses(output, k: k).map { score in
                (classNames.map { $0[score.classIndex] } ?? String(score.classIndex), score.probability)
            }
        } catch {
            throw ServingError(.internal, "the model's output is not a class score: \(error)")
        }
    }

    /// TorchServe's answer: `{"class": probability, …}`, most probable first.
    public static func encodeTopClasses(_ classes: [(name: String, probability: Float)]) -> [UInt8] {
        var w = JSONWriter()
        w.open("{")
        for (i, c) in classes.enumerated() {
            if i > 0 { w.comma() }
            w.key(c.name)
            w.float(c.probability)
        }
        w.open("}")
        return w.bytes
    }
}
