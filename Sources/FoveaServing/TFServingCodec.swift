import Fovea
import Foundation

/// A decoded TF Serving `:predict` request.
public struct TFServingRequest: Sendable, Equatable {
    /// `instances` (row form, answered with `predictions`) or `inputs` (columnar, answered with `outputs`).
    public enum Format: Sendable, Equatable { case rows, columns }
    public var format: Format
    public var batch: InferenceBatch

    public init(format: Format, batch: InferenceBatch) { self.format = format; self.batch = batch }
}

/// TF Serving's REST API (`api_rest.md`): `:predict` requests in row (`instances`) or columnar
/// (`inputs`) form, `{"b64": …}` bytes (here: a PNG or JPEG image, prepared as `fovea predict`
/// prepares one), model status and metadata, and `{"error": …}` bodies.
public enum TFServingCodec {
    public static func decodePredict(_ body: [UInt8], signature: TensorSignature,
                                     imagePreparation: ImagePreparation = ImagePreparation()) throws(ServingError) -> TFServingRequest {
        let json: RequestJSON
        do {
            json = try JSONReader.parse(body)
        } catch {
            throw .badRequest("the request is not valid JSON: \(error)")
        }
        guard case .object = json else { throw .badRequest("the request must be a JSON object with 'instances' or 'inputs', got \(json.kindName)") }
        switch json["signature_name"] {
        case nil, .string("serving_default")?: break
        case let .string(other)?: throw .badRequest("the model has no signature '\(other)'; its only signature is 'serving_default'")
        case let other?: throw .badRequest("'signature_name' must be a string, got \(other.kindName)")
        }
        let instances = json["instances"], inputs = json["inputs"]
        if instances != nil && inputs != nil { throw .badRequest("a request has 'instances' or 'inputs', not both") }
        if let instances {
            guard let count = instances.arrayCount else { throw .badRequest("'instances' must be an array (one element per sample)") }
            try checkCount(count, signature)
            var values: [Float] = []
            values.reserveCapacity(count * signature.inputCount)
            try forEachElement(instances) { (instance) throws(ServingError) in
                values += try sample(instance, signature: signature, allowNamed: true, preparation: imagePreparation)
            }
            return TFServingRequest(format: .rows, batch: InferenceBatch(count: count, values: values))
        }
        guard var columns = inputs else { throw .badRequest("the request has neither 'instances' nor 'inputs'") }
        if case let .object(members) = columns {
            guard members.count == 1, members[0].0 == signature.inputName else {
                throw .badRequest("'inputs' names \(members.map { "'\($0.0)'" }.joined(separator: ", ")); the model's one input is '\(signature.inputName)'")
            }
            columns = members[0].1
        }
        guard let count = columns.arrayCount else { throw .badRequest("'inputs' must be an array with the batch first") }
        try checkCount(count, signature)
        var values: [Float] = []
        values.reserveCapacity(count * signature.inputCount)
        try forEachElement(columns) { (element) throws(ServingError) in
            values += try sample(element, signature: signature, allowNamed: false, preparation: imagePreparation)
        }
        return TFServingRequest(format: .columns, batch: InferenceBatch(count: count, values: values))
    }

    static func checkCount(_ count: Int, _ signature: TensorSignature) throws(ServingError) {
        guard count >= 1, count <= signature.maxRequestBatch else {
            throw .badRequest("\(count) samples; a request carries 1 to \(signature.maxRequestBatch)")
        }
    }

    static func forEachElement(_ array: RequestJSON, _ body: (RequestJSON) throws(ServingError) -> Void) throws(ServingError) {
        switch array {
        case let .numbers(values): for v in values { try body(.number(v)) }
        case let .array(values): for v in values { try body(v) }
        default: break
        }
    }

