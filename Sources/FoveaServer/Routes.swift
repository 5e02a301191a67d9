import Foundation
import Fovea
import FoveaServing
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Prometheus

/// The routes: thin handlers that read the body, ask ``ModelRepository`` for the model, call a
/// codec of FoveaServing, and write what it returns.
struct Routes: Sendable {
    let options: ServerOptions
    let repository: ModelRepository
    let registry: PrometheusCollectorRegistry
    let logger: Logger

    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    static let methods: [HTTPRequest.Method] = [.get, .post, .put, .delete, .patch, .options, .head, .trace, .connect,
                                                HTTPRequest.Method("QUERY")!]

    /// Registers `handlers` for `path`, and 405 with `Allow` for every other method.
    func route(_ router: Router<BasicRequestContext>, _ path: String, _ handlers: [HTTPRequest.Method: Handler]) {
        let allow = Self.methods.filter { handlers[$0] != nil }.map(\.rawValue).joined(separator: ", ")
        for method in Self.methods {
            if let handler = handlers[method] {
                router.on(RouterPath(path), method: method, use: handler)
            } else {
                router.on(RouterPath(path), method: method) { request, _ in
                    var response = Self.error(ServingError(.badRequest, "\(request.method.rawValue) is not allowed on \(request.uri.path); use \(allow)"),
                                              status: .methodNotAllowed)
                    response.headers[.allow] = allow
                    return response
                }
            }
        }
    }

