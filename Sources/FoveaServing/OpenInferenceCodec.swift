import Foundation

/// A decoded Open Inference Protocol (KServe v2) inference request.
public struct OpenInferenceRequest: Sendable, Equatable {
    public var id: String?
    public var batch: InferenceBatch
    /// Whether the model's output goes back in binary (the binary tensor data extension): the
    /// output's `binary_data` parameter, else the request's `binary_data_output`, else false.
    public var binaryOutput: Bool

    public init(id: String?, batch: InferenceBatch, binaryOutput: Bool) { self.id = id; self.batch = batch; self.binaryOutput = binaryOutput }
}

/// The Open Inference Protocol's REST encoding (KServe v2 / Triton), with its binary tensor data
/// extension: decoding requests (checked against the model before anything large is allocated)
/// and encoding responses, metadata and errors.
public enum OpenInferenceCodec {
    /// Decodes an inference request body. `headerLength` is the `Inference-Header-Content-Length`
    /// header: the JSON part's length when the body also carries binary tensor data.
    public static func decodeRequest(_ body: UnsafeRawBufferPointer, headerLength: Int?,
                                     signature: TensorSignature) throws(ServingError) -> OpenInferenceRequest {
        let jsonLength: Int
        if let headerLength {
            guard headerLength >= 0, headerLength <= body.count else {
                throw .badRequest("Inference-Header-Content-Length is \(headerLength) but the body has \(body.count) bytes")
            }
            jsonLength = headerLength
        } else {
            jsonLength = body.count
        }
        let json: RequestJSON
        do {
            json = try JSONReader.parse(UnsafeRawBufferPointer(rebasing: body[0..<jsonLength]))
        } catch {
            throw .badRequest("the request is not valid JSON: \(error)")
        }
        let binary = UnsafeRawBufferPointer(rebasing: body[jsonLength...])
        return try decodeRequest(json, binary: binary, hasBinaryHeader: headerLength != nil, signature: signature)
    }

    public static func decodeRequest(_ body: [UInt8], headerLength: Int?, signature: TensorSignature) throws(ServingError) -> OpenInferenceRequest {
        do {
            return try body.withUnsafeBytes { buffer in try decodeRequest(buffer, headerLength: headerLength, signature: signature) }
        } catch let error as ServingError {
            throw error
        } catch {
            throw .badRequest("\(error)")
        }
    }

    static func decodeRequest(_ json: RequestJSON, binary: UnsafeRawBufferPointer, hasBinaryHeader: Bool,
                              signature: TensorSignature) throws(ServingError) -> OpenInferenceRequest {
        guard case .object = json else { throw .badRequest("the request must be a JSON object with 'inputs', got \(json.kindName)") }
        var id: String?
        switch json["id"] {
        case nil, .null?: id = nil
        case let .string(s)?: id = s
        case let other?: throw .badRequest("'id' must be a string, got \(other.kindName)")
        }
        var binaryOutput = false
        if let parameters = json["parameters"] {
            guard case .object = parameters else { throw .badRequest("'parameters' must be an object") }
            binaryOutput = try flag(parameters["binary_data_output"], "parameters.binary_data_output") ?? false
        }
        guard let inputs = json["inputs"] else { throw .badRequest("the request has no 'inputs'") }
        guard case let .array(list) = inputs, !list.isEmpty else {
            throw .badRequest("'inputs' must be a non-empty array of input tensors (objects)")
        }
        guard list.count == 1 else {
            throw .badRequest("the model takes one input ('\(signature.inputName)'); the request has \(list.count)")
        }
        let input = list[0]
        guard case .object = input else { throw .badRequest("each input must be an object, got \(input.kindName)") }
        guard case let .string(name)? = input["name"] else { throw .badRequest("the input has no 'name' (a string)") }
        guard name == signature.inputName else {
            throw .badRequest("the model has no input '\(name)'; its input is '\(signature.inputName)'")
        }
        guard let shapeValue = input["shape"] else { throw .badRequest("input '\(name)' has no 'shape'") }
        let shape = try shapeValue.shape("input '\(name)'")
        guard case let .string(typeName)? = input["datatype"] else { throw .badRequest("input '\(name)' has no 'datatype' (a string such as FP32)") }
        let datatype = try TensorDatatype.parse(typeName, input: name)
        let count = try signature.batchCount(forShape: shape, input: name)
        let elements = count * signature.inputCount

        var binarySize: Int?
        if let parameters = input["parameters"] {
            guard case .object = parameters else { throw .badRequest("input '\(name)': 'parameters' must be an object") }
            if let size = parameters["binary_data_size"] {
                guard case let .number(v) = size, v == v.rounded(), v >= 0, v <= 1e12 else {
                    throw .badRequest("input '\(name)': binary_data_size must be a whole number of bytes")
                }
                binarySize = Int(v)
            }
        }
        let values: [Float]
        if let binarySize {
            guard hasBinaryHeader else {
                throw .badRequest("input '\(name)' has binary_data_size but the request has no Inference-Header-Content-Length header")
            }
            guard input["data"] == nil else { throw .badRequest("input '\(name)' has both 'data' and binary_data_size") }
            let expected = elements * datatype.byteSize
            guard binarySize == expected else {
                throw .badRequest("input '\(name)': binary_data_size is \(binarySize) bytes; \(shape) of \(datatype.rawValue) is \(expected)")
            }
            guard binary.count == binarySize else {
                throw .badRequest("input '\(name)': the binary data after the JSON header is \(binary.count) bytes; binary_data_size says \(binarySize)")
            }
            values = try datatype.decodeBinary(binary, count: elements, input: name)
        } else {
            guard binary.isEmpty else {
                throw .badRequest("\(binary.count) bytes follow the JSON header but no input has binary_data_size")
            }
            guard let data = input["data"] else { throw .badRequest("input '\(name)' has no 'data' (or binary_data_size)") }
            values = try data.tensorValues(count: elements, shape: shape, datatype: datatype, input: name)
        }

        if let outputs = json["outputs"], outputs != .numbers([]) {
            // The model has one output, so a list naming it (or none: every output) asks for it.
            guard case let .array(requested) = outputs else {
                throw .badRequest("'outputs' must be an array of objects with a 'name'")
            }
            for output in requested {
                guard case .object = output, case let .string(outName)? = output["name"] else {
                    throw .badRequest("each requested output must be an object with a 'name' (a string)")
                }
                guard outName == signature.outputName else {
                    throw .badRequest("the model has no output '\(outName)'; its output is '\(signature.outputName)'")
                }
                if let parameters = output["parameters"] {
                    guard case .object = parameters else { throw .badRequest("output '\(outName)': 'parameters' must be an object") }
                    if let flag = try flag(parameters["binary_data"], "output '\(outName)': binary_data") { binaryOutput = flag }
                }
            }
        }
        return OpenInferenceRequest(id: id, batch: InferenceBatch(count: count, values: values), binaryOutput: binaryOutput)
    }

