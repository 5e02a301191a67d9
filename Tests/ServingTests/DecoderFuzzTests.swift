import Foundation
import Fovea
import FoveaServing
import XCTest

/// Seeded mutation fuzzing of every request decoder: valid requests are mutated (bytes flipped,
/// cut, repeated, spliced, numbers and lengths swapped for extreme ones) and each mutant must be
/// either accepted or refused with a 4xx ServingError; never a crash, a hang or a 5xx. The run
/// length is FOVEA_FUZZ_ITERATIONS per seed (default 1500, a second or two); set it higher by hand.
final class DecoderFuzzTests: XCTestCase {
    let signature = TensorSignature(inputName: "x", inputShape: [4, 4, 1], outputName: "y", outputShape: [3], maxRequestBatch: 4)
    var iterations: Int { ProcessInfo.processInfo.environment["FOVEA_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 1500 }

    struct Mutator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E3779B97F4A7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
            z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
            return z ^ (z >> 31)
        }

        static let tokens: [String] = ["-1", "0", "1e309", "-1e309", "NaN", "1e39", "99999999999999999999", "[", "]", "{", "}", ",", ":",
                                       "\"", "\\u0000", "\\ud800", "null", "true", "[[[[[[[[", "\"FP64\"", "\"UINT8\"", "\"BYTES\"",
                                       "\"binary_data_size\":1", "4294967296", "1.5", "\u{FF}"]

        mutating func mutate(_ input: [UInt8]) -> [UInt8] {
            var bytes = input
            for _ in 0..<Int.random(in: 1...4, using: &self) {
                guard !bytes.isEmpty else { return Array(Self.tokens.randomElement(using: &self)!.utf8) }
                let at = Int.random(in: 0..<bytes.count, using: &self)
                switch Int.random(in: 0..<7, using: &self) {
                case 0: bytes[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &self))
                case 1: bytes.removeSubrange(at..<Swift.min(bytes.count, at + Int.random(in: 1...16, using: &self)))
                case 2: bytes = Array(bytes.prefix(at))
                case 3: bytes.insert(contentsOf: Array(Self.tokens.randomElement(using: &self)!.utf8), at: at)
                case 4:
                    let end = Swift.min(bytes.count, at + Int.random(in: 1...32, using: &self))
                    bytes.insert(contentsOf: bytes[at..<end], at: at)
                case 5: bytes[at] = UInt8.random(in: 0...255, using: &self)
                default:
                    // Replace a run of digits by an extreme token.
                    var end = at
                    while end < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[end]) { end += 1 }
                    bytes.replaceSubrange(at..<end, with: Array(Self.tokens.randomElement(using: &self)!.utf8))
                }
            }
            return bytes
        }
    }

    func fuzz(_ seeds: [[UInt8]], seed: UInt64, file: StaticString = #filePath, line: UInt = #line,
              _ decode: ([UInt8]) throws(ServingError) -> Void) {
        var mutator = Mutator(state: seed)
        var accepted = 0, refused = 0
        for original in seeds {
            do { try decode(original) } catch { XCTFail("a seed is refused: \(error)", file: file, line: line) }
            for _ in 0..<iterations {
                let mutant = mutator.mutate(original)
                do {
                    try decode(mutant)
                    accepted += 1
                } catch {
                    refused += 1
                    if !(400..<500).contains(error.status) {
                        XCTFail("status \(error.status) for \(String(decoding: mutant.prefix(200), as: UTF8.self)): \(error)", file: file, line: line)
                        return
                    }
                }
            }
        }
        XCTAssertGreaterThan(refused, 0, file: file, line: line)
    }

    var v2Seeds: [[UInt8]] {
        [#"{"id":"a","inputs":[{"name":"x","shape":[1,4,4,1],"datatype":"FP32","data":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15.5]}],"outputs":[{"name":"y","parameters":{"binary_data":true}}]}"#,
         #"{"inputs":[{"name":"x","shape":[2,4,4,1],"datatype":"UINT8","data":[[[[1],[2],[3],[4]],[[1],[2],[3],[4]],[[1],[2],[3],[4]],[[1],[2],[3],[4]]],[[[1],[2],[3],[4]],[[1],[2],[3],[4]],[[1],[2],[3],[4]],[[1],[2],[3],[4]]]]}],"parameters":{"binary_data_output":false}}"#,
        ].map { Array($0.utf8) }
    }

    func testOpenInferenceJSON() {
        fuzz(v2Seeds, seed: 1) { (bytes) throws(ServingError) in
            _ = try OpenInferenceCodec.decodeRequest(bytes, headerLength: nil, signature: signature)
        }
    }

    func testOpenInferenceBinary() {
        let header = Array(#"{"inputs":[{"name":"x","shape":[1,4,4,1],"datatype":"FP32","parameters":{"binary_data_size":64}}]}"#.utf8)
        let data = (0..<16).flatMap { i in withUnsafeBytes(of: Float(i).bitPattern.littleEndian, Array.init) }
        var mutator = Mutator(state: 2)
        let original = header + data
        fuzz([original], seed: 3) { (bytes) throws(ServingError) in
            // The header length is right, or (for mutants) sometimes a lie.
            let lie = Int.random(in: -5...(bytes.count + 5), using: &mutator)
            let length = bytes == original ? header.count : [header.count, header.count, lie].randomElement(using: &mutator)!
            _ = try OpenInferenceCodec.decodeRequest(bytes, headerLength: length, signature: signature)
        }
    }

    func testTFServing() throws {
        let png = try Image.testPattern(size: 16).pngData()
        let seeds = [#"{"instances":[[[[0],[1],[2],[3]],[[0],[1],[2],[3]],[[0],[1],[2],[3]],[[0],[1],[2],[3]]],{"x":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]}]}"#,
                     #"{"signature_name":"serving_default","inputs":{"x":[[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]]}}"#,
                     #"{"instances":[{"b64":"\#(Data(png).base64EncodedString())"}]}"#].map { Array($0.utf8) }
        fuzz(seeds, seed: 4) { (bytes) throws(ServingError) in
            _ = try TFServingCodec.decodePredict(bytes, signature: signature)
        }
    }

    func testImagesAndMultipart() throws {
        let png = try Image.testPattern(size: 16).pngData()
        let jpeg = try Image.testPattern(size: 16).jpegData()
        let form = Array("--bb\r\nContent-Disposition: form-data; name=\"data\"; filename=\"a.png\"\r\n\r\n".utf8) + png + Array("\r\n--bb--\r\n".utf8)
        fuzz([png, jpeg], seed: 5) { (bytes) throws(ServingError) in
            _ = try ImageRequestDecoder.prepare(ImageRequestDecoder.imageBytes(body: bytes, contentType: "image/png"), inputShape: [4, 4, 1])
        }
        fuzz([form], seed: 6) { (bytes) throws(ServingError) in
            _ = try ImageRequestDecoder.prepare(ImageRequestDecoder.imageBytes(body: bytes, contentType: "multipart/form-data; boundary=bb"),
                                                inputShape: [4, 4, 1])
        }
    }
}