    func register(on router: Router<BasicRequestContext>) {
        // Open Inference Protocol (KServe v2).
        route(router, "/v2/health/live", [.get: { _, _ in Response(status: .ok) }])
        route(router, "/v2/health/ready", [.get: { _, _ in
            repository.isReady ? Response(status: .ok) : Self.error(ServingError(.badRequest, "the models are still loading"))
        }])
        route(router, "/v2", [.get: { _, _ in Self.json(OpenInferenceCodec.encodeServerMetadata(version: FoveaServer.version)) }])
        for versioned in [false, true] {
            let base = versioned ? "/v2/models/{model}/versions/{version}" : "/v2/models/{model}"
            route(router, base, [.get: { _, context in
                try Self.answer { () throws(ServingError) in
                    let model = try resolve(context, versioned)
                    return Self.json(OpenInferenceCodec.encodeMetadata(name: model.name, versions: versioned ? [model.version] : repository.availableVersions(of: model.name),
                                                                       signature: model.signature))
                }
            }])
            route(router, base + "/ready", [.get: { _, context in
                try Self.answer { () throws(ServingError) in
                    _ = try resolve(context, versioned)
                    return Response(status: .ok)
                }
            }])
            route(router, base + "/infer", [.post: { request, context in try await v2Infer(request, context, versioned) }])
        }

        // TF Serving REST API.
        route(router, "/v1/models/{model}", [
            .get: { _, context in try v1Status(context, versioned: false) },
            .post: { request, context in try await v1Verb(request, context, versioned: false) },
        ])
        route(router, "/v1/models/{model}/versions/{version}", [
            .get: { _, context in try v1Status(context, versioned: true) },
            .post: { request, context in try await v1Verb(request, context, versioned: true) },
        ])
        for versioned in [false, true] {
            let base = versioned ? "/v1/models/{model}/versions/{version}" : "/v1/models/{model}"
            route(router, base + "/metadata", [.get: { _, context in
                try Self.answer { () throws(ServingError) in
                    let model = try resolve(context, versioned)
                    return Self.json(TFServingCodec.encodeMetadata(name: model.name, version: model.version, signature: model.signature))
                }
            }])
        }

        // TorchServe-style raw images.
        route(router, "/predictions/{model}", [.post: { request, context in try await imagePredict(request, context, versioned: false) }])
        route(router, "/predictions/{model}/{version}", [.post: { request, context in try await imagePredict(request, context, versioned: true) }])
        route(router, "/ping", [.get: { _, _ in
            repository.isReady ? Self.json(Array(#"{"status":"Healthy"}"#.utf8)) : Self.json(Array(#"{"status":"Unhealthy"}"#.utf8), status: .serviceUnavailable)
        }])

        // Operations.
        route(router, "/metrics", [.get: { _, _ in
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: buffer)))
        }])
        route(router, "/openapi.json", [.get: { _, _ in Self.json(OpenAPIDocument.bytes) }])
    }

    // MARK: Handlers

    func v2Infer(_ request: Request, _ context: BasicRequestContext, _ versioned: Bool) async throws -> Response {
        try await Self.answer { () async throws(ServingError) in
            let model = try resolve(context, versioned)
            var headerLength: Int?
            if let header = request.headers[HTTPField.Name("Inference-Header-Content-Length")!] {
                guard let length = Int(header.trimmingCharacters(in: .whitespaces)), length >= 0 else {
                    throw .badRequest("Inference-Header-Content-Length must be a whole number of bytes (got '\(header)')")
                }
                headerLength = length
            }
            let body = try await readBody(request)
            let decoded = try body.withUnsafeReadableBytes { (bytes) throws(ServingError) in
                try OpenInferenceCodec.decodeRequest(bytes, headerLength: headerLength, signature: model.signature)
            }
            let outputs = try await model.infer(decoded.batch)
            let (bytes, jsonLength) = OpenInferenceCodec.encodeResponse(modelName: model.name, version: model.version, request: decoded,
                                                                        outputs: outputs, signature: model.signature)
            guard let jsonLength else { return Self.json(bytes) }
            return Response(status: .ok,
                            headers: [.contentType: "application/octet-stream",
                                      HTTPField.Name("Inference-Header-Content-Length")!: String(jsonLength)],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }

    func v1Status(_ context: BasicRequestContext, versioned: Bool) throws -> Response {
        try Self.answer { () throws(ServingError) in
            let name = try parameter(context, "model")
            guard let statuses = repository.status(of: name) else { throw .notFound("no model named '\(name)'") }
            guard versioned else { return Self.json(TFServingCodec.encodeStatus(statuses)) }
            let text = try parameter(context, "version")
            guard let version = Int(text), let status = statuses.first(where: { $0.version == version }) else {
                throw .notFound("model '\(name)' has no version \(text)")
            }
            return Self.json(TFServingCodec.encodeStatus([status]))
        }
    }

    func v1Verb(_ request: Request, _ context: BasicRequestContext, versioned: Bool) async throws -> Response {
        try await Self.answer { () async throws(ServingError) in
            let last = try parameter(context, versioned ? "version" : "model")
            guard let colon = last.lastIndex(of: ":") else {
                throw .badRequest("POST needs a verb: \(request.uri.path):predict")
            }
            let verb = String(last[last.index(after: colon)...])
            let name = versioned ? try parameter(context, "model") : String(last[..<colon])
            var version: Int?
            if versioned {
                let text = String(last[..<colon])
                guard let v = Int(text) else { throw .notFound("model '\(name)' has no version '\(text)'") }
                version = v
            }
            let model = try repository.resolve(name, version: version)
            switch verb {
            case "predict": break
            case "classify", "regress":
                throw .badRequest("model '\(name)' has no \(verb) signature; use :predict")
            default:
                throw .notFound("unknown verb ':\(verb)'; TF Serving's are :predict, :classify and :regress")
            }
            let body = try await readBody(request)
            let decoded = try TFServingCodec.decodePredict(Array(buffer: body), signature: model.signature)
            let outputs = try await model.infer(decoded.batch)
            return Self.json(TFServingCodec.encodePredict(decoded, outputs: outputs, signature: model.signature))
        }
    }

    func imagePredict(_ request: Request, _ context: BasicRequestContext, versioned: Bool) async throws -> Response {
        try await Self.answer { () async throws(ServingError) in
            let model = try resolve(context, versioned)
            let query = request.uri.queryParameters
            var k = 5
            if let text = query["topk"].map(String.init) {
                guard let value = Int(text), (1...1000).contains(value) else { throw .badRequest("topk must be a whole number in 1...1000 (got '\(text)')") }
                k = value
            }
            var preparation = ImagePreparation()
            if let text = query["invert"].map(String.init) {
                guard let flag = Bool(text) else { throw .badRequest("invert must be true or false (got '\(text)')") }
                preparation.invert = flag
            }
            let body = try await readBody(request)
            let bytes = try ImageRequestDecoder.imageBytes(body: Array(buffer: body), contentType: request.headers[.contentType])
            let input = try ImageRequestDecoder.prepare(bytes, inputShape: model.signature.inputShape, preparation: preparation,
                                                        maximumPixels: options.maxImagePixels)
            let output = try await model.infer(InferenceBatch(count: 1, values: input))
            let classes = try ImageRequestDecoder.topClasses(output, k: k, classNames: model.classNames)
            return Self.json(ImageRequestDecoder.encodeTopClasses(classes))
        }
    }

    // MARK: Helpers

    func parameter(_ context: BasicRequestContext, _ name: String) throws(ServingError) -> String {
        guard let raw = context.parameters.get(name) else { throw .badRequest("missing \(name) in the path") }
        // Path segments arrive as sent: "seed%3Apredict" is "seed:predict".
        guard let value = raw.removingPercentEncoding else { throw .badRequest("'\(raw)' in the path is not valid percent-encoding") }
        return value
    }

    /// The model the path names (and its version, when `versioned`).
    func resolve(_ context: BasicRequestContext, _ versioned: Bool) throws(ServingError) -> ModelVersion {
        let name = try parameter(context, "model")
        guard versioned else { return try repository.resolve(name, version: nil) }
        let text = try parameter(context, "version")
        guard let version = Int(text), version >= 0 else { throw .notFound("model '\(name)' has no version '\(text)'") }
        return try repository.resolve(name, version: version)
    }

    /// The whole body, refused (413) beyond the limit before it is read when Content-Length says so.
    func readBody(_ request: Request) async throws(ServingError) -> ByteBuffer {
        let limit = options.maxBodyBytes
        if let text = request.headers[.contentLength], let length = Int(text), length > limit {
            throw ServingError(.payloadTooLarge, "the body is \(length) bytes; the limit is \(limit)")
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw ServingError(.payloadTooLarge, "the body is larger than the limit of \(limit) bytes")
        } catch {
            throw .badRequest("the body could not be read: \(error)")
        }
    }

    static func answer(_ body: () throws(ServingError) -> Response) throws -> Response {
        do { return try body() } catch { return Self.error(error) }
    }

    static func answer(_ body: () async throws(ServingError) -> Response) async throws -> Response {
        do { return try await body() } catch { return Self.error(error) }
    }

    static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// `{"error": "…"}` with the error's status (and Retry-After for 503s).
    static func error(_ error: ServingError, status: HTTPResponse.Status? = nil) -> Response {
        var response = json(OpenInferenceCodec.encodeError(error.message), status: status ?? HTTPResponse.Status(code: error.status))
        if let seconds = error.retryAfterSeconds { response.headers[.retryAfter] = String(seconds) }
        return response
    }
}
