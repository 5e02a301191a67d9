import Foundation

extension Applications {
    /// InceptionV3 (Szegedy et al., 2015) as `keras.applications.InceptionV3` builds it: a stem of
    /// convolutions and max pools, then the inception modules `mixed0` … `mixed10` (branches
    /// concatenated on the channels; `mixed9_0`/`mixed9_1` and two unnamed `concatenate`s inside the
    /// last two). Every convolution is Keras's `conv2d_bn`: a `Conv2D` without bias, a
    /// `BatchNormalization` without scale and a ReLU `Activation`, all unnamed, so they are numbered as
    /// Keras numbers them in a fresh session (`conv2d` … `conv2d_93`, `batch_normalization_93`,
    /// `activation_93`). With `includeTop`, `avg_pool` and `predictions`. 23,851,784 parameters
    /// (21,802,784 without the top); model name `inception_v3`.
    ///
    /// - Input: 299×299×3 by default; at least 75×75. Prepare images with
    ///   `preprocessInput(_:mode: .tf)` (pixels scaled to [-1, 1]).
    /// - Weights Keras publishes (bring the file; load with `weights: .imagenet(url)` or
    ///   ``Model/loadKerasWeights(from:byName:skipMismatch:)``, in order: the automatic names differ
    ///   between Keras sessions, so pairing by name only works with names of the same numbering):
    ///   `inception_v3_weights_tf_dim_ordering_tf_kernels.h5` and
    ///   `inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5`.
    /// - `pooling` without the top: an unnamed `GlobalAveragePooling2D` or `GlobalMaxPooling2D`.
    public static func inceptionV3(includeTop: Bool = true, weights: Weights = .random, inputShape: [Int]? = nil,
                                   pooling: Pooling? = nil, classes: Int = 1000, classifierActivation: Activation = .softmax,
                                   name: String = "inception_v3", seed: UInt64? = nil) throws -> Model {
        let network = "inception_v3"
        try checkClassifier(includeTop: includeTop, classes: classes, activation: classifierActivation, weights: weights, network: network)
        let shape = try Self.inputShape(inputShape, defaultSize: 299, minSize: 75, includeTop: includeTop, weights: weights, network: network)
        let input = Input(shape: shape)
        let channels = 3

        func convBN(_ x: SymbolicTensor, _ filters: Int, _ rows: Int, _ columns: Int, strides: Int = 1,
                    padding: Padding = .same) throws -> SymbolicTensor {
            var y = try Conv2D(filters: filters, kernelSize: (rows, columns), strides: (strides, strides), padding: padding, useBias: false)(x)
            y = try BatchNormalization(axis: 3, scale: false)(y)
            return try ActivationLayer(.relu)(y)
        }
        func averagePool(_ x: SymbolicTensor) throws -> SymbolicTensor {
            try AveragePooling2D(poolSize: 3, strides: 1, padding: .same)(x)
        }
        func concatenate(_ parts: [SymbolicTensor], _ name: String? = nil) throws -> SymbolicTensor {
            try Concatenate(axis: channels, name: name)(parts)
        }

        var x = try convBN(input.symbolic, 32, 3, 3, strides: 2, padding: .valid)
        x = try convBN(x, 32, 3, 3, padding: .valid)
        x = try convBN(x, 64, 3, 3)
        x = try MaxPooling2D(poolSize: 3, strides: 2)(x)
        x = try convBN(x, 80, 1, 1, padding: .valid)
        x = try convBN(x, 192, 3, 3, padding: .valid)
        x = try MaxPooling2D(poolSize: 3, strides: 2)(x)

        // mixed0, mixed1, mixed2: 35×35.
        for (i, poolFilters) in [32, 64, 64].enumerated() {
            let branch1x1 = try convBN(x, 64, 1, 1)
            let branch5x5 = try convBN(try convBN(x, 48, 1, 1), 64, 5, 5)
            let branch3x3dbl = try convBN(try convBN(try convBN(x, 64, 1, 1), 96, 3, 3), 96, 3, 3)
            let branchPool = try convBN(try averagePool(x), poolFilters, 1, 1)
            x = try concatenate([branch1x1, branch5x5, branch3x3dbl, branchPool], "mixed\(i)")
        }

        // mixed3: 17×17.
        do {
            let branch3x3 = try convBN(x, 384, 3, 3, strides: 2, padding: .valid)
            let branch3x3dbl = try convBN(try convBN(try convBN(x, 64, 1, 1), 96, 3, 3), 96, 3, 3, strides: 2, padding: .valid)
            let branchPool = try MaxPooling2D(poolSize: 3, strides: 2)(x)
            x = try concatenate([branch3x3, branch3x3dbl, branchPool], "mixed3")
        }

        // mixed4 … mixed7: factorised 7×7 convolutions.
        for (i, width) in [128, 160, 160, 192].enumerated() {
            let branch1x1 = try convBN(x, 192, 1, 1)
            var branch7x7 = try convBN(x, width, 1, 1)
            branch7x7 = try convBN(branch7x7, width, 1, 7)
            branch7x7 = try convBN(branch7x7, 192, 7, 1)
            var branch7x7dbl = try convBN(x, width, 1, 1)
            branch7x7dbl = try convBN(branch7x7dbl, width, 7, 1)
            branch7x7dbl = try convBN(branch7x7dbl, width, 1, 7)
            branch7x7dbl = try convBN(branch7x7dbl, width, 7, 1)
            branch7x7dbl = try convBN(branch7x7dbl, 192, 1, 7)
            let branchPool = try convBN(try averagePool(x), 192, 1, 1)
            x = try concatenate([branch1x1, branch7x7, branch7x7dbl, branchPool], "mixed\(4 + i)")
        }

        // mixed8: 8×8.
        do {
            let branch3x3 = try convBN(try convBN(x, 192, 1, 1), 320, 3, 3, strides: 2, padding: .valid)
            var branch7x7x3 = try convBN(x, 192, 1, 1)
            branch7x7x3 = try convBN(branch7x7x3, 192, 1, 7)
            branch7x7x3 = try convBN(branch7x7x3, 192, 7, 1)
            branch7x7x3 = try convBN(branch7x7x3, 192, 3, 3, strides: 2, padding: .valid)
            let branchPool = try MaxPooling2D(poolSize: 3, strides: 2)(x)
            x = try concatenate([branch3x3, branch7x7x3, branchPool], "mixed8")
        }

        // mixed9, mixed10: expanded filter banks.
        for i in 0..<2 {
            let branch1x1 = try convBN(x, 320, 1, 1)
            let branch3x3Base = try convBN(x, 384, 1, 1)
            let branch3x3 = try concatenate([try convBN(branch3x3Base, 384, 1, 3), try convBN(branch3x3Base, 384, 3, 1)], "mixed9_\(i)")
            let branch3x3dblBase = try convBN(try convBN(x, 448, 1, 1), 384, 3, 3)
            let branch3x3dbl = try concatenate([try convBN(branch3x3dblBase, 384, 1, 3), try convBN(branch3x3dblBase, 384, 3, 1)])
            let branchPool = try convBN(try averagePool(x), 192, 1, 1)
            x = try concatenate([branch1x1, branch3x3, branch3x3dbl, branchPool], "mixed\(9 + i)")
        }

        if includeTop {
            x = try GlobalAveragePooling2D(name: "avg_pool")(x)
            x = try Dense(classes, activation: classifierActivation, name: "predictions")(x)
        } else {
            x = try pool(x, pooling)
        }
        return try finish(input, x, name: name, weights: weights, seed: seed)
    }
}
