import XCTest
import Fovea
import FoveaTestSupport

/// Checks a layer's gradients with respect to its input and every variable (FoveaTestSupport's
/// strict check).
func checkLayerGradients(_ layer: Layer, input: Tensor, training: Bool = false, tolerance: Double = 1e-3,
                         file: StaticString = #filePath, line: UInt = #line) throws {
    _ = try layer(input, training: training)
    try assertGradients(of: { try layer($0[0], training: training) }, at: [input], variables: layer.variables,
                        tolerance: tolerance, file: file, line: line)
}

/// The support library's inputs under this file's names.
func signedInput(_ shape: [Int], seed: UInt64) -> Tensor { awayFromZero(shape, seed: seed) }
func distinctInput(_ shape: [Int], seed: UInt64) -> Tensor { distinct(shape, seed: seed) }

final class LayerGradientTests: XCTestCase {
    func testConvolutionLayers() throws {
        let x = signedInput([2, 5, 6, 2], seed: 1)
        for layer in [Conv2D(filters: 3, kernelSize: 3), Conv2D(filters: 2, kernelSize: 3, padding: .same),
                      Conv2D(filters: 2, kernelSize: 3, strides: 2, padding: .same), Conv2D(filters: 2, kernelSize: 2, dilationRate: 2),
                      Conv2D(filters: 2, kernelSize: (3, 2), strides: (2, 1), activation: .tanh, useBias: false)] {
            layer.seed = 5
            try checkLayerGradients(layer, input: x)
        }
        let channelsFirst = Conv2D(filters: 2, kernelSize: 3, padding: .same, dataFormat: .channelsFirst)
        try checkLayerGradients(channelsFirst, input: signedInput([2, 2, 4, 5], seed: 2))
        try checkLayerGradients(Conv1D(filters: 3, kernelSize: 3, padding: .same), input: signedInput([2, 7, 2], seed: 3))
        try checkLayerGradients(Conv1D(filters: 2, kernelSize: 2, dilationRate: 2), input: signedInput([1, 7, 2], seed: 4))
    }

    func testPoolingLayers() throws {
        let x = distinctInput([2, 5, 5, 2], seed: 5)
        for layer in [MaxPooling2D(poolSize: 2), MaxPooling2D(poolSize: 2, padding: .same), AveragePooling2D(poolSize: 2),
                      AveragePooling2D(poolSize: 3, strides: 1, padding: .same), GlobalAveragePooling2D(), GlobalMaxPooling2D()] as [Layer] {
            try checkLayerGradients(layer, input: x)
        }
        try checkLayerGradients(MaxPooling2D(poolSize: 2, padding: .same, dataFormat: .channelsFirst), input: distinctInput([1, 2, 5, 4], seed: 6))
        let steps = distinctInput([2, 7, 2], seed: 7)
        try checkLayerGradients(MaxPooling1D(poolSize: 2), input: steps)
        try checkLayerGradients(AveragePooling1D(poolSize: 3, padding: .same), input: steps)
    }

    func testCoreLayers() throws {
        try checkLayerGradients(Dense(units: 3, activation: .tanh), input: signedInput([4, 5], seed: 8))
        try checkLayerGradients(Dense(units: 3), input: signedInput([2, 3, 4], seed: 9))
        try checkLayerGradients(Dense(units: 3, activation: .softmax), input: signedInput([2, 4], seed: 10))
        try checkLayerGradients(Flatten(dataFormat: .channelsFirst), input: signedInput([2, 3, 2, 2], seed: 11))
        try checkLayerGradients(ActivationLayer(.sigmoid), input: signedInput([2, 3], seed: 12))
        try checkLayerGradients(ReLU(), input: signedInput([2, 3], seed: 13))
        try checkLayerGradients(Softmax(), input: signedInput([2, 3], seed: 14))
    }

    func testDropoutScalesKeptValuesAndItsGradient() throws {
        let dropout = Dropout(0.5, seed: 3)
        let x = Tensor.ones([4, 50]).requiringGradient()
        let y = try dropout(x, training: true)
        XCTAssertTrue(y.scalars.allSatisfy { $0 == 0 || $0 == 2 }, "inverted dropout: kept values doubled")
        let kept = y.scalars.filter { $0 == 2 }.count
        XCTAssertTrue((60...140).contains(kept), "about half kept, got \(kept)")
        let g = gradients(of: y.sum(), wrt: [x])[0]
        XCTAssertEqual(g.scalars, y.scalars, "the gradient is the same mask and scale")
        XCTAssertEqual(try dropout(x, training: false).scalars, x.scalars, "identity at inference")
        let again = Dropout(0.5, seed: 3)
        XCTAssertEqual(try again(Tensor.ones([4, 50]), training: true).scalars, y.scalars, "same seed, same mask")
    }
}

