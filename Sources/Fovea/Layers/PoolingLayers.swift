import Foundation

/// Shared machinery of the 1-D and 2-D max and average pooling layers: Keras's `pool_size`,
/// `strides` (default: the pool size), `padding` and `data_format`.
public class Pooling2DBase: Layer {
    public let poolSize: (Int, Int)
    public let strides: (Int, Int)
    public let padding: Padding
    public let dataFormat: DataFormat
    public override var channelsFirst: Bool { dataFormat == .channelsFirst }
    let isMax: Bool
    /// 1-D layers run as 2-D with a height of 1.
    let oneDimensional: Bool

    init(poolSize: (Int, Int), strides: (Int, Int)?, padding: Padding, dataFormat: DataFormat, isMax: Bool,
         oneDimensional: Bool, name: String?) {
        self.poolSize = poolSize; self.strides = strides ?? poolSize; self.padding = padding
        self.dataFormat = dataFormat; self.isMax = isMax; self.oneDimensional = oneDimensional
        super.init(name: name)
    }

    /// The input as `(batch, h, w, c)` in channels-last order.
    func layout(_ shape: [Int?]) throws -> (h: Int, w: Int, c: Int) {
        let cl = dataFormat == .channelsLast
        if oneDimensional {
            let layoutName = cl ? "(batch, steps, channels)" : "(batch, channels, steps)"
            guard shape.count == 3, let steps = shape[cl ? 1 : 2], let c = shape[cl ? 2 : 1] else {
                throw shapeError(shape, "a rank-3 input \(layoutName)")
            }
            return (1, steps, c)
        }
        let layoutName = cl ? "(batch, height, width, channels)" : "(batch, channels, height, width)"
        guard shape.count == 4, let h = shape[cl ? 1 : 2], let w = shape[cl ? 2 : 3], let c = shape[cl ? 3 : 1] else {
            throw shapeError(shape, "a rank-4 input \(layoutName)")
        }
        return (h, w, c)
    }

    func window(_ shape: [Int?]) throws -> Window2D {
        guard poolSize.0 > 0, poolSize.1 > 0, strides.0 > 0, strides.1 > 0 else {
            throw FoveaError("\(name) (\(typeName)): poolSize and strides must be positive")
        }
        guard padding != .causal else { throw FoveaError("\(name) (\(typeName)): padding must be 'valid' or 'same'") }
        let (h, w, _) = try layout(shape)
        guard let rows = WindowAxis(input: h, kernel: poolSize.0, stride: strides.0, padding: padding),
              let cols = WindowAxis(input: w, kernel: poolSize.1, stride: strides.1, padding: padding) else {
            throw shapeError(shape, "an input at least as large as the pool \(oneDimensional ? "\(poolSize.1)" : "\(poolSize.0)×\(poolSize.1)") with 'valid' padding")
        }
        return Window2D(rows: rows, columns: cols)
    }

    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        let (_, _, c) = try layout(inputShape)
        let win = try window(inputShape)
        let batch = inputShape.first ?? nil
        if oneDimensional {
            return dataFormat == .channelsLast ? [batch, win.columns.output, c] : [batch, c, win.columns.output]
        }
        return dataFormat == .channelsLast ? [batch, win.rows.output, win.columns.output, c]
                                           : [batch, c, win.rows.output, win.columns.output]
    }

    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor {
        let win = try window(input.optionalShape)
        let cl = dataFormat == .channelsLast
        var x = input
        if oneDimensional { x = cl ? x.expandingDims(at: 1) : x.expandingDims(at: 2) }
        if !cl { x = x.transposed([0, 2, 3, 1]) }
        var y = isMax ? Tensor.maxPool2D(x, window: win) : Tensor.averagePool2D(x, window: win)
        if !cl { y = y.transposed([0, 3, 1, 2]) }
        if oneDimensional { y = y.squeezed(axes: [cl ? 1 : 2]) }
        return y
    }

    public override func forwardFLOPs(inputShapes: [[Int]], outputShapes: [[Int]]) -> Double {
        Double(outputShapes[0].reduce(1, *)) * Double(poolSize.0 * poolSize.1)
    }

    /// Keras's pooling configuration (one integer per spatial axis in the tuples).
    public struct Configuration: Codable {
        public var poolSize: KerasInts
        /// `nil`: the pool size.
        public var strides: KerasInts?
        public var padding: Padding = .valid
        public var dataFormat: DataFormat = .channelsLast
        enum CodingKeys: String, CodingKey { case poolSize = "pool_size", strides, padding, dataFormat = "data_format" }

        init(_ layer: Pooling2DBase) {
            poolSize = layer.oneDimensional ? [layer.poolSize.1] : KerasInts(layer.poolSize)
            strides = layer.oneDimensional ? [layer.strides.1] : KerasInts(layer.strides)
            padding = layer.padding
            dataFormat = layer.dataFormat
        }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            poolSize = try c.value(.poolSize, default: 2)
            strides = try c.decodeIfPresent(KerasInts.self, forKey: .strides)
            padding = try c.value(.padding, default: padding)
            dataFormat = try c.value(.dataFormat, default: dataFormat)
        }

        /// Pool size and strides for `axes` spatial axes.
        func window(axes: Int) throws -> (pool: [Int], strides: [Int]) {
            let pool = try poolSize.axes(axes, key: "pool_size")
            return (pool, try strides?.axes(axes, key: "strides") ?? pool)
        }
    }

    public var configuration: Configuration { Configuration(self) }
}

/// Keras `GlobalAveragePooling2D` / `GlobalMaxPooling2D`: one value per channel.
public class GlobalPooling2DBase: Layer {
    public let dataFormat: DataFormat
    public let keepDims: Bool
    public override var channelsFirst: Bool { dataFormat == .channelsFirst }
    let isMax: Bool

    init(dataFormat: DataFormat, keepDims: Bool, isMax: Bool, name: String?) {
        self.dataFormat = dataFormat; self.keepDims = keepDims; self.isMax = isMax
        super.init(name: name)
    }

    var spatialAxes: [Int] { dataFormat == .channelsLast ? [1, 2] : [2, 3] }

    public override func outputShape(for inputShape: [Int?]) throws -> [Int?] {
        guard inputShape.count == 4 else { throw shapeError(inputShape, "a rank-4 input") }
        if keepDims { return inputShape.enumerated().map { spatialAxes.contains($0.offset) ? 1 : $0.element } }
        return [inputShape[0], inputShape[dataFormat == .channelsLast ? 3 : 1]]
    }

    public override func forward(_ input: Tensor, training: Bool) throws -> Tensor {
        isMax ? input.max(alongAxes: spatialAxes, keepDims: keepDims) : input.mean(alongAxes: spatialAxes, keepDims: keepDims)
    }

    public override func forwardFLOPs(inputShapes: [[Int]], outputShapes: [[Int]]) -> Double {
        Double(inputShapes[0].reduce(1, *))
    }

    public struct Configuration: Codable {
        public var dataFormat: DataFormat = .channelsLast
        public var keepdims = false
        enum CodingKeys: String, CodingKey { case dataFormat = "data_format", keepdims }
        init(dataFormat: DataFormat, keepdims: Bool) { self.dataFormat = dataFormat; self.keepdims = keepdims }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            dataFormat = try c.value(.dataFormat, default: dataFormat)
            keepdims = try c.value(.keepdims, default: keepdims)
        }
    }

    public var configuration: Configuration { Configuration(dataFormat: dataFormat, keepdims: keepDims) }
}
