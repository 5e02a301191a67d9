import Foundation

/// Keras-style layer configurations: `{"class_name": "Conv2D", "config": {"name": …, "filters": …}}`,
/// with Keras's argument names, so architectures read and write like Keras's `config.json`.
extension Layer {
    /// This layer's configuration in Keras's names (a custom layer adds its own through
    /// ``Layer/customConfiguration``).
    public var configuration: [String: Any] {
        var c: [String: Any] = ["name": name, "trainable": trainable]
        c.merge(builtInConfiguration) { $1 }
        c.merge(customConfiguration) { $1 }
        return c
    }

    /// The `{"class_name", "config"}` pair.
    public var serialized: [String: Any] { ["class_name": typeName, "config": configuration] }

    /// Recreates a layer from its `{"class_name", "config"}` pair.
    public static func deserialize(_ entry: [String: Any]) throws -> Layer {
        guard let className = entry["class_name"] as? String, let c = entry["config"] as? [String: Any] else {
            throw FoveaError("layer entry without class_name/config: \(entry)")
        }
        let r = ConfigReader(c, className)
        let layer: Layer
        switch className {
        case "InputLayer":
            let shape = try r.intList("batch_shape", default: nil) ?? r.intList("batch_input_shape", default: nil)
            guard let shape, shape.count >= 1 else { throw FoveaError("InputLayer config needs batch_shape") }
            let dims = Array(shape.dropFirst())
            guard dims.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw FoveaError("InputLayer '\(r.name ?? "?")': batch_shape \(formatShape(shape)) has unknown or non-positive dimensions; Fovea needs every dimension but the batch")
            }
            layer = Input(shape: dims.map { $0! }, name: r.name)
        case "Conv2D":
            layer = Conv2D(filters: try r.int("filters"), kernelSize: try r.pair("kernel_size"),
                           strides: try r.pair("strides", default: (1, 1)), padding: try r.padding(),
                           dataFormat: try r.dataFormat(), dilationRate: try r.pair("dilation_rate", default: (1, 1)),
                           activation: try r.activation(), useBias: try r.bool("use_bias", default: true),
                           kernelInitializer: try r.initializer("kernel_initializer", default: .glorotUniform),
                           biasInitializer: try r.initializer("bias_initializer", default: .zeros),
                           kernelRegularizer: try r.regularizer("kernel_regularizer"),
                           biasRegularizer: try r.regularizer("bias_regularizer"),
                           kernelConstraint: try r.constraint("kernel_constraint"),
                           biasConstraint: try r.constraint("bias_constraint"), name: r.name)
        case "Conv1D":
            layer = Conv1D(filters: try r.int("filters"), kernelSize: try r.pair("kernel_size").1,
                           strides: try r.pair("strides", default: (1, 1)).1, padding: try r.padding(),
                           dilationRate: try r.pair("dilation_rate", default: (1, 1)).1, activation: try r.activation(),
                           useBias: try r.bool("use_bias", default: true),
                           kernelInitializer: try r.initializer("kernel_initializer", default: .glorotUniform),
                           biasInitializer: try r.initializer("bias_initializer", default: .zeros),
                           kernelRegularizer: try r.regularizer("kernel_regularizer"),
                           biasRegularizer: try r.regularizer("bias_regularizer"), name: r.name)
        case "MaxPooling2D", "AveragePooling2D":
            let pool = try r.pair("pool_size", default: (2, 2))
            let strides = try r.has("strides") ? r.pair("strides") : pool
            layer = className == "MaxPooling2D"
                ? MaxPooling2D(poolSize: pool, strides: strides, padding: try r.padding(), dataFormat: try r.dataFormat(), name: r.name)
                : AveragePooling2D(poolSize: pool, strides: strides, padding: try r.padding(), dataFormat: try r.dataFormat(), name: r.name)
        case "MaxPooling1D", "AveragePooling1D":
            let pool = try r.pair("pool_size", default: (2, 2)).1
            let strides = try r.has("strides") ? r.pair("strides").1 : pool
            layer = className == "MaxPooling1D"
                ? MaxPooling1D(poolSize: pool, strides: strides, padding: try r.padding(), dataFormat: try r.dataFormat(), name: r.name)
                : AveragePooling1D(poolSize: pool, strides: strides, padding: try r.padding(), dataFormat: try r.dataFormat(), name: r.name)
        case "GlobalAveragePooling2D":
            layer = GlobalAveragePooling2D(dataFormat: try r.dataFormat(), keepDims: try r.bool("keepdims", default: false), name: r.name)
        case "GlobalMaxPooling2D":
            layer = GlobalMaxPooling2D(dataFormat: try r.dataFormat(), keepDims: try r.bool("keepdims", default: false), name: r.name)
        case "Dense":
            layer = Dense(units: try r.int("units"), activation: try r.activation(), useBias: try r.bool("use_bias", default: true),
                          kernelInitializer: try r.initializer("kernel_initializer", default: .glorotUniform),
                          biasInitializer: try r.initializer("bias_initializer", default: .zeros),
                          kernelRegularizer: try r.regularizer("kernel_regularizer"),
                          biasRegularizer: try r.regularizer("bias_regularizer"),
                          kernelConstraint: try r.constraint("kernel_constraint"),
                          biasConstraint: try r.constraint("bias_constraint"), name: r.name)
        case "Flatten": layer = Flatten(dataFormat: try r.dataFormat(), name: r.name)
        case "Dropout":
            layer = Dropout(rate: Float(try r.double("rate")), seed: (c["seed"] as? NSNumber).map { $0.uint64Value }, name: r.name)
        case "Activation": layer = ActivationLayer(try r.activation(), name: r.name)
        case "ReLU": layer = ReLU(name: r.name)
        case "Softmax": layer = Softmax(name: r.name)
        default:
            throw FoveaError("layer type '\(className)' is not supported by Fovea; supported: InputLayer, Conv1D, Conv2D, MaxPooling1D/2D, AveragePooling1D/2D, GlobalAveragePooling2D, GlobalMaxPooling2D, Dense, Flatten, Dropout, Activation, ReLU, Softmax")
        }
        layer.trainable = try r.bool("trainable", default: true)
        return layer
    }
}