final class LayerBehaviourTests: XCTestCase {
    func testPoolingAsAMathEngine() throws {
        let matrix = Tensor(shape: [1, 4, 4, 1], scalars: (1...16).map(Float.init))
        let pooled = try MaxPooling2D(poolSize: 2)(matrix)
        XCTAssertEqual(pooled.shape, [1, 2, 2, 1])
        XCTAssertEqual(pooled.scalars, [6, 8, 14, 16])
        let row = Tensor(shape: [1, 6, 1], scalars: [1, 5, 2, 8, 3, 7])
        XCTAssertEqual(try MaxPooling1D(poolSize: 2)(row).scalars, [5, 8, 7])
        XCTAssertEqual(try AveragePooling2D(poolSize: 2)(matrix).scalars, [3.5, 5.5, 11.5, 13.5])
        // `same` average pooling divides by the real cells only: the last column holds one cell per row.
        let three = Tensor(shape: [1, 1, 3, 1], scalars: [2, 4, 9])
        XCTAssertEqual(try AveragePooling2D(poolSize: (1, 2), padding: .same)(three).scalars, [3, 9])
    }

    func testConvolutionWithHandSetWeights() throws {
        // A Sobel kernel on a horizontal ramp: every valid position sees the same gradient, 8.
        let ramp = Tensor(shape: [1, 4, 5, 1], scalars: (0..<20).map { Float($0 % 5) })
        let sobel = Conv2D(filters: 1, kernelSize: 3)
        _ = try sobel(ramp)
        sobel.kernel!.value = Tensor(shape: [3, 3, 1, 1], scalars: [-1, 0, 1, -2, 0, 2, -1, 0, 1])
        sobel.bias!.value = Tensor([0.5])
        let edges = try sobel(ramp)
        XCTAssertEqual(edges.shape, [1, 2, 3, 1])
        XCTAssertEqual(edges.scalars, [8.5, 8.5, 8.5, 8.5, 8.5, 8.5])
        // Identity kernel with `same` padding returns the image.
        let identity = Conv2D(filters: 1, kernelSize: 3, padding: .same, useBias: false)
        _ = try identity(ramp)
        identity.kernel!.value = Tensor(shape: [3, 3, 1, 1], scalars: [0, 0, 0, 0, 1, 0, 0, 0, 0])
        XCTAssertEqual(try identity(ramp).scalars, ramp.scalars)
    }

    func testSamePaddingPutsTheOddPixelBottomRight() throws {
        // 4×4 input, 3×3 kernel of ones, stride 2, same: 2×2 output, total padding 1 → 0 on top/left, 1 bottom/right.
        let x = Tensor(shape: [1, 4, 4, 1], scalars: (1...16).map(Float.init))
        let conv = Conv2D(filters: 1, kernelSize: 3, strides: 2, padding: .same, kernelInitializer: .ones)
        let y = try conv(x)
        XCTAssertEqual(y.shape, [1, 2, 2, 1])
        // Window at (0,0) covers rows 0-2, cols 0-2; at (0,1) rows 0-2, cols 2-3 (+ padding); etc.
        let expected: [Float] = [54, 45, 72, 54]  // 1+2+3+5+6+7+9+10+11, 3+4+7+8+11+12, 9+10+11+13+14+15, 11+12+15+16
        XCTAssertEqual(y.scalars, expected)
        XCTAssertEqual(try conv.outputShape(for: [nil, 7, 9, 1]).map { $0 ?? -1 }, [-1, 4, 5, 1])
        XCTAssertEqual(try Conv2D(filters: 1, kernelSize: 3, padding: .same).outputShape(for: [nil, 7, 9, 1]).map { $0 ?? -1 }, [-1, 7, 9, 1])
    }

