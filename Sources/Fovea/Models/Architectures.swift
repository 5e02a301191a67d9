import Foundation

/// The networks Fovea ships, by name: the ones the Keras CNN course walks through.
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

    /// Builds the network for `inputShape` (default MNIST's 28×28×1) with `classes` outputs.
    public func make(inputShape: [Int] = [28, 28, 1], classes: Int = 10, seed: UInt64? = nil) throws -> Model {
        var layers: [Layer] = [Input(shape: inputShape)]
        switch self {
        case .residualCNN:
            return try Architecture.residualCNN(inputShape: inputShape, classes: classes, seed: seed)
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