/// Reads typed values out of a Keras config dictionary, with errors naming the layer and key.
struct ConfigReader {
    let c: [String: Any]
    let className: String
    init(_ c: [String: Any], _ className: String) { self.c = c; self.className = className }

    var name: String? { c["name"] as? String }
    func fail(_ key: String, _ what: String) -> FoveaError {
        FoveaError("\(className) '\(name ?? "?")': config key '\(key)' \(what)")
    }
    func has(_ key: String) -> Bool { c[key] != nil && !(c[key] is NSNull) }
    func int(_ key: String) throws -> Int {
        guard let v = c[key] as? NSNumber else { throw fail(key, "must be an integer") }
        return v.intValue
    }
    func double(_ key: String) throws -> Double {
        guard let v = c[key] as? NSNumber else { throw fail(key, "must be a number") }
        return v.doubleValue
    }
    func bool(_ key: String, default d: Bool) throws -> Bool {
        guard has(key) else { return d }
        guard let v = c[key] as? Bool else { throw fail(key, "must be true or false") }
        return v
    }
    func intList(_ key: String, default d: [Int?]?) throws -> [Int?]? {
        guard has(key) else { return d }
        guard let list = c[key] as? [Any] else { throw fail(key, "must be a list") }
        return list.map { ($0 as? NSNumber)?.intValue }
    }
    func pair(_ key: String, default d: (Int, Int)? = nil) throws -> (Int, Int) {
        guard has(key) else {
            if let d { return d }
            throw fail(key, "is missing")
        }
        if let v = c[key] as? NSNumber { return (v.intValue, v.intValue) }
        guard let list = c[key] as? [NSNumber], !list.isEmpty, list.count <= 2 else { throw fail(key, "must be an integer or a list of one or two") }
        return list.count == 1 ? (1, list[0].intValue) : (list[0].intValue, list[1].intValue)
    }
    func padding() throws -> Padding {
        guard has("padding") else { return .valid }
        guard let s = c["padding"] as? String, let p = Padding(rawValue: s) else { throw fail("padding", "must be 'valid' or 'same'") }
        return p
    }
    func dataFormat() throws -> DataFormat {
        guard has("data_format") else { return .channelsLast }
        guard let s = c["data_format"] as? String, let f = DataFormat(rawValue: s) else {
            throw fail("data_format", "must be 'channels_last' or 'channels_first'")
        }
        return f
    }
    func activation() throws -> Activation {
        guard has("activation") else { return .linear }
        guard let s = c["activation"] as? String else { throw fail("activation", "must be a name") }
        return try Activation(named: s)
    }
    func initializer(_ key: String, default d: Initializer) throws -> Initializer {
        guard has(key) else { return d }
        let entry = c[key]
        let (cls, cfg): (String, [String: Any])
        if let s = entry as? String { (cls, cfg) = (s, [:]) }
        else if let dict = entry as? [String: Any], let s = dict["class_name"] as? String { (cls, cfg) = (s, dict["config"] as? [String: Any] ?? [:]) }
        else { throw fail(key, "must be an initializer name or {class_name, config}") }
        func num(_ k: String, _ dflt: Float) -> Float { (cfg[k] as? NSNumber)?.floatValue ?? dflt }
        switch snakeCase(cls) {
        case "zeros": return .zeros
        case "ones": return .ones
        case "constant": return .constant(num("value", 0))
        case "glorot_uniform": return .glorotUniform
        case "glorot_normal": return .glorotNormal
        case "he_normal": return .heNormal
        case "he_uniform": return .heUniform
        case "lecun_normal": return .lecunNormal
        case "lecun_uniform": return .lecunUniform
        case "random_normal": return .randomNormal(mean: num("mean", 0), standardDeviation: num("stddev", 0.05))
        case "random_uniform": return .randomUniform(min: num("minval", -0.05), max: num("maxval", 0.05))
        default: throw fail(key, "names an unsupported initializer '\(cls)'")
        }
    }
    func regularizer(_ key: String) throws -> Regularizer? {
        guard has(key) else { return nil }
        guard let dict = c[key] as? [String: Any], let cfg = dict["config"] as? [String: Any] else { throw fail(key, "must be {class_name, config}") }
        return Regularizer(l1: (cfg["l1"] as? NSNumber)?.floatValue ?? 0, l2: (cfg["l2"] as? NSNumber)?.floatValue ?? 0)
    }
    func constraint(_ key: String) throws -> Constraint? {
        guard has(key) else { return nil }
        guard let dict = c[key] as? [String: Any], let cls = dict["class_name"] as? String else { throw fail(key, "must be {class_name, config}") }
        let cfg = dict["config"] as? [String: Any] ?? [:]
        let axes: [Int] = (cfg["axis"] as? [NSNumber])?.map(\.intValue) ?? (cfg["axis"] as? NSNumber).map { [$0.intValue] } ?? [0]
        switch cls {
        case "MaxNorm": return .maxNorm(maxValue: (cfg["max_value"] as? NSNumber)?.floatValue ?? 2, axes: axes)
        case "NonNeg": return .nonNeg
        case "UnitNorm": return .unitNorm(axes: axes)
        default: throw fail(key, "names an unsupported constraint '\(cls)'")
        }
    }
}

