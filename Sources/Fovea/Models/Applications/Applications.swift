import Foundation

/// The classic ImageNet architectures of `keras.applications`, built as Keras builds them: the same
/// graph, layer names (so Keras's weight files pair with them by name as well as by order),
/// configurations and parameter counts, with or without the classifier on top.
///
/// ```swift
/// let resnet = try Applications.resnet50()                                   // 25,636,712 parameters
/// let features = try Applications.mobileNetV2(includeTop: false, inputShape: [160, 160, 3], pooling: .average)
/// let pretrained = try Applications.vgg16(weights: .imagenet(URL(fileURLWithPath: "vgg16_weights_tf_dim_ordering_tf_kernels.h5")))
/// ```
///
/// Nothing is downloaded: the weights Keras publishes for these networks (legacy `.h5` files, named in
/// each builder's documentation) are files a user brings, loaded with `weights: .imagenet(url)` or
/// later with ``Model/loadKerasWeights(from:byName:skipMismatch:)``. Each network expects its inputs
/// prepared as ``preprocessInput(_:mode:)`` documents (`caffe` for VGG and ResNet, `tf` for
/// InceptionV3 and MobileNetV2).
///
/// Arguments are checked as Keras's `applications/*.py` and `imagenet_utils.obtain_input_shape` check
/// them: with ``Weights/random`` (Keras's `weights=None`) any input of three dimensions at least the
/// network's minimum size and any number of classes; with ``Weights/imagenet(_:)`` also Keras's
/// `weights="imagenet"` rules (1000 classes and the default input shape with the classifier, 3 input
/// channels, a softmax or linear classifier, MobileNetV2's published widths). Fovea's models are
/// channels-last, and every input dimension must be known: where Keras leaves the height and width
/// of a model without its classifier open (`(None, None, 3)`), Fovea takes the default size.
public enum Applications {
    /// The pooling of a model without its classifier (Keras's `pooling`): `nil` keeps the last
    /// convolutional block's 4-D output.
    public enum Pooling: String, Sendable, CaseIterable {
        /// `GlobalAveragePooling2D` (Keras's `"avg"`).
        case average = "avg"
        /// `GlobalMaxPooling2D` (Keras's `"max"`).
        case max
    }

    /// Which weights a built network starts from (Keras's `weights`).
    public enum Weights: Sendable, Equatable {
        /// Freshly initialised, seeded (Keras's `weights=None`).
        case random
        /// The ImageNet weights Keras publishes for this network, from a file the user has: checked
        /// with Keras's `weights="imagenet"` rules, then loaded in order as Keras loads them.
        case imagenet(URL)
        /// Any Keras weights file for this architecture (Keras's `weights=<path>`), loaded in order.
        case file(URL)

        var file: URL? {
            switch self {
            case .random: return nil
            case .imagenet(let url), .file(let url): return url
            }
        }
        var isImageNet: Bool { if case .imagenet = self { return true } else { return false } }
    }

    /// The input preparation each network's weights were trained with (`imagenet_utils.preprocess_input`).
    public enum PreprocessingMode: String, Sendable, CaseIterable {
        /// RGB to BGR, then each channel minus ImageNet's mean (103.939, 116.779, 123.68 in BGR order),
        /// without scaling: VGG16, VGG19, ResNet50.
        case caffe
        /// Pixels scaled from [0, 255] to [-1, 1] (`x / 127.5 - 1`): InceptionV3, MobileNetV2.
        case tf
        /// Pixels scaled to [0, 1], then each channel normalised with ImageNet's mean (0.485, 0.456,
        /// 0.406) and standard deviation (0.229, 0.224, 0.225), RGB order: DenseNet's, for completeness.
        case torch
    }

