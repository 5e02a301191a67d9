import Foundation
import Fovea
import FoveaServing
import XCTest

/// A stand-in model: output i of a sample is (sum of its inputs) × (i + 1); records batch sizes.
final class SumRunner: BatchRunner, @unchecked Sendable {
    let inputCount: Int
    let outputCount: Int
    let delay: Double
    private let lock = NSLock()
    private var sizes: [Int] = []
    init(inputCount: Int = 3, outputCount: Int = 2, delay: Double = 0) {
        self.inputCount = inputCount; self.outputCount = outputCount; self.delay = delay
    }
    var batchSizes: [Int] { lock.withLock { sizes } }
    func run(_ input: [Float], count: Int) throws -> [Float] {
        lock.withLock { sizes.append(count) }
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        var out: [Float] = []
        for s in 0..<count {
            let sum = input[(s * inputCount)..<((s + 1) * inputCount)].reduce(0, +)
            for i in 0..<outputCount { out.append(sum * Float(i + 1)) }
        }
        return out
    }
}

final class JSONReaderTests: XCTestCase {
    func parse(_ text: String) throws -> RequestJSON { try JSONReader.parse(Array(text.utf8)) }

    func testValues() throws {
        XCTAssertEqual(try parse(#" {"a": [1, 2.5, -3e2], "b": "x\"\u00e9\ud83d\ude00", "c": [true, null, {}], "d": []} "#),
                       .object([("a", .numbers([1, 2.5, -300])), ("b", .string("x\"é😀")),
                                ("c", .array([.bool(true), .null, .object([])])), ("d", .numbers([]))]))
        XCTAssertEqual(try parse("[[1,2],[3]]"), .array([.numbers([1, 2]), .numbers([3])]))
        XCTAssertEqual(try parse("[1, \"a\"]"), .array([.number(1), .string("a")]))
    }

    /// Numbers read as the C library reads them (correctly rounded), on the fast path and off it.
    func testNumbersAreExact() throws {
        var generator = SystemRandomNumberGenerator()
        var texts = ["0", "-0", "0.1", "1e-7", "123456789012345678901234", "1.7976931348623157e308", "5e-324", "2.2250738585072014e-308",
                     "0.30000000000000004", "9007199254740993", "1e23", "8.589973e9", "0.000001", "3.4028235e38", "1E+2", "-12.5e-3"]
        for _ in 0..<2000 {
            let v = Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &generator))
            if v.isFinite { texts.append(v.description.replacingOccurrences(of: "inf", with: "1")) }
            texts.append(String(Double.random(in: -1e6...1e6, using: &generator)))
        }
        for text in texts {
            guard case let .numbers(values) = try parse("[\(text)]") else { return XCTFail(text) }
            XCTAssertEqual(values[0].bitPattern, strtod(text, nil).bitPattern, text)
        }
    }

    func testMalformed() {
        let bad = ["", "[", "[1,]", "[1 2]", "{\"a\":}", "{\"a\" 1}", "{a:1}", "[01]", "[1.]", "[.5]", "[1e]", "[-]", "NaN", "[Infinity]",
                   "\"abc", "\"\\x\"", "\"\u{01}\"", "[1] 2", "{\"a\":1,}", "tru", "nul", "[\"\\ud800\"]", "\"\\u12\"", "{\"a\":1"]
        for text in bad {
            XCTAssertThrowsError(try parse(text), text)
        }
        XCTAssertThrowsError(try JSONReader.parse([0x22, 0xFF, 0xFE, 0x22]))  // not UTF-8
    }

    func testDepthIsBounded() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        XCTAssertThrowsError(try parse(deep)) { error in
            XCTAssertTrue("\(error)".contains("nested deeper"), "\(error)")
        }
        XCTAssertNoThrow(try parse(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)))
    }

    func testWriter() throws {
        var w = JSONWriter()
        w.raw("{"); w.key("a\n\"b"); w.floats([1, 0.5, 2, 3, -1e-7, .nan][...], shape: [2, 3][...]); w.raw("}")
        XCTAssertEqual(String(decoding: w.bytes, as: UTF8.self), #"{"a\n\"b":[[1,0.5,2],[3,-1e-07,null]]}"#)
        XCTAssertNoThrow(try JSONReader.parse(w.bytes))
    }
}

