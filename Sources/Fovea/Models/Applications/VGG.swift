import Foundation

extension Applications {
    /// VGG16 (Simonyan & Zisserman, 2015) as `keras.applications.VGG16` builds it: five blocks of 3×3
    /// `same` convolutions with ReLU (`block1_conv1` … `block5_conv3`), each ended by a 2×2 max pool
    /// (`block1_pool` …), then, with `includeTop`, `flatten`, `fc1` and `fc2` (Dense 4096, ReLU) and
    /// `predictions`. 138,357,544 parameters (14,714,688 without the top); model name `vgg16`.
    ///
    /// - Input: 224×224×3 by default; at least 32×32. Prepare images with
    ///   `preprocessInput(_:mode: .caffe)` (RGB to BGR, ImageNet's channel means subtracted, no scaling).
    /// - Weights Keras publishes (bring the file; load with `weights: .imagenet(url)` or
    ///   ``Model/loadKerasWeights(from:byName:skipMismatch:)``): `vgg16_weights_tf_dim_ordering_tf_kernels.h5`
    ///   (with the top) and `vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5` (without).
    /// - `pooling` applies only without the top (`GlobalAveragePooling2D`/`GlobalMaxPooling2D`, unnamed
    ///   as in Keras); `classifierActivation` is the `predictions` layer's (`.linear` for logits).
    public static func vgg16(includeTop: Bool = true, weights: Weights = .random, inputShape: [Int]? = nil,
                             pooling: Pooling? = nil, classes: Int = 1000, classifierActivation: Activation = .softmax,
                             name: String = "vgg16", seed: UInt64? = nil) throws -> Model {
        try vgg(convolutionsPerBlock: [2, 2, 3, 3, 3], network: "vgg16", includeTop: includeTop, weights: weights,
                inputShape: inputShape, pooling: pooling, classes: classes, classifierActivation: classifierActivation,
                name: name, seed: seed)
    }

    /// VGG19 as `keras.applications.VGG19` builds it: VGG16 with four convolutions in blocks 3 to 5
    /// (`block3_conv4`, `block4_conv4`, `block5_conv4`). 143,667,240 parameters (20,024,384 without
    /// the top); model name `vgg19`.
    ///
    /// - Input: 224×224×3 by default; at least 32×32. Prepare images with
    ///   `preprocessInput(_:mode: .caffe)`.
    /// - Weights Keras publishes: `vgg19_weights_tf_dim_ordering_tf_kernels.h5` and
    ///   `vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`.
    public static func vgg19(includeTop: Bool = true, weights: Weights = .random, inputShape: [Int]? = nil,
                             pooling: Pooling? = nil, classes: Int = 1000, classifierActivation: Activation = .softmax,
                             name: String = "vgg19", seed: UInt64? = nil) throws -> Model {
        try vgg(convolutionsPerBlock: [2, 2, 4, 4, 4], network: "vgg19", includeTop: includeTop, weights: weights,
                inputShape: inputShape, pooling: pooling, classes: classes, classifierActivation: classifierActivation,
                name: name, seed: seed)
    }

    private static func vgg(convolutionsPerBlock: [Int], network: String, includeTop: Bool, weights: Weights, inputShape: [Int]?,
                            pooling: Pooling?, classes: Int, classifierActivation: Activation, name: String, seed: UInt64?) throws -> Model {
        try checkClassifier(includeTop: includeTop, classes: classes, activation: classifierActivation, weights: weights, network: network)
        let shape = try Self.inputShape(inputShape, defaultSize: 224, minSize: 32, includeTop: includeTop, weights: weights, network: network)
        let input = Input(shape: shape)
        var x = input.symbolic
        for (block, (filters, count)) in zip([64, 128, 256, 512, 512], convolutionsPerBlock).enumerated() {
            for i in 1...count {
                x = try Conv2D(filters: filters, kernelSize: 3, padding: .same, activation: .relu, name: "block\(block + 1)_conv\(i)")(x)
            }
            x = try MaxPooling2D(poolSize: 2, strides: 2, name: "block\(block + 1)_pool")(x)
        }
        if includeTop {
            x = try Flatten(name: "flatten")(x)
            x = try Dense(4096, activation: .relu, name: "fc1")(x)
            x = try Dense(4096, activation: .relu, name: "fc2")(x)
            x = try Dense(classes, activation: classifierActivation, name: "predictions")(x)
        } else {
            x = try pool(x, pooling)
        }
        return try finish(input, x, name: name, weights: weights, seed: seed)
    }
}