    /// Keras's `imagenet_utils.preprocess_input` for channels-last images with values in [0, 255]:
    /// any rank whose last axis holds the 3 colour channels (RGB) in `caffe` and `torch` mode, any
    /// shape in `tf` mode. Returns a new tensor (Keras's `preprocess_input` on a NumPy array also
    /// returns the result; it may change its argument in place, this never does).
    public static func preprocessInput(_ x: Tensor, mode: PreprocessingMode) throws -> Tensor {
        var values = x.scalars
        switch mode {
        case .tf:
            for i in values.indices { values[i] = values[i] / 127.5 - 1 }
        case .caffe, .torch:
            guard x.rank >= 1, x.shape[x.rank - 1] == 3 else {
                throw FoveaError("preprocessInput (\(mode.rawValue) mode): expected channels-last images with 3 colour channels on the last axis, got shape \(formatShape(x.shape))")
            }
            if mode == .caffe {
                let mean: [Float] = [103.939, 116.779, 123.68]
                var i = 0
                while i < values.count {
                    // RGB → BGR, then zero-centre each channel.
                    let (r, b) = (values[i], values[i + 2])
                    values[i] = b - mean[0]
                    values[i + 1] -= mean[1]
                    values[i + 2] = r - mean[2]
                    i += 3
                }
            } else {
                let mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
                for i in values.indices {
                    let c = i % 3
                    values[i] = (values[i] / 255 - mean[c]) / std[c]
                }
            }
        }
        return Tensor(shape: x.shape, scalars: values)
    }

    // MARK: Argument checks shared by the builders

    /// Keras's `obtain_input_shape` for channels-last inputs: the input shape the network is built for.
    /// `nil` gives the default `defaultSize`×`defaultSize`×3 (Keras leaves the spatial size of a model
    /// without its classifier open; Fovea needs it known).
    static func inputShape(_ given: [Int]?, defaultSize: Int, minSize: Int, includeTop: Bool, weights: Weights,
                           network: String) throws -> [Int] {
        let defaultShape = [defaultSize, defaultSize, 3]
        guard let shape = given else { return defaultShape }
        guard shape.count == 3 else {
            throw FoveaError("\(network): inputShape must have three dimensions (height, width, channels), got \(formatShape(shape))")
        }
        guard shape.allSatisfy({ $0 > 0 }) else {
            throw FoveaError("\(network): inputShape \(formatShape(shape)) has a dimension that is not positive")
        }
        if weights.isImageNet && includeTop && shape != defaultShape {
            throw FoveaError("\(network): with the ImageNet weights and includeTop, inputShape must be \(formatShape(defaultShape)) (the classifier's weights fix it), got \(formatShape(shape)); pass includeTop: false to use another size")
        }
        if weights.isImageNet && shape[2] != 3 {
            throw FoveaError("\(network): the ImageNet weights take 3 input channels; inputShape \(formatShape(shape)) has \(shape[2])")
        }
        if shape[0] < minSize || shape[1] < minSize {
            throw FoveaError("\(network): the input must be at least \(minSize)×\(minSize), got inputShape \(formatShape(shape))")
        }
        return shape
    }

    /// Keras's checks of `classes` and `classifier_activation` (`validate_activation`).
    static func checkClassifier(includeTop: Bool, classes: Int, activation: Activation, weights: Weights, network: String) throws {
        guard includeTop else { return }
        guard classes > 0 else { throw FoveaError("\(network): classes must be positive, got \(classes)") }
        if weights.isImageNet && classes != 1000 {
            throw FoveaError("\(network): with the ImageNet weights and includeTop, classes must be 1000, got \(classes); pass includeTop: false and add your own classifier")
        }
        if weights != .random && activation != .softmax && activation != .linear {
            throw FoveaError("\(network): with pretrained weights the classifier's activation must be softmax or linear (logits), got \(activation.name)")
        }
    }

    /// The pooling of a model without its classifier (`includeTop` true ignores `pooling`, as Keras does).
    static func pool(_ x: SymbolicTensor, _ pooling: Pooling?, averageName: String? = nil, maxName: String? = nil) throws -> SymbolicTensor {
        switch pooling {
        case nil: return x
        case .average?: return try GlobalAveragePooling2D(name: averageName)(x)
        case .max?: return try GlobalMaxPooling2D(name: maxName)(x)
        }
    }

    /// Makes the model and loads `weights` (in order, as Keras's `model.load_weights` reads a legacy `.h5`).
    static func finish(_ input: Input, _ output: SymbolicTensor, name: String, weights: Weights, seed: UInt64?) throws -> Model {
        let model = try Model(inputs: input, outputs: output, name: name, seed: seed)
        if let url = weights.file { try model.loadKerasWeights(from: url) }
        return model
    }
}