final class CodecTests: XCTestCase {
    let signature = TensorSignature(inputName: "x", inputShape: [2, 3], outputName: "y", outputShape: [2], maxRequestBatch: 8)

    func v2(_ text: String, binary: [UInt8] = [], header: Bool = false) throws(ServingError) -> OpenInferenceRequest {
        let json = Array(text.utf8)
        return try OpenInferenceCodec.decodeRequest(json + binary, headerLength: header ? json.count : nil, signature: signature)
    }

    func expectBadRequest(_ text: String, binary: [UInt8] = [], header: Bool = false, contains fragment: String,
                          file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try v2(text, binary: binary, header: header)
            XCTFail("accepted: \(text)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.status, 400, file: file, line: line)
            XCTAssertTrue(error.message.contains(fragment), "\(error.message) lacks '\(fragment)'", file: file, line: line)
        }
    }

    func testOpenInferenceJSON() throws {
        let flat = try v2(#"{"id":"r1","inputs":[{"name":"x","shape":[1,2,3],"datatype":"FP32","data":[1,2,3,4,5,6]}]}"#)
        XCTAssertEqual(flat, OpenInferenceRequest(id: "r1", batch: InferenceBatch(count: 1, values: [1, 2, 3, 4, 5, 6]), binaryOutput: false))
        let nested = try v2(#"{"inputs":[{"name":"x","shape":[2,2,3],"datatype":"INT64","data":[[[1,2,3],[4,5,6]],[[7,8,9],[10,11,12]]]}],"outputs":[{"name":"y"}]}"#)
        XCTAssertEqual(nested.batch, InferenceBatch(count: 2, values: (1...12).map(Float.init)))
        let binaryOut = try v2(#"{"inputs":[{"name":"x","shape":[1,2,3],"datatype":"UINT8","data":[0,1,2,3,4,255]}],"outputs":[{"name":"y","parameters":{"binary_data":true}}]}"#)
        XCTAssertTrue(binaryOut.binaryOutput)
        let global = try v2(#"{"parameters":{"binary_data_output":true},"inputs":[{"name":"x","shape":[1,2,3],"datatype":"FP64","data":[0,1,2,3,4,5]}]}"#)
        XCTAssertTrue(global.binaryOutput)
    }

    func testOpenInferenceBinary() throws {
        let values: [Float] = [1, -2, 3.5, 4, 5, 6]
        let bytes = values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init) }
        let json = #"{"inputs":[{"name":"x","shape":[1,2,3],"datatype":"FP32","parameters":{"binary_data_size":24}}]}"#
        XCTAssertEqual(try v2(json, binary: bytes, header: true).batch.values, values)
        let ints: [Int32] = [1, 2, 3, -4, 5, 6]
        let intBytes = ints.flatMap { v in withUnsafeBytes(of: v.littleEndian, Array.init) }
        XCTAssertEqual(try v2(json.replacingOccurrences(of: "FP32", with: "INT32"), binary: intBytes, header: true).batch.values, [1, 2, 3, -4, 5, 6])
        expectBadRequest(json, binary: Array(bytes.dropLast()), header: true, contains: "binary_data_size says 24")
        expectBadRequest(json, binary: bytes + [0], header: true, contains: "binary_data_size says 24")
        expectBadRequest(json, binary: bytes, header: false, contains: "not valid JSON")
        expectBadRequest(json.replacingOccurrences(of: "24", with: "20"), binary: Array(bytes.prefix(20)), header: true, contains: "is 24")
        let nan = Array(bytes.prefix(20)) + withUnsafeBytes(of: Float.nan.bitPattern.littleEndian, Array.init)
        expectBadRequest(json, binary: nan, header: true, contains: "finite")
        // A header length beyond the body.
        XCTAssertThrowsError(try OpenInferenceCodec.decodeRequest(Array(json.utf8), headerLength: 10_000, signature: signature)) { error in
            XCTAssertTrue("\(error)".contains("Inference-Header-Content-Length"))
        }
        let encoded = OpenInferenceCodec.encodeResponse(modelName: "m", version: 2,
                                                        request: OpenInferenceRequest(id: nil, batch: InferenceBatch(count: 1, values: values), binaryOutput: true),
                                                        outputs: [0.25, 0.75], signature: signature)
        let header: Int = try XCTUnwrap(encoded.headerLength)
        XCTAssertEqual(try JSONReader.parse(Array(encoded.body.prefix(header)))["outputs"],
                       .array([.object([("name", .string("y")), ("datatype", .string("FP32")), ("shape", .numbers([1, 2])),
                                        ("parameters", .object([("binary_data_size", .number(8))]))])]))
        XCTAssertEqual(Array(encoded.body.dropFirst(header)), [Float(0.25), 0.75].flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init) })
    }

