import Foundation
import Synchronization

/// A layer that model files can hold: a typed configuration in Keras's key names, and the class
/// name files know it by. Adding a layer to Fovea is one file (the class and its `Configuration`) and
/// one line in ``LayerRegistry/builtIn``; a user's own layer conforms the same way and is added with
/// ``LayerRegistry/register(_:)``, after which it saves, loads and round-trips like a built-in one.
///
/// The configuration holds what Keras's `get_config()` holds except `name`, `trainable` and `dtype`,
/// which the registry reads and writes for every layer. Decoding treats a missing or `null` key as
/// Keras's default.
public protocol ConfigurableLayer: Layer {
    associatedtype Configuration: Codable
    /// The class name in files: Keras's for Keras's layers (`Conv2D`, `InputLayer`).
    static var className: String { get }
    /// Keys Keras writes for options this layer does not implement, with the one value each may hold
    /// (Keras's default). Any other value of such a key is an error, never silently dropped.
    static var acceptedDefaults: [String: JSONValue] { get }
    /// Keys earlier Keras versions wrote that the configuration reads under their old name (Keras 2's
    /// `alpha` of `LeakyReLU`), though it writes the new one.
    static var legacyKeys: Set<String> { get }
    /// The layer's configuration.
    var configuration: Configuration { get }
    /// A layer from a configuration; throws when a value is out of range.
    init(configuration: Configuration, name: String?) throws
}

extension ConfigurableLayer {
    public static var className: String { String(describing: Self.self) }
    public static var acceptedDefaults: [String: JSONValue] { [:] }
    public static var legacyKeys: Set<String> { [] }
}

/// Every layer class files can name, by class name: the one table that native model files, `.keras`
/// and legacy `.h5` files, summaries and the registry test go through.
public enum LayerRegistry {
    /// Fovea's layers: one line each.
    static let builtIn: [any ConfigurableLayer.Type] = [
        Input.self,
        Dense.self,
        Flatten.self,
        Dropout.self,
        ActivationLayer.self,
        ReLU.self,
        Softmax.self,
        Conv2D.self,
        Conv1D.self,
        MaxPooling2D.self,
        AveragePooling2D.self,
        MaxPooling1D.self,
        AveragePooling1D.self,
        GlobalAveragePooling2D.self,
        GlobalMaxPooling2D.self,
        BatchNormalization.self,
        DepthwiseConv2D.self,
        SeparableConv2D.self,
        Conv2DTranspose.self,
        Add.self,
        Subtract.self,
        Multiply.self,
        Average.self,
        Maximum.self,
        Minimum.self,
        Concatenate.self,
        ZeroPadding2D.self,
        Cropping2D.self,
        UpSampling2D.self,
        Reshape.self,
        Permute.self,
        Rescaling.self,
        SpatialDropout2D.self,
        LeakyReLU.self,
        ELU.self,
        PReLU.self,
    ]

    /// Config keys every layer carries, handled here: `name`, `trainable` and the dtype policy (Fovea
    /// computes in float32 whatever the file's policy says); and Keras 2's `batch_input_shape` on a
    /// Sequential's first layer, which the model reader takes the input shape from.
    static let commonKeys: Set<String> = ["name", "trainable", "dtype", "batch_input_shape"]

    /// Keys Keras writes on layers that no layer of Fovea implements, at the values Fovea accepts.
    static let globalAcceptedDefaults: [String: JSONValue] = ["activity_regularizer": .null, "autocast": true]

    private static let custom = Mutex<[String: any ConfigurableLayer.Type]>([:])

    /// Registers a user's layer class so that model files naming it load. Its class name must not be
    /// one Fovea (or an earlier registration of another class) uses.
    public static func register<L: ConfigurableLayer>(_ type: L.Type) throws {
        let name = L.className
        if let existing = builtInByName[name], existing != type {
            throw FoveaError("cannot register \(type) as '\(name)': Fovea's \(existing) has that class name; give the class another className")
        }
        try custom.withLock { table in
            if let existing = table[name], existing != type {
                throw FoveaError("cannot register \(type) as '\(name)': \(existing) is registered under that name")
            }
            table[name] = type
        }
    }

