import Foundation

extension Architecture {
    /// The `residual-cnn`: a small residual network with batch normalization, written with the
    /// functional API. A stem convolution (32 filters) and a 2×2 max pool, then two stages (64 filters
    /// at 14×14, 128 at 7×7 on MNIST), each a residual block of two 3×3 convolution–batch-norm pairs added
    /// to its input through a 1×1 projection (the width changes), global average pooling and the
    /// softmax classifier.
    static func residualCNN(inputShape: [Int], classes: Int, seed: UInt64?) throws -> Model {
        let inputs = Input(shape: inputShape, name: "image")
        func convBN(_ x: SymbolicTensor, _ filters: Int, _ name: String, relu: Bool = true) throws -> SymbolicTensor {
            var y = try Conv2D(filters: filters, kernelSize: 3, padding: .same, useBias: false, name: "\(name)_conv")(x)
            y = try BatchNormalization(name: "\(name)_bn")(y)
            return relu ? try ActivationLayer(.relu, name: "\(name)_relu")(y) : y
        }
        func block(_ x: SymbolicTensor, _ filters: Int, _ name: String) throws -> SymbolicTensor {
            var shortcut = x
            if x.shape.last != filters {
                shortcut = try Conv2D(filters: filters, kernelSize: 1, useBias: false, name: "\(name)_projection")(x)
                shortcut = try BatchNormalization(name: "\(name)_projection_bn")(shortcut)
            }
            let y = try convBN(try convBN(x, filters, "\(name)_1"), filters, "\(name)_2", relu: false)
            return try ActivationLayer(.relu, name: "\(name)_out")(try Add(name: "\(name)_add")([y, shortcut]))
        }
        var x = try convBN(inputs.symbolic, 32, "stem")
        x = try MaxPooling2D(poolSize: 2, name: "pool1")(x)
        x = try block(x, 64, "stage1")
        x = try MaxPooling2D(poolSize: 2, name: "pool2")(x)
        x = try block(x, 128, "stage2")
        x = try GlobalAveragePooling2D(name: "average")(x)
        let outputs = try Dense(classes, activation: .softmax, name: "predictions")(x)
        return try Model(inputs: inputs, outputs: outputs, name: "residual_cnn", seed: seed)
    }
}
