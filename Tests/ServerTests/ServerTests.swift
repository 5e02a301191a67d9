import Foundation
import Fovea
import FoveaServer
import FoveaServing
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import XCTest

/// A repository with the seed CNN as `digits` (versions 1 and 2) and the dense network as `plain.safetensors`.
func makeRepositoryFolder(_ test: XCTestCase) throws -> URL {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("fovea-server-\(UUID().uuidString)", isDirectory: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: root) }
    for (relative, seed, architecture) in [("digits/1/model.safetensors", 1, "seed-cnn"), ("digits/2/model.safetensors", 2, "seed-cnn"),
                                           ("plain.safetensors", 3, "dense")] {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try ServedModel.writeBuiltIn(architecture, seed: UInt64(seed), to: url)
    }
    try Data((0..<10).map { "digit-\($0)" }.joined(separator: "\n").utf8).write(to: root.appendingPathComponent("digits/2/labels.txt"))
    return root
}

func makeServer(_ test: XCTestCase, maxBodyBytes: Int = 1 << 20) throws -> FoveaServer.Parts {
    var logger = Logger(label: "test")
    logger.logLevel = .warning
    let options = ServerOptions(modelsDirectory: try makeRepositoryFolder(test), port: 0,
                                batching: BatchingOptions(maxBatchSize: 8, maxDelay: 0.0005, instances: 2),
                                maxBodyBytes: maxBodyBytes, maxRequestBatch: 16, logLevel: .warning, accessLog: false)
    let parts = FoveaServer.make(options, logger: logger, watch: false)
    parts.repository.poll()
    return parts
}