    private static let builtInByName: [String: any ConfigurableLayer.Type] =
        Dictionary(builtIn.map { ($0.className, $0) }, uniquingKeysWith: { a, _ in a })

    /// The class registered under `className`, if any.
    public static func layerType(named className: String) -> (any ConfigurableLayer.Type)? {
        builtInByName[className] ?? custom.withLock { $0[className] }
    }

    /// Every registered class name, Fovea's first.
    public static var classNames: [String] {
        builtIn.map { $0.className } + custom.withLock { $0.keys.sorted() }
    }

    // MARK: Configurations

    /// A layer from its class name and Keras configuration. Unknown class names, unknown keys and
    /// options the layer does not implement are errors that name the layer and the key.
    public static func layer(className: String, config: JSONValue) throws -> Layer {
        guard let type = layerType(named: className) else {
            throw FoveaError("layer type '\(className)' is not registered in Fovea (it implements \(classNames.joined(separator: ", ")); register a custom layer with LayerRegistry.register)")
        }
        return try decode(type, config: config)
    }

    private static func decode<L: ConfigurableLayer>(_ type: L.Type, config: JSONValue) throws -> Layer {
        guard case .object(let entries) = config else { throw FoveaError("\(L.className): config must be an object") }
        let name = entries["name"]?.stringValue
        let label = "\(L.className) '\(name ?? "?")'"
        let trainable = entries["trainable"] ?? true
        guard let isTrainable = trainable.boolValue else { throw FoveaError("\(label): config key 'trainable' must be true or false") }
        let configuration: L.Configuration
        do { configuration = try JSONValue.object(entries).decode(L.Configuration.self) } catch let error as FoveaError {
            throw FoveaError("\(label): \(error.message)")
        }
        // Every key must be one the configuration reads (it writes it back), a Keras default Fovea
        // accepts, or null (Keras's "not set").
        let known = try JSONValue(encoding: configuration).objectValue ?? [:]
        // Every integer the layer will use is bounded before any shape is computed from it
        // (ArchitectureLimits): a file's checksum is no defence, so this is.
        do { try ArchitectureLimits.checkConfiguration(.object(known)) } catch let error as FoveaError {
            throw FoveaError("\(label): \(error.message)")
        }
        let accepted = globalAcceptedDefaults.merging(L.acceptedDefaults) { $1 }
        for (key, value) in entries.sorted(by: { $0.key < $1.key }) where known[key] == nil && !value.isNull && !commonKeys.contains(key) && !L.legacyKeys.contains(key) {
            guard let allowed = accepted[key] else {
                throw FoveaError("\(label): config key '\(key)' is not one Fovea's \(L.className) implements (value \(try value.text()))")
            }
            guard allowed == value else {
                throw FoveaError("\(label): \(key) = \(try value.text()) is not implemented by Fovea (only \(try allowed.text()))")
            }
        }
        let layer: L
        do { layer = try L(configuration: configuration, name: name) } catch let error as FoveaError {
            throw FoveaError(error.message.hasPrefix(label) ? error.message : "\(label): \(error.message)")
        }
        layer.trainable = isTrainable
        return layer
    }

    /// A registered layer's Keras configuration: `name`, `trainable`, the dtype policy and its own keys.
    public static func configuration(of layer: Layer) throws -> JSONValue {
        guard let configurable = layer as? any ConfigurableLayer else {
            throw FoveaError("layer '\(layer.name)' (\(layer.typeName)) does not conform to ConfigurableLayer, so no file can hold it")
        }
        guard layerType(named: layer.typeName) != nil else {
            throw FoveaError("layer '\(layer.name)' (\(layer.typeName)) is not registered; call LayerRegistry.register(\(type(of: layer)).self) before saving")
        }
        var entries = try JSONValue(encoding: configurable.configuration).objectValue ?? [:]
        entries["name"] = .string(layer.name)
        entries["trainable"] = .bool(layer.trainable)
        entries["dtype"] = float32Policy
        return .object(entries)
    }

    /// Keras 3's dtype policy entry for float32.
    static let float32Policy: JSONValue = [
        "module": "keras", "class_name": "DTypePolicy", "config": ["name": "float32"], "registered_name": nil,
    ]
}