    static func flag(_ value: RequestJSON?, _ what: String) throws(ServingError) -> Bool? {
        switch value {
        case nil: return nil
        case let .bool(b)?: return b
        case let other?: throw .badRequest("\(what) must be true or false, got \(other.kindName)")
        }
    }

    /// The response body for `outputs` (`count × outputCount` floats), and the JSON header's length
    /// when the output is binary (the `Inference-Header-Content-Length` header; nil for plain JSON).
    public static func encodeResponse(modelName: String, version: Int, request: OpenInferenceRequest, outputs: [Float],
                                      signature: TensorSignature) -> (body: [UInt8], headerLength: Int?) {
        let count = request.batch.count
        var w = JSONWriter(capacity: 128 + outputs.count * 12)
        w.raw("{\"model_name\":"); w.string(modelName)
        w.raw(",\"model_version\":"); w.string(String(version))
        if let id = request.id { w.raw(",\"id\":"); w.string(id) }
        w.raw(",\"outputs\":[{\"name\":"); w.string(signature.outputName)
        w.raw(",\"datatype\":\"FP32\",\"shape\":[")
        w.int(count)
        for axis in signature.outputShape { w.comma(); w.int(axis) }
        w.raw("]")
        if request.binaryOutput {
            w.raw(",\"parameters\":{\"binary_data_size\":"); w.int(outputs.count * 4); w.raw("}}]}")
            let headerLength = w.bytes.count
            var body = w.bytes
            body.reserveCapacity(headerLength + outputs.count * 4)
            for v in outputs { withUnsafeBytes(of: v.bitPattern.littleEndian) { body.append(contentsOf: $0) } }
            return (body, headerLength)
        }
        w.raw(",\"data\":")
        w.floats(outputs[...], shape: nil)
        w.raw("}]}")
        return (w.bytes, nil)
    }

    /// `{"error": "…"}`.
    public static func encodeError(_ message: String) -> [UInt8] {
        var w = JSONWriter()
        w.raw("{\"error\":"); w.string(message); w.raw("}")
        return w.bytes
    }

    /// Model metadata: name, versions, platform, inputs and outputs with -1 for the batch axis.
    public static func encodeMetadata(name: String, versions: [Int], signature: TensorSignature) -> [UInt8] {
        var w = JSONWriter()
        w.raw("{\"name\":"); w.string(name)
        w.raw(",\"versions\":[")
        for (i, v) in versions.enumerated() { if i > 0 { w.comma() }; w.string(String(v)) }
        w.raw("],\"platform\":\"fovea\",\"inputs\":[{\"name\":"); w.string(signature.inputName)
        w.raw(",\"datatype\":\"FP32\",\"shape\":[-1")
        for axis in signature.inputShape { w.comma(); w.int(axis) }
        w.raw("]}],\"outputs\":[{\"name\":"); w.string(signature.outputName)
        w.raw(",\"datatype\":\"FP32\",\"shape\":[-1")
        for axis in signature.outputShape { w.comma(); w.int(axis) }
        w.raw("]}]}")
        return w.bytes
    }

    /// Server metadata (`GET /v2`).
    public static func encodeServerMetadata(version: String) -> [UInt8] {
        var w = JSONWriter()
        w.raw("{\"name\":\"fovea\",\"version\":"); w.string(version)
        w.raw(",\"extensions\":[\"binary_tensor_data\"]}")
        return w.bytes
    }
}