func body(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
func text(_ response: TestResponse) -> String { String(buffer: response.body) }
func json(_ response: TestResponse) throws -> RequestJSON { try JSONReader.parse(Array(buffer: response.body)) }

/// A 784-value MNIST-like input, deterministic.
func digitInput(_ seed: Int) -> [Float] { (0..<784).map { Float(($0 * 7 + seed * 13) % 256) / 255 } }

func v2Body(_ values: [Float], count: Int = 1, datatype: String = "FP32") -> String {
    #"{"id":"q","inputs":[{"name":"input_layer","shape":[\#(count),28,28,1],"datatype":"\#(datatype)","data":[\#(values.map { "\($0)" }.joined(separator: ","))]}]}"#
}

final class ServerTests: XCTestCase {
    func testHealthMetadataAndErrors() async throws {
        let parts = try makeServer(self)
        try await parts.application.test(.router) { client in
            try await client.execute(uri: "/v2/health/live", method: .get) { XCTAssertEqual($0.status, .ok) }
            try await client.execute(uri: "/v2/health/ready", method: .get) { XCTAssertEqual($0.status, .ok) }
            try await client.execute(uri: "/v2", method: .get) { response in
                XCTAssertEqual(try json(response)["extensions"], .array([.string("binary_tensor_data")]))
            }
            try await client.execute(uri: "/v2/models/digits", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                let metadata = try json(response)
                XCTAssertEqual(metadata["versions"], .array([.string("2"), .string("1")]))
                XCTAssertEqual(metadata["inputs"], .array([.object([("name", .string("input_layer")), ("datatype", .string("FP32")),
                                                                    ("shape", .numbers([-1, 28, 28, 1]))])]))
                XCTAssertEqual(metadata["outputs"], .array([.object([("name", .string("dense_1")), ("datatype", .string("FP32")),
                                                                     ("shape", .numbers([-1, 10]))])]))
            }
            try await client.execute(uri: "/v2/models/digits/versions/1/ready", method: .get) { XCTAssertEqual($0.status, .ok) }
            for (uri, status) in [("/v2/models/nope", HTTPResponse.Status.notFound), ("/v2/models/digits/versions/7", .notFound),
                                  ("/v2/models/digits/versions/x/ready", .notFound), ("/nowhere", .notFound), ("/v1/models/nope", .notFound)] {
                try await client.execute(uri: uri, method: .get) { response in
                    XCTAssertEqual(response.status, status, uri)
                    XCTAssertNotNil(try json(response)["error"], uri)
                }
            }
            try await client.execute(uri: "/v2/models/digits/infer", method: .get) { response in
                XCTAssertEqual(response.status, .methodNotAllowed)
                XCTAssertEqual(response.headers[.allow], "POST")
                XCTAssertNotNil(try json(response)["error"])
            }
            try await client.execute(uri: "/v1/models/digits", method: .get) { response in
                XCTAssertEqual(text(response), #"{"model_version_status":[{"version":"2","state":"AVAILABLE","status":{"error_code":"OK","error_message":""}},{"version":"1","state":"AVAILABLE","status":{"error_code":"OK","error_message":""}}]}"#)
            }
            try await client.execute(uri: "/v1/models/digits/versions/1/metadata", method: .get) { response in
                XCTAssertEqual(try json(response)["model_spec"]?["version"], .string("1"))
            }
            try await client.execute(uri: "/openapi.json", method: .get) { response in
                XCTAssertEqual(try json(response)["openapi"], .string("3.0.3"))
            }
        }
    }

    func testOpenInferenceJSONAndBinary() async throws {
        let parts = try makeServer(self)
        try await parts.application.test(.router) { client in
            let input = digitInput(1)
            let expected: [Float] = try await client.execute(uri: "/v2/models/digits/versions/1/infer", method: .post, body: body(v2Body(input))) { response in
                XCTAssertEqual(response.status, .ok, text(response))
                let answer = try json(response)
                XCTAssertEqual(answer["model_name"], .string("digits"))
                XCTAssertEqual(answer["model_version"], .string("1"))
                XCTAssertEqual(answer["id"], .string("q"))
                guard case let .array(outputs)? = answer["outputs"], case let .numbers(data)? = outputs.first?["data"] else { throw ServingError.badRequest("no data") }
                XCTAssertEqual(outputs.first?["shape"], .numbers([1, 10]))
                XCTAssertEqual(data.reduce(0, +), 1, accuracy: 1e-5)
                return data.map { Float($0) }
            }
            // The same input in binary, answered in binary.
            let header = #"{"inputs":[{"name":"input_layer","shape":[1,28,28,1],"datatype":"FP32","parameters":{"binary_data_size":3136}}],"outputs":[{"name":"dense_1","parameters":{"binary_data":true}}]}"#
            var buffer = ByteBuffer(string: header)
            for v in input { buffer.writeInteger(v.bitPattern, endianness: .little) }
            try await client.execute(uri: "/v2/models/digits/versions/1/infer", method: .post,
                                     headers: [HTTPField.Name("Inference-Header-Content-Length")!: String(header.utf8.count)], body: buffer) { response in
                XCTAssertEqual(response.status, .ok, text(response))
                let length = try XCTUnwrap(response.headers[HTTPField.Name("Inference-Header-Content-Length")!].flatMap { Int($0) })
                var payload = response.body
                payload.moveReaderIndex(forwardBy: length)
                var values: [Float] = []
                while let bits = payload.readInteger(endianness: .little, as: UInt32.self) { values.append(Float(bitPattern: bits)) }
                XCTAssertEqual(values, expected)
            }
            // Errors are 4xx with {"error": …}.
            let bad: [(String, HTTPFields, String, HTTPResponse.Status)] = [
                ("/v2/models/digits/infer", [:], "{", .badRequest),
                ("/v2/models/digits/infer", [:], String(repeating: "[", count: 5000), .badRequest),
                ("/v2/models/digits/infer", [:], v2Body(Array(input.dropLast())), .badRequest),
                ("/v2/models/digits/infer", [:], v2Body(input, datatype: "BOOL"), .badRequest),
                ("/v2/models/digits/infer", [HTTPField.Name("Inference-Header-Content-Length")!: "99999"], v2Body(input), .badRequest),
                ("/v2/models/digits/infer", [HTTPField.Name("Inference-Header-Content-Length")!: "-3"], v2Body(input), .badRequest),
                ("/v2/models/nope/infer", [:], v2Body(input), .notFound),
                ("/v2/models/digits/infer", [:], String(repeating: " ", count: 2 << 20), .contentTooLarge),
            ]
            for (uri, headers, text, status) in bad {
                try await client.execute(uri: uri, method: .post, headers: headers, body: body(text)) { response in
                    XCTAssertEqual(response.status, status, String(text.prefix(80)))
                    XCTAssertNotNil(try json(response)["error"])
                }
            }
        }
    }

    func testTFServingAndImages() async throws {
        let parts = try makeServer(self)
        try await parts.application.test(.router) { client in
            let input = digitInput(2)
            let nested = (0..<28).map { r in "[" + (0..<28).map { c in "[\(input[r * 28 + c])]" }.joined(separator: ",") + "]" }.joined(separator: ",")
            let rows: RequestJSON = try await client.execute(uri: "/v1/models/digits/versions/1:predict", method: .post,
                                                          body: body(#"{"instances":[[\#(nested)],[\#(nested)]]}"#)) { response in
                XCTAssertEqual(response.status, .ok, text(response))
                return try json(response)
            }
            guard case let .array(predictions)? = rows["predictions"] else { return XCTFail("no predictions") }
            XCTAssertEqual(predictions.count, 2)
            XCTAssertEqual(predictions[0], predictions[1])
            try await client.execute(uri: "/v1/models/digits/versions/1:predict", method: .post,
                                     body: body(#"{"inputs":{"input_layer":[[\#(nested)]]}}"#)) { response in
                XCTAssertEqual(try json(response)["outputs"], .array([predictions[0]]))
            }
            for (uri, status) in [("/v1/models/digits:classify", HTTPResponse.Status.badRequest), ("/v1/models/digits:explode", .notFound),
                                  ("/v1/models/nope:predict", .notFound), ("/v1/models/digits/versions/9:predict", .notFound)] {
                try await client.execute(uri: uri, method: .post, body: body(#"{"instances":[]}"#)) { XCTAssertEqual($0.status, status, uri) }
            }

            // Images: the body, a multipart form, b64 in TF Serving's form; labels from labels.txt.
            let png = try Image.testPattern(size: 40).pngData()
            let fromImage: RequestJSON = try await client.execute(uri: "/predictions/digits", method: .post, headers: [.contentType: "image/png"],
                                                               body: ByteBuffer(bytes: png)) { response in
                XCTAssertEqual(response.status, .ok, text(response))
                return try json(response)
            }
            guard case let .object(classes) = fromImage else { return XCTFail("\(fromImage)") }
            XCTAssertEqual(classes.count, 5)
            XCTAssertTrue(classes.allSatisfy { $0.0.hasPrefix("digit-") })
            var form = Array("--b0undary\r\nContent-Disposition: form-data; name=\"data\"; filename=\"x.png\"\r\n\r\n".utf8) + png
            form += Array("\r\n--b0undary--\r\n".utf8)
            try await client.execute(uri: "/predictions/digits/2?topk=5", method: .post, headers: [.contentType: "multipart/form-data; boundary=b0undary"],
                                     body: ByteBuffer(bytes: form)) { response in
                XCTAssertEqual(try json(response), fromImage)
            }
            let b64 = Data(png).base64EncodedString()
            try await client.execute(uri: "/v1/models/digits/versions/2:predict", method: .post, body: body(#"{"instances":[{"b64":"\#(b64)"}]}"#)) { response in
                guard case let .array(rows)? = try json(response)["predictions"], case let .numbers(p)? = rows.first else { return XCTFail(text(response)) }
                let top = p.enumerated().max { $0.element < $1.element }!
                guard case let .number(best) = classes[0].1 else { return XCTFail() }
                XCTAssertEqual(classes[0].0, "digit-\(top.offset)")
                XCTAssertEqual(Float(best), Float(top.element), accuracy: 1e-6)
            }
            for (payload, type, status) in [(Array("not an image".utf8), "image/png", HTTPResponse.Status.unsupportedMediaType),
                                            (Array(png.prefix(50)), "image/png", .badRequest), ([], "image/png", .badRequest),
                                            (form, "multipart/form-data", .badRequest)] {
                try await client.execute(uri: "/predictions/digits", method: .post, headers: [.contentType: type], body: ByteBuffer(bytes: payload)) { response in
                    XCTAssertEqual(response.status, status)
                    XCTAssertNotNil(try json(response)["error"])
                }
            }
            try await client.execute(uri: "/predictions/digits?topk=0", method: .post, body: ByteBuffer(bytes: png)) { XCTAssertEqual($0.status, .badRequest) }

            try await client.execute(uri: "/metrics", method: .get) { response in
                let metrics = text(response)
                for name in ["fovea_requests_total", "fovea_request_duration_seconds_bucket", "fovea_batch_size_bucket", "fovea_queue_depth",
                             "fovea_models_loaded 3", "model=\"digits\""] {
                    XCTAssertTrue(metrics.contains(name), "/metrics lacks \(name)")
                }
            }
        }
    }

    /// A live server on a loopback port: concurrent clients each get their own answer, equal to
    /// the same request asked alone.
    func testLiveServerUnderConcurrentLoad() async throws {
        let parts = try makeServer(self)
        try await parts.application.test(.live) { client in
            XCTAssertNotNil(client.port)
            var alone: [[Float]] = []
            for seed in 0..<8 {
                alone.append(try await client.execute(uri: "/v2/models/digits/infer", method: .post, body: body(v2Body(digitInput(seed)))) { response in
                    guard case let .array(outputs)? = try json(response)["outputs"], case let .numbers(data)? = outputs.first?["data"] else { return [] }
                    return data.map { Float($0) }
                })
            }
            let expected = alone
            try await withThrowingTaskGroup(of: Void.self) { group in
                for r in 0..<64 {
                    group.addTask {
                        let seed = r % 8
                        let malformed = r % 5 == 4
                        try await client.execute(uri: "/v2/models/digits/infer", method: .post,
                                                 body: body(malformed ? String(v2Body(digitInput(seed)).dropLast(3)) : v2Body(digitInput(seed)))) { response in
                            if malformed { return XCTAssertEqual(response.status, .badRequest) }
                            XCTAssertEqual(response.status, .ok)
                            guard case let .array(outputs)? = try json(response)["outputs"], case let .numbers(data)? = outputs.first?["data"] else { return XCTFail() }
                            XCTAssertEqual(data.map { Float($0) }, expected[seed], "request \(r)")
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }
}