    func testShapeErrorsNameTheLayerAndBothShapes() throws {
        let conv = Conv2D(filters: 2, kernelSize: 3, name: "edges")
        XCTAssertThrowsError(try conv(Tensor.zeros([28, 28]))) { error in
            XCTAssertTrue("\(error)".contains("edges (Conv2D)") && "\(error)".contains("(28, 28)") && "\(error)".contains("rank-4"), "\(error)")
        }
        XCTAssertThrowsError(try Conv2D(filters: 2, kernelSize: 5, name: "big")(Tensor.zeros([1, 3, 3, 1]))) { error in
            XCTAssertTrue("\(error)".contains("big (Conv2D)") && "\(error)".contains("(1, 3, 3, 1)") && "\(error)".contains("5×5"), "\(error)")
        }
        XCTAssertThrowsError(try Conv2D(filters: 2, kernelSize: 3, strides: 2, dilationRate: 2)(Tensor.zeros([1, 9, 9, 1]))) { error in
            XCTAssertTrue("\(error)".contains("dilationRate"), "\(error)")
        }
        let dense = Dense(units: 4, name: "head")
        _ = try dense(Tensor.zeros([2, 576]))
        XCTAssertThrowsError(try dense(Tensor.zeros([2, 100]))) { error in
            XCTAssertTrue("\(error)".contains("head (Dense)") && "\(error)".contains("(2, 100)") && "\(error)".contains("(None, 576)"), "\(error)")
        }
        XCTAssertThrowsError(try MaxPooling2D(poolSize: 2)(Tensor.zeros([1, 1, 5, 1]))) { error in
            XCTAssertTrue("\(error)".contains("max_pooling2d (MaxPooling2D)"), "\(error)")
        }
        XCTAssertThrowsError(try Sequential([Input(shape: [28, 28, 1]), Flatten(), Dense(10), Conv2D(filters: 1, kernelSize: 3)])) { error in
            XCTAssertTrue("\(error)".contains("conv2d (Conv2D)") && "\(error)".contains("(None, 10)"), "\(error)")
        }
    }
}

final class SequentialTests: XCTestCase {
    func testBuiltInArchitecturesHaveKerasParameterCounts() throws {
        let seed = try Architecture.seedCNN.make()
        XCTAssertEqual(seed.layers.map(\.parameterCount), [320, 0, 18496, 0, 36928, 0, 36928, 650])
        XCTAssertEqual(seed.parameterCount, 93_322)
        XCTAssertEqual(try Architecture.tutorialCNN.make().parameterCount, 696_454)
        XCTAssertEqual(try Architecture.deepCNN.make().parameterCount, 2_592_202)
        XCTAssertEqual(try Architecture.dense.make().parameterCount, 407_050)
        XCTAssertEqual(seed.outputShape.map { $0.map { $0 ?? -1 } }, [-1, 10])
        XCTAssertThrowsError(try Architecture(named: "resnet")) { XCTAssertTrue("\($0)".contains("seed-cnn"), "\($0)") }
    }

    func testAutomaticAndExplicitNames() throws {
        let model = try Architecture.seedCNN.make()
        XCTAssertEqual(model.layers.map(\.name),
                       ["conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1", "conv2d_2", "flatten", "dense", "dense_1"])
        XCTAssertEqual(model.variables.map(\.name).prefix(3), ["conv2d.kernel", "conv2d.bias", "conv2d_1.kernel"])
        let named = try Sequential([Input(shape: [4]), Dense(3, name: "hidden"), Dense(2), ReLU(), Dense(1)])
        XCTAssertEqual(named.layers.map(\.name), ["hidden", "dense", "re_lu", "dense_1"])
        XCTAssertEqual(named.inputLayer?.name, "input_layer")
        XCTAssertThrowsError(try Sequential([Input(shape: [4]), Dense(3, name: "same"), Dense(3, name: "same")])) { error in
            XCTAssertTrue("\(error)".contains("same"), "\(error)")
        }
    }

    func testAddBuildsAndSeedsAreReproducible() throws {
        let model = try Sequential(seed: 4)
        try model.add(Input(shape: [6]))
        try model.add(Dense(5, activation: .relu))
        try model.add(Dense(2))
        XCTAssertTrue(model.layers.allSatisfy(\.isBuilt))
        XCTAssertEqual(try model(Tensor.ones([3, 6])).shape, [3, 2])
        let same = try Sequential([Input(shape: [6]), Dense(5, activation: .relu), Dense(2)], seed: 4)
        let other = try Sequential([Input(shape: [6]), Dense(5, activation: .relu), Dense(2)], seed: 5)
        XCTAssertEqual(same.variables.map(\.value.scalars), model.variables.map(\.value.scalars))
        XCTAssertNotEqual(other.variables.map(\.value.scalars), model.variables.map(\.value.scalars))
        // Without Input, the model builds on first call.
        let lazy = try Sequential([Conv2D(filters: 2, kernelSize: 3), Flatten(), Dense(3)])
        XCTAssertFalse(lazy.layers[0].isBuilt)
        XCTAssertEqual(try lazy(Tensor.ones([1, 5, 5, 1])).shape, [1, 3])
        XCTAssertEqual(lazy.parameterCount, 20 + 3 * 18 + 3)
    }

    func testSummaryRows() throws {
        let summary = try Architecture.seedCNN.make().summary()
        XCTAssertTrue(summary.contains("│ conv2d_1 (Conv2D)               │ (None, 11, 11, 64)     │        18,496 │"), summary)
        XCTAssertTrue(summary.hasSuffix(" Total params: 93,322 (364.54 KB)\n Trainable params: 93,322 (364.54 KB)\n Non-trainable params: 0 (0.00 B)"))
    }
}
