import Foundation

/// The tensor datatypes the server reads (Open Inference Protocol names). Values of every type
/// become Float32 for the model; outputs are always FP32.
public enum TensorDatatype: String, Sendable, CaseIterable {
    case fp32 = "FP32", fp64 = "FP64", uint8 = "UINT8", int32 = "INT32", int64 = "INT64"

    /// Bytes per element in the binary tensor data extension.
    public var byteSize: Int {
        switch self {
        case .uint8: return 1
        case .fp32, .int32: return 4
        case .fp64, .int64: return 8
        }
    }

    /// Reads `name` (as the protocol spells it); a clear error for others.
    public static func parse(_ name: String, input: String) throws(ServingError) -> TensorDatatype {
        guard let type = TensorDatatype(rawValue: name) else {
            throw .badRequest("input '\(input)': datatype '\(name)' is not supported; use one of \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return type
    }

    /// `value` as this type's element converted to Float32, or an error naming the problem: NaN and
    /// infinities, integers that are not whole or out of the type's range, FP32 values beyond
    /// Float32's range.
    @inline(__always)
    public func convert(_ value: Double, input: String) throws(ServingError) -> Float {
        switch self {
        case .fp32:
            guard value.isFinite, Swift.abs(value) <= Double(Float.greatestFiniteMagnitude) else { throw outOfRange(value, input) }
        case .fp64:
            guard value.isFinite, Swift.abs(value) <= Double(Float.greatestFiniteMagnitude) else { throw outOfRange(value, input) }
        case .uint8:
            guard value >= 0, value <= 255, value.rounded(.towardZero) == value else { throw outOfRange(value, input) }
        case .int32:
            guard value >= -2_147_483_648, value <= 2_147_483_647, value.rounded(.towardZero) == value else { throw outOfRange(value, input) }
        case .int64:
            guard value >= -9.223372036854775808e18, value < 9.223372036854775808e18, value.rounded(.towardZero) == value else { throw outOfRange(value, input) }
        }
        return Float(value)
    }

    func outOfRange(_ value: Double, _ input: String) -> ServingError {
        let what: String
        switch self {
        case .fp32: what = "a finite number within Float32's range (±3.4e38)"
        case .fp64: what = "a finite number (the model computes in Float32, ±3.4e38)"
        case .uint8: what = "a whole number in 0...255"
        case .int32: what = "a whole number in Int32's range"
        case .int64: what = "a whole number in Int64's range"
        }
        return .badRequest("input '\(input)': \(value) is not a valid \(rawValue) value; \(self) data must be \(what)")
    }

    /// Decodes `count` little-endian elements from `bytes` as Float32 values, rejecting NaN,
    /// infinities and values beyond Float32's range.
    public func decodeBinary(_ bytes: UnsafeRawBufferPointer, count: Int, input: String) throws(ServingError) -> [Float] {
        precondition(bytes.count == count * byteSize)
        var out = [Float](repeating: 0, count: count)
        switch self {
        case .fp32:
            for i in 0..<count {
                let v = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                guard v.isFinite else { throw .badRequest("input '\(input)': element \(i) of the binary FP32 data is \(v); values must be finite") }
                out[i] = v
            }
        case .fp64:
            for i in 0..<count {
                let v = Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
                out[i] = try convert(v, input: input)
            }
        case .uint8:
            for i in 0..<count { out[i] = Float(bytes[i]) }
        case .int32:
            for i in 0..<count { out[i] = Float(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
        case .int64:
            for i in 0..<count { out[i] = Float(Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
        }
        return out
    }
}

/// What a model takes and gives, as the codecs need it (no Fovea types).
public struct TensorSignature: Sendable, Equatable {
    public var inputName: String
    /// Without the batch axis.
    public var inputShape: [Int]
    public var outputName: String
    public var outputShape: [Int]
    /// Most samples one request may carry.
    public var maxRequestBatch: Int

    public init(inputName: String, inputShape: [Int], outputName: String, outputShape: [Int], maxRequestBatch: Int = 1024) {
        self.inputName = inputName; self.inputShape = inputShape; self.outputName = outputName
        self.outputShape = outputShape; self.maxRequestBatch = maxRequestBatch
    }

    public var inputCount: Int { inputShape.reduce(1, *) }
    public var outputCount: Int { outputShape.reduce(1, *) }

    /// The number of samples a request shape stands for, checked against the model before anything
    /// is allocated: the right rank, each axis after the batch the model's, a batch of
    /// 1...maxRequestBatch. Any negative, zero or absurd axis is an error.
    public func batchCount(forShape shape: [Int], input: String) throws(ServingError) -> Int {
        let expected = "[-1, " + inputShape.map(String.init).joined(separator: ", ") + "]"
        guard shape.count == inputShape.count + 1, Array(shape.dropFirst()) == inputShape else {
            throw .badRequest("input '\(input)': shape \(shape) does not match the model's input \(expected) (batch first)")
        }
        guard shape[0] >= 1, shape[0] <= maxRequestBatch else {
            throw .badRequest("input '\(input)': a batch of \(shape[0]) samples; a request carries 1 to \(maxRequestBatch)")
        }
        return shape[0]
    }
}

/// One decoded request: `count` samples laid end to end.
public struct InferenceBatch: Sendable, Equatable {
    public var count: Int
    public var values: [Float]
    public init(count: Int, values: [Float]) { self.count = count; self.values = values }
}

extension RequestJSON {
    /// The integer a shape axis holds; rejects fractions, negatives and absurd sizes.
    func shapeAxis(_ what: String) throws(ServingError) -> Int {
        guard case let .number(v) = self else { throw .badRequest("\(what): a shape axis must be an integer, got \(kindName)") }
        guard v == v.rounded(), v >= 0, v <= 1e9 else { throw .badRequest("\(what): shape axis \(v) is not a size (a whole number from 0)") }
        return Int(v)
    }

    /// An array of shape axes.
    func shape(_ what: String) throws(ServingError) -> [Int] {
        switch self {
        case let .numbers(values):
            guard values.count <= 16 else { throw .badRequest("\(what): a shape of \(values.count) axes; at most 16") }
            var out: [Int] = []
            for v in values { out.append(try RequestJSON.number(v).shapeAxis(what)) }
            return out
        default:
            throw .badRequest("\(what): 'shape' must be an array of integers, got \(kindName)")
        }
    }

    /// The numbers of a (flat or nested) data array, converted with `datatype`, checked to hold
    /// exactly `count` values and, when nested, to nest as `shape` does. Counts are compared before
    /// anything is copied.
    func tensorValues(count: Int, shape: [Int], datatype: TensorDatatype, input: String) throws(ServingError) -> [Float] {
        var leafCount = 0
        try countLeaves(&leafCount, shape: shape[...], nested: false, input: input)
        guard leafCount == count else {
            throw .badRequest("input '\(input)': \(leafCount) values for shape \(shape), which holds \(count)")
        }
        var out: [Float] = []
        out.reserveCapacity(count)
        try appendLeaves(to: &out, datatype: datatype, input: input)
        return out
    }

    /// Counts the numbers, checking that a nested array nests as `shape`; a flat array of numbers
    /// is accepted at any level (flat data).
    private func countLeaves(_ count: inout Int, shape: ArraySlice<Int>, nested: Bool, input: String) throws(ServingError) {
        switch self {
        case let .numbers(values):
            if nested, values.count != shape.reduce(1, *) {
                throw .badRequest("input '\(input)': the nested data does not match the shape (an array of \(values.count) numbers where the shape says \(Array(shape)))")
            }
            count += values.count
        case let .array(values):
            if let odd = values.first(where: { $0.arrayCount == nil }) {
                if case .number = odd {
                    throw .badRequest("input '\(input)': data mixes numbers and arrays")
                }
                throw .badRequest("input '\(input)': tensor data must be numbers, got \(odd.kindName)")
            }
            guard let axis = shape.first, values.count == axis else {
                throw .badRequest("input '\(input)': the nested data does not match the shape (an array of \(values.count) where the shape says \(shape.first.map(String.init) ?? "a number"))")
            }
            for v in values {
                guard v.arrayCount != nil else { throw .badRequest("input '\(input)': data mixes numbers and arrays, or holds \(v.kindName)") }
                try v.countLeaves(&count, shape: shape.dropFirst(), nested: true, input: input)
            }
        case .number:
            count += 1
        default:
            throw .badRequest("input '\(input)': tensor data must be numbers, got \(kindName)")
        }
    }

    private func appendLeaves(to out: inout [Float], datatype: TensorDatatype, input: String) throws(ServingError) {
        switch self {
        case let .numbers(values):
            if datatype == .fp32 {
                for v in values {
                    guard v.isFinite, Swift.abs(v) <= Double(Float.greatestFiniteMagnitude) else { throw datatype.outOfRange(v, input) }
                    out.append(Float(v))
                }
            } else {
                for v in values { out.append(try datatype.convert(v, input: input)) }
            }
        case let .array(values):
            for v in values { try v.appendLeaves(to: &out, datatype: datatype, input: input) }
        case let .number(v):
            out.append(try datatype.convert(v, input: input))
        default:
            throw .badRequest("input '\(input)': tensor data must be numbers, got \(kindName)")
        }
    }
}