    /// One sample's floats: an array shaped as the input (or flat), `{"b64": image}`, or (rows
    /// only) an object naming the input.
    static func sample(_ value: RequestJSON, signature: TensorSignature, allowNamed: Bool,
                       preparation: ImagePreparation) throws(ServingError) -> [Float] {
        let name = signature.inputName
        if case let .object(members) = value {
            if members.count == 1, members[0].0 == "b64" {
                guard case let .string(text) = members[0].1, let data = Data(base64Encoded: text) else {
                    throw .badRequest("input '\(name)': 'b64' must be a base64 string")
                }
                return try ImageRequestDecoder.prepare([UInt8](data), inputShape: signature.inputShape, preparation: preparation)
            }
            guard allowNamed else { throw .badRequest("input '\(name)': each element must be an array of numbers or {\"b64\": …}") }
            guard members.count == 1, members[0].0 == name else {
                throw .badRequest("an instance names \(members.map { "'\($0.0)'" }.joined(separator: ", ")); the model's one input is '\(name)'")
            }
            return try sample(members[0].1, signature: signature, allowNamed: false, preparation: preparation)
        }
        guard value.arrayCount != nil else {
            throw .badRequest("input '\(name)': a sample must be an array of shape \(signature.inputShape), got \(value.kindName)")
        }
        return try value.tensorValues(count: signature.inputCount, shape: signature.inputShape, datatype: .fp32, input: name)
    }

    /// `{"predictions": […]}` (rows) or `{"outputs": […]}` (columns), each sample's output nested
    /// as the model's output shape.
    public static func encodePredict(_ request: TFServingRequest, outputs: [Float], signature: TensorSignature) -> [UInt8] {
        var w = JSONWriter(capacity: 32 + outputs.count * 12)
        w.raw(request.format == .rows ? "{\"predictions\":" : "{\"outputs\":")
        w.floats(outputs[...], shape: ([request.batch.count] + signature.outputShape)[...])
        w.raw("}")
        return w.bytes
    }

    /// `GET /v1/models/{m}[/versions/{v}]`.
    public static func encodeStatus(_ statuses: [VersionStatus]) -> [UInt8] {
        var w = JSONWriter()
        w.raw("{\"model_version_status\":[")
        for (i, s) in statuses.enumerated() {
            if i > 0 { w.comma() }
            w.raw("{\"version\":"); w.string(String(s.version))
            w.raw(",\"state\":"); w.string(s.state.rawValue)
            w.raw(",\"status\":{\"error_code\":"); w.string(s.error == nil ? "OK" : "UNKNOWN")
            w.raw(",\"error_message\":"); w.string(s.error ?? ""); w.raw("}}")
        }
        w.raw("]}")
        return w.bytes
    }

    /// `GET /v1/models/{m}[/versions/{v}]/metadata`: the `serving_default` signature.
    public static func encodeMetadata(name: String, version: Int, signature: TensorSignature) -> [UInt8] {
        func tensor(_ w: inout JSONWriter, _ tensorName: String, _ shape: [Int]) {
            w.key(tensorName)
            w.raw("{\"dtype\":\"DT_FLOAT\",\"tensor_shape\":{\"dim\":[{\"size\":\"-1\",\"name\":\"\"}")
            for axis in shape { w.raw(",{\"size\":"); w.string(String(axis)); w.raw(",\"name\":\"\"}") }
            w.raw("],\"unknown_rank\":false},\"name\":"); w.string(tensorName + ":0"); w.raw("}")
        }
        var w = JSONWriter()
        w.raw("{\"model_spec\":{\"name\":"); w.string(name)
        w.raw(",\"signature_name\":\"\",\"version\":"); w.string(String(version))
        w.raw("},\"metadata\":{\"signature_def\":{\"signature_def\":{\"serving_default\":{\"inputs\":{")
        tensor(&w, signature.inputName, signature.inputShape)
        w.raw("},\"outputs\":{")
        tensor(&w, signature.outputName, signature.outputShape)
        w.raw("},\"method_name\":\"tensorflow/serving/predict\"}}}}}")
        return w.bytes
    }
}
