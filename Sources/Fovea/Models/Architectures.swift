import Foundation

/// The networks Fovea ships, by name: the ones the Keras CNN course walks through (for MNIST), and
/// the classic ImageNet architectures of `keras.applications` (see ``Applications``).
public enum Architecture: String, CaseIterable, Sendable {
    /// Flatten, Dense 512 relu, Dense 10 softmax.
    case dense
    /// Chollet's MNIST CNN: three 3×3 convolutions with pooling, Dense 64, Dense 10 (93,322 params).
    case seedCNN = "seed-cnn"
    /// The tutorial CNN with `same` padding and dropout (696,454 params).
    case tutorialCNN = "tutorial-cnn"
    /// VGG-style: three blocks of two 3×3 convolutions and a pool (64, 128, 256 filters) (2,592,202 params).
    case deepCNN = "deep-cnn"
    /// A small residual network with batch normalization (functional API): see ``residualCNN(inputShape:classes:seed:)``.
    case residualCNN = "residual-cnn"
    /// ``Applications/vgg16(includeTop:weights:inputShape:pooling:classes:classifierActivation:name:seed:)`` (138,357,544 params).
    case vgg16
    /// ``Applications/vgg19(includeTop:weights:inputShape:pooling:classes:classifierActivation:name:seed:)`` (143,667,240 params).
    case vgg19
    /// ``Applications/resnet50(includeTop:weights:inputShape:pooling:classes:classifierActivation:name:seed:)`` (25,636,712 params).
    case resnet50
    /// ``Applications/inceptionV3(includeTop:weights:inputShape:pooling:classes:classifierActivation:name:seed:)`` (23,851,784 params).
    case inceptionV3 = "inception_v3"
    /// ``Applications/mobileNetV2(inputShape:alpha:includeTop:weights:pooling:classes:classifierActivation:name:seed:)`` at alpha 1 (3,538,984 params).
    case mobileNetV2 = "mobilenet_v2"

    /// The small networks for MNIST-sized inputs (the rest are ImageNet architectures).
    public static var mnistNetworks: [Architecture] { [.dense, .seedCNN, .tutorialCNN, .deepCNN, .residualCNN] }

    /// Whether this is one of `keras.applications`' ImageNet architectures.
    public var isImageNetApplication: Bool { !Self.mnistNetworks.contains(self) }

    /// The input shape `make` builds for by default: MNIST's 28×28×1 for the small networks,
    /// ImageNet's 224×224×3 (299×299×3 for InceptionV3) for the applications.
    public var defaultInputShape: [Int] {
        switch self {
        case .dense, .seedCNN, .tutorialCNN, .deepCNN, .residualCNN: return [28, 28, 1]
        case .inceptionV3: return [299, 299, 3]
        case .vgg16, .vgg19, .resnet50, .mobileNetV2: return [224, 224, 3]
        }
    }

    /// The number of classes `make` builds for by default: 10 (MNIST) or 1000 (ImageNet).
    public var defaultClasses: Int { isImageNetApplication ? 1000 : 10 }

    /// Builds the network for `inputShape` with `classes` outputs (by default ``defaultInputShape`` and
    /// ``defaultClasses``). The applications are built with their classifier and random weights, and
    /// check the input as Keras does (an input below the network's minimum size is an error).
    public func make(inputShape: [Int]? = nil, classes: Int? = nil, seed: UInt64? = nil) throws -> Model {
        try make(inputShape: inputShape, classes: classes, includeTop: true, seed: seed)
    }

    /// Builds the network; an ImageNet application without its classifier when `includeTop` is false
    /// (Keras's `include_top=False`: the feature extractor; the MNIST networks always have theirs).
    public func make(inputShape: [Int]? = nil, classes: Int? = nil, includeTop: Bool, seed: UInt64? = nil) throws -> Model {
        let inputShape = inputShape ?? defaultInputShape, classes = classes ?? defaultClasses
        guard includeTop || isImageNetApplication else {
            throw FoveaError("\(rawValue) has no separate classifier top; includeTop: false is for the ImageNet applications")
        }
        switch self {
        case .vgg16: return try Applications.vgg16(includeTop: includeTop, inputShape: inputShape, classes: classes, seed: seed)
        case .vgg19: return try Applications.vgg19(includeTop: includeTop, inputShape: inputShape, classes: classes, seed: seed)
        case .resnet50: return try Applications.resnet50(includeTop: includeTop, inputShape: inputShape, classes: classes, seed: seed)
        case .inceptionV3: return try Applications.inceptionV3(includeTop: includeTop, inputShape: inputShape, classes: classes, seed: seed)
        case .mobileNetV2: return try Applications.mobileNetV2(inputShape: inputShape, includeTop: includeTop, classes: classes, seed: seed)
        case .residualCNN: return try Architecture.residualCNN(inputShape: inputShape, classes: classes, seed: seed)
        case .dense, .seedCNN, .tutorialCNN, .deepCNN: break
        }
        var layers: [Layer] = [Input(shape: inputShape)]
        switch self {
        case .dense:
            layers += [Flatten(), Dense(512, activation: .relu)]
        case .seedCNN:
            layers += [Conv2D(filters: 32, kernelSize: 3, activation: .relu), MaxPooling2D(poolSize: 2),
                       Conv2D(filters: 64, kernelSize: 3, activation: .relu), MaxPooling2D(poolSize: 2),
                       Conv2D(filters: 64, kernelSize: 3, activation: .relu), Flatten(), Dense(64, activation: .relu)]
        case .tutorialCNN:
            layers += [Conv2D(filters: 4, kernelSize: 3, padding: .same, activation: .relu), MaxPooling2D(poolSize: 2),
                       Conv2D(filters: 8, kernelSize: 3, padding: .same, activation: .relu), MaxPooling2D(poolSize: 2),
                       Conv2D(filters: 16, kernelSize: 3, padding: .same, activation: .relu), Flatten(), Dropout(0.25),
                       Dense(784, activation: .relu), Dropout(0.25), Dense(100, activation: .relu)]
        case .deepCNN:
            for filters in [64, 128, 256] {
                layers += [Conv2D(filters: filters, kernelSize: 3, padding: .same, activation: .relu),
                           Conv2D(filters: filters, kernelSize: 3, padding: .same, activation: .relu),
                           MaxPooling2D(poolSize: 2)]
            }
            layers += [Flatten(), Dense(512, activation: .relu), Dense(512, activation: .relu)]
        case .residualCNN, .vgg16, .vgg19, .resnet50, .inceptionV3, .mobileNetV2:
            preconditionFailure("the functional networks are built above")
        }
        layers.append(Dense(classes, activation: .softmax))
        return try Sequential(layers, seed: seed)
    }

    /// The factor `fovea train` multiplies the learning rate by after each epoch unless told
    /// otherwise: 0.5 for `deep-cnn` (2.6 M parameters and no dropout: at a constant RMSprop rate it
    /// overfits and ends at 99.1% on MNIST in 5 epochs, 99.5% with the rate halved each epoch),
    /// 1 (a constant rate, Keras's recipe) for the others.
    public var defaultLearningRateDecay: Float { self == .deepCNN || self == .residualCNN ? 0.5 : 1 }

    /// Looks an architecture up by name, with the list of names in the error.
    public init(named name: String) throws {
        guard let a = Architecture(rawValue: name) else {
            throw FoveaError("unknown model '\(name)'; built-in models are \(Architecture.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = a
    }
}
