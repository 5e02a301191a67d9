// The seeds' hand-built CNN, written with Fovea's tensor operations only: no layers, no model,
// no optimizer — the gradient graph differentiates the forward pass and the update is plain SGD.
//
// Recipe (as in the seed): the first 1,000 MNIST training images, 16 3×3 kernels with tanh,
// inverted dropout (keep half, double the rest), one dense softmax layer, batch 128, 300
// iterations over the 1,000 images, step size alpha = 2 applied to the batch-summed delta
// divided by the batch size twice — that is plain SGD with learning rate 2/128 on the mean
// cross-entropy. Kernels start uniform in [-0.01, 0.01), dense weights in [-0.1, 0.1).
//
// Two deliberate differences from the seed's NumPy code, which has two bugs: it slides the
// window over 25×25 positions (`range(28 - 3)`) instead of 26×26, and it *adds* the kernels'
// gradient (`kernels -= alpha * k_update` with a delta that already points uphill). Here the
// convolution covers all 26×26 positions and both weight matrices descend the gradient.
//
// Run: swift run -c release FromScratch
import Fovea
import Foundation

let mnist = try MNIST.load()
let (trainX, trainLabels) = mnist.tensors(.train, limit: 1000)
let (testX, testLabels) = mnist.tensors(.test)
let trainY = toCategorical(trainLabels.scalars.map { Int($0) }, classes: 10)

let alpha: Float = 2, batchSize = 128, iterations = 300, kernelCount = 16
let positions = 26 * 26
var kernels = Tensor.uniform([3, 3, 1, kernelCount], low: -0.01, high: 0.01, seed: 1)
var weights = Tensor.uniform([positions * kernelCount, 10], low: -0.1, high: 0.1, seed: 2)
let window = Window2D(rows: WindowAxis(input: 28, kernel: 3, stride: 1, padding: .valid)!,
                      columns: WindowAxis(input: 28, kernel: 3, stride: 1, padding: .valid)!)
var dropout = SeededGenerator(seed: 3)

/// Hidden layer: convolution, tanh, flattened per image.
func hidden(_ images: Tensor, _ kernels: Tensor) -> Tensor {
    Tensor.conv2D(images, kernel: kernels, bias: nil, window: window).tanh().reshaped([images.shape[0], -1])
}

func testAccuracy() -> Float {
    GradientRecording.withoutGradients {
        let logits = hidden(testX, kernels).matmul(weights)
        let predicted = logits.argmax(alongAxis: -1)
        return Float(zip(predicted, testLabels.scalars).filter { $0 == Int($1) }.count) / Float(predicted.count)
    }
}

let start = Date()
for iteration in 0..<iterations {
    var correct = 0
    for batch in 0..<(1000 / batchSize) {
        let rows = (batch * batchSize)..<((batch + 1) * batchSize)
        let k = kernels.requiringGradient(), w = weights.requiringGradient()
        let layer1 = hidden(trainX.slice(batch: rows), k)
        let mask = Tensor(shape: layer1.shape, scalars: (0..<layer1.count).map { _ in dropout.next() & 1 == 0 ? 0 : 2 })
        let logits = (layer1 * mask).matmul(w)
        let target = trainY.slice(batch: rows)
        correct += zip(logits.argmax(alongAxis: -1), target.argmax(alongAxis: -1)).filter { $0 == $1 }.count
        let loss = Tensor.softmaxCrossEntropy(logits: logits, targets: target)
        let g = gradients(of: loss, wrt: [k, w])
        kernels = (kernels - g[0] * (alpha / Float(batchSize))).detached
        weights = (weights - g[1] * (alpha / Float(batchSize))).detached
    }
    if iteration % 30 == 29 || iteration == iterations - 1 {
        print(String(format: "I:%d Test-Acc:%.4f Train-Acc:%.4f", iteration + 1, testAccuracy(), Float(correct) / 1000))
    }
}
print(String(format: "Final test accuracy: %.2f%% after %d iterations (%.0f s). The seed reports 87.7%%.",
             testAccuracy() * 100, iterations, Date().timeIntervalSince(start)))