func initializerConfig(_ i: Initializer) -> [String: Any] {
    var cfg: [String: Any] = [:]
    switch i {
    case .constant(let v): cfg = ["value": v]
    case .randomNormal(let m, let s): cfg = ["mean": m, "stddev": s]
    case .randomUniform(let lo, let hi): cfg = ["minval": lo, "maxval": hi]
    default: break
    }
    let className = i.kerasName.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    return ["class_name": className, "config": cfg]
}

func regularizerConfig(_ r: Regularizer?) -> Any {
    guard let r else { return NSNull() }
    return ["class_name": "L1L2", "config": ["l1": r.l1, "l2": r.l2]]
}

func constraintConfig(_ c: Constraint?) -> Any {
    switch c {
    case nil: return NSNull()
    case .nonNeg: return ["class_name": "NonNeg", "config": [String: Any]()]
    case .maxNorm(let m, let axes): return ["class_name": "MaxNorm", "config": ["max_value": m, "axis": axes]]
    case .unitNorm(let axes): return ["class_name": "UnitNorm", "config": ["axis": axes]]
    }
}

extension Layer {
    var builtInConfiguration: [String: Any] {
        switch self {
        case let l as Input: return ["batch_shape": [NSNull()] + l.shape.map { $0 as Any }]
        case let l as Conv2D:
            return ["filters": l.filters, "kernel_size": [l.kernelSize.0, l.kernelSize.1], "strides": [l.strides.0, l.strides.1],
                    "padding": l.padding.rawValue, "data_format": l.dataFormat.rawValue,
                    "dilation_rate": [l.dilationRate.0, l.dilationRate.1], "activation": l.activation.name, "use_bias": l.useBias,
                    "kernel_initializer": initializerConfig(l.kernelInitializer), "bias_initializer": initializerConfig(l.biasInitializer),
                    "kernel_regularizer": regularizerConfig(l.kernelRegularizer), "bias_regularizer": regularizerConfig(l.biasRegularizer),
                    "kernel_constraint": constraintConfig(l.kernelConstraint), "bias_constraint": constraintConfig(l.biasConstraint)]
        case let l as Conv1D:
            return ["filters": l.filters, "kernel_size": [l.kernelSize], "strides": [l.strides], "padding": l.padding.rawValue,
                    "dilation_rate": [l.dilationRate], "activation": l.activation.name, "use_bias": l.useBias,
                    "kernel_initializer": initializerConfig(l.kernelInitializer), "bias_initializer": initializerConfig(l.biasInitializer),
                    "kernel_regularizer": regularizerConfig(l.kernelRegularizer), "bias_regularizer": regularizerConfig(l.biasRegularizer)]
        case let l as Pooling2DBase:
            return ["pool_size": l.oneDimensional ? [l.poolSize.1] : [l.poolSize.0, l.poolSize.1],
                    "strides": l.oneDimensional ? [l.strides.1] : [l.strides.0, l.strides.1],
                    "padding": l.padding.rawValue, "data_format": l.dataFormat.rawValue]
        case let l as GlobalPooling2DBase: return ["data_format": l.dataFormat.rawValue, "keepdims": l.keepDims]
        case let l as Dense:
            return ["units": l.units, "activation": l.activation.name, "use_bias": l.useBias,
                    "kernel_initializer": initializerConfig(l.kernelInitializer), "bias_initializer": initializerConfig(l.biasInitializer),
                    "kernel_regularizer": regularizerConfig(l.kernelRegularizer), "bias_regularizer": regularizerConfig(l.biasRegularizer),
                    "kernel_constraint": constraintConfig(l.kernelConstraint), "bias_constraint": constraintConfig(l.biasConstraint)]
        case let l as Flatten: return ["data_format": l.dataFormat.rawValue]
        case let l as Dropout: return ["rate": l.rate, "seed": l.seed.map { $0 as Any } ?? NSNull()]
        case let l as ActivationLayer: return ["activation": l.activation.name]
        default: return [:]
        }
    }
}