    func testOpenInferenceErrors() {
        let good = #"{"inputs":[{"name":"x","shape":[1,2,3],"datatype":"FP32","data":[1,2,3,4,5,6]}]}"#
        expectBadRequest("[1]", contains: "JSON object")
        expectBadRequest("{}", contains: "no 'inputs'")
        expectBadRequest(#"{"inputs":[]}"#, contains: "non-empty")
        expectBadRequest(good.replacingOccurrences(of: "\"x\"", with: "\"z\""), contains: "no input 'z'")
        expectBadRequest(good.replacingOccurrences(of: "FP32", with: "BF16"), contains: "not supported")
        expectBadRequest(good.replacingOccurrences(of: "[1,2,3]", with: "[1,3,2]"), contains: "does not match the model's input")
        expectBadRequest(good.replacingOccurrences(of: "[1,2,3]", with: "[-1,2,3]"), contains: "not a size")
        expectBadRequest(good.replacingOccurrences(of: "[1,2,3]", with: "[1e300,2,3]"), contains: "not a size")
        expectBadRequest(good.replacingOccurrences(of: "[1,2,3]", with: "[9,2,3]"), contains: "1 to 8")
        expectBadRequest(good.replacingOccurrences(of: "[1,2,3]", with: "[0,2,3]"), contains: "1 to 8")
        expectBadRequest(good.replacingOccurrences(of: "[1,2,3]", with: "[1.5,2,3]"), contains: "not a size")
        expectBadRequest(good.replacingOccurrences(of: "5,6]", with: "5]"), contains: "5 values")
        expectBadRequest(good.replacingOccurrences(of: "5,6]", with: "5,6,7]"), contains: "7 values")
        expectBadRequest(good.replacingOccurrences(of: "5,6]", with: "5,1e39]"), contains: "Float32's range")
        expectBadRequest(good.replacingOccurrences(of: "5,6]", with: "5,\"6\"]"), contains: "numbers")
        expectBadRequest(good.replacingOccurrences(of: "FP32", with: "UINT8").replacingOccurrences(of: "5,6]", with: "5,256]"), contains: "0...255")
        expectBadRequest(good.replacingOccurrences(of: "FP32", with: "INT32").replacingOccurrences(of: "5,6]", with: "5,6.5]"), contains: "whole number")
        expectBadRequest(good.replacingOccurrences(of: "[1,2,3,4,5,6]", with: "[[1,2,3,4],[5,6]]"), contains: "nested data does not match")
        expectBadRequest(good.replacingOccurrences(of: ",\"data\":[1,2,3,4,5,6]", with: ""), contains: "no 'data'")
        expectBadRequest(good.replacingOccurrences(of: "}]}", with: "}],\"outputs\":[{\"name\":\"q\"}]}"), contains: "no output 'q'")
        expectBadRequest(String(good.dropLast(5)), contains: "not valid JSON")
    }

    func testTFServing() throws {
        let rows = try TFServingCodec.decodePredict(Array(#"{"instances":[[[1,2,3],[4,5,6]],{"x":[6,5,4,3,2,1]}]}"#.utf8), signature: signature)
        XCTAssertEqual(rows, TFServingRequest(format: .rows, batch: InferenceBatch(count: 2, values: [1, 2, 3, 4, 5, 6, 6, 5, 4, 3, 2, 1])))
        XCTAssertEqual(String(decoding: TFServingCodec.encodePredict(rows, outputs: [1, 2, 3, 4], signature: signature), as: UTF8.self),
                       #"{"predictions":[[1,2],[3,4]]}"#)
        let columns = try TFServingCodec.decodePredict(Array(#"{"signature_name":"serving_default","inputs":{"x":[[[1,2,3],[4,5,6]]]}}"#.utf8), signature: signature)
        XCTAssertEqual(columns, TFServingRequest(format: .columns, batch: InferenceBatch(count: 1, values: [1, 2, 3, 4, 5, 6])))
        XCTAssertEqual(String(decoding: TFServingCodec.encodePredict(columns, outputs: [1, 2], signature: signature), as: UTF8.self),
                       #"{"outputs":[[1,2]]}"#)
        for (body, fragment) in [(#"{"instances":[[1,2,3]]}"#, "3 values"), (#"{"instances":5}"#, "must be an array"),
                                 (#"{"inputs":[[1,2,3,4,5,6]],"instances":[]}"#, "not both"), (#"{}"#, "neither"),
                                 (#"{"instances":[{"z":[1,2,3,4,5,6]}]}"#, "'z'"), (#"{"signature_name":"other","instances":[]}"#, "no signature"),
                                 (#"{"instances":[{"b64":"!!"}]}"#, "base64"), (#"{"instances":[{"b64":"aGVsbG8="}]}"#, "not a PNG"),
                                 (#"{"instances":[]}"#, "1 to 8")] {
            XCTAssertThrowsError(try TFServingCodec.decodePredict(Array(body.utf8), signature: signature), body) { error in
                XCTAssertTrue("\(error)".contains(fragment), "\(error) lacks \(fragment)")
            }
        }
    }

    func testMultipartAndImageBytes() throws {
        let png: [UInt8] = try Image.testPattern(size: 16).pngData()
        let boundary = "XyZ123"
        var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n".utf8)
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"data\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n".utf8)
        body += png + Array("\r\n--\(boundary)--\r\n".utf8)
        XCTAssertEqual(try ImageRequestDecoder.imageBytes(body: body, contentType: "multipart/form-data; boundary=\"\(boundary)\""), png)
        XCTAssertEqual(try ImageRequestDecoder.imageBytes(body: png, contentType: "image/png"), png)
        XCTAssertThrowsError(try ImageRequestDecoder.imageBytes(body: Array("hello".utf8), contentType: "image/png")) { error in
            XCTAssertEqual((error as? ServingError)?.status, 415)
        }
        XCTAssertThrowsError(try ImageRequestDecoder.imageBytes(body: body, contentType: "multipart/form-data"))
        XCTAssertThrowsError(try ImageRequestDecoder.imageBytes(body: Array(body.prefix(40)), contentType: "multipart/form-data; boundary=\(boundary)"))
        // A truncated PNG is a 400, not a crash.
        XCTAssertThrowsError(try ImageRequestDecoder.prepare(Array(png.prefix(60)), inputShape: [28, 28, 1])) { error in
            XCTAssertEqual((error as? ServingError)?.status, 400)
        }
    }
}

final class BatcherTests: XCTestCase {
    /// Many concurrent requests of 1-3 samples: each gets exactly its own answer, and batches of
    /// several requests formed.
    func testAnswersAreNeverMixed() async throws {
        let runner = SumRunner(delay: 0.002)
        let batcher = DynamicBatcher(runners: [runner], options: BatchingOptions(maxBatchSize: 8, maxDelay: 0.002, maxQueuedSamples: 10_000, instances: 1),
                                     label: "sum")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for r in 0..<200 {
                group.addTask {
                    let count = r % 3 + 1
                    let values = (0..<(count * 3)).map { Float(r * 100 + $0) }
                    let out = try await batcher.submit(InferenceBatch(count: count, values: values))
                    var expected: [Float] = []
                    for s in 0..<count {
                        let sum = values[(s * 3)..<(s * 3 + 3)].reduce(0, +)
                        expected += [sum, 2 * sum]
                    }
                    XCTAssertEqual(out, expected, "request \(r)")
                }
            }
            try await group.waitForAll()
        }
        await batcher.drain()
        XCTAssertTrue(runner.batchSizes.allSatisfy { $0 <= 8 || $0 == 3 }, "\(runner.batchSizes)")
        XCTAssertGreaterThan(runner.batchSizes.max() ?? 0, 3, "no batch held more than one request: \(runner.batchSizes)")
        XCTAssertEqual(runner.batchSizes.reduce(0, +), (0..<200).reduce(0) { $0 + $1 % 3 + 1 })
    }

    func testBatchingOffRunsEachRequestAlone() async throws {
        let runner = SumRunner()
        let batcher = DynamicBatcher(runners: [runner], options: BatchingOptions(maxBatchSize: 1, instances: 1), label: "sum")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for r in 0..<50 { group.addTask { _ = try await batcher.submit(InferenceBatch(count: 1, values: [Float(r), 0, 0])) } }
            try await group.waitForAll()
        }
        await batcher.drain()
        XCTAssertEqual(runner.batchSizes, [Int](repeating: 1, count: 50))
    }

    /// A full queue refuses at once (503), and what was queued still runs when draining.
    func testQueueIsBoundedAndDrainFinishesQueuedWork() async throws {
        let runner = SumRunner(delay: 0.2)
        let batcher = DynamicBatcher(runners: [runner], options: BatchingOptions(maxBatchSize: 1, maxDelay: 0, maxQueuedSamples: 2, instances: 1),
                                     label: "slow")
        let results = await withTaskGroup(of: Result<[Float], ServingError>.self) { group in
            for r in 0..<8 {
                group.addTask {
                    do throws(ServingError) {
                        return .success(try await batcher.submit(InferenceBatch(count: 1, values: [Float(r), 0, 0])))
                    } catch {
                        return .failure(error)
                    }
                }
            }
            var all: [Result<[Float], ServingError>] = []
            for await r in group { all.append(r) }
            return all
        }
        var refused: [ServingError] = []
        for result in results { if case let .failure(e) = result { refused.append(e) } }
        XCTAssertFalse(refused.isEmpty)
        for error in refused {
            XCTAssertEqual(error.kind, .queueFull)
            XCTAssertEqual(error.status, 503)
            XCTAssertEqual(error.retryAfterSeconds, 1)
        }
        XCTAssertGreaterThanOrEqual(results.count - refused.count, 2)

        async let late = batcher.submit(InferenceBatch(count: 1, values: [7, 0, 0]))
        try await Task.sleep(nanoseconds: 10_000_000)
        await batcher.drain()
        let answer = try await late
        XCTAssertEqual(answer, [7, 14])
        do {
            _ = try await batcher.submit(InferenceBatch(count: 1, values: [1, 0, 0]))
            XCTFail("a stopped batcher took a request")
        } catch {
            XCTAssertEqual(error.kind, .unavailable)
        }
    }

    func testTimeout() async throws {
        let runner = SumRunner(delay: 0.2)
        let batcher = DynamicBatcher(runners: [runner], options: BatchingOptions(maxBatchSize: 1, maxDelay: 0, timeout: 0.05, instances: 1), label: "slow")
        async let first = batcher.submit(InferenceBatch(count: 1, values: [1, 0, 0]))
        try await Task.sleep(nanoseconds: 20_000_000)
        do {
            _ = try await batcher.submit(InferenceBatch(count: 1, values: [2, 0, 0]))
            XCTFail("no timeout")
        } catch {
            XCTAssertEqual(error.kind, .timedOut)
        }
        _ = try await first
        await batcher.drain()
    }
}
