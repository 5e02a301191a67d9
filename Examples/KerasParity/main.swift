// Trains the seed CNN from weights Keras initialised, in Keras's sample order, so that the two
// frameworks can be compared step by step (scripts/keras_parity.py runs the Keras side and diffs).
//
//   python scripts/keras_parity.py keras DIR EPOCHS       # writes DIR/keras_*.safetensors
//   swift run -c release KerasParity DIR EPOCHS [ALGO]    # writes DIR/fovea_*.safetensors
//   python scripts/keras_parity.py diff DIR               # per-tensor max differences
//
// ALGO is the convolution algorithm: im2col (the default here: the same products and sums as
// TensorFlow's, so the two agree step by step) or automatic (Fovea's default, Winograd for the
// second layer: it rounds differently, and RMSprop's first step turns the sign of a near-zero bias
// gradient into a full ±lr/√(1−ρ) move, so the trajectories part within a few steps).
import Fovea
import Foundation

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: KerasParity DIR [EPOCHS]  (DIR holds keras_init.safetensors from scripts/keras_parity.py)")
    exit(2)
}
let dir = URL(fileURLWithPath: arguments[1])
let epochs = arguments.count > 2 ? Int(arguments[2]) ?? 1 : 1
guard let algorithm = ConvolutionAlgorithm(rawValue: arguments.count > 3 ? arguments[3] : "im2col") else {
    print("KerasParity: the algorithm is one of \(ConvolutionAlgorithm.allCases.map(\.rawValue).joined(separator: ", "))")
    exit(2)
}
do {
    let mnist = try MNIST.load()
    let (x, y) = mnist.tensors(.train)
    let (testX, testY) = mnist.tensors(.test)
    let net = try Architecture.seedCNN.make(seed: 0)
    try net.loadWeights(from: dir.appendingPathComponent("keras_init.safetensors"))
    for case let conv as Conv2D in net.layers { conv.algorithm = algorithm }
    net.compile(optimizer: RMSprop(), loss: .sparseCategoricalCrossentropy(), metrics: [.accuracy])
    var saveError: Error?
    let marks: Set<Int> = [1, 10, 100]
    let snapshots = LambdaCallback(onBatchEnd: { batch, _ in
        guard marks.contains(batch + 1) else { return }
        do { try net.saveWeights(to: dir.appendingPathComponent("fovea_step\(batch + 1).safetensors")) } catch { saveError = error }
    })
    // Keras's side runs with shuffle=False: the stored order, every epoch.
    try net.fit(x: x, y: y, batchSize: 64, epochs: epochs, verbose: 2, shuffle: .none, callbacks: [snapshots])
    if let saveError { throw saveError }
    try net.saveWeights(to: dir.appendingPathComponent("fovea_final.safetensors"))
    let result = try net.evaluate(x: testX, y: testY, batchSize: 256)
    print(String(format: "fovea from Keras's initial weights, %d epochs: test accuracy %.4f, test loss %.4f",
                 epochs, result["accuracy"]!, result["loss"]!))
} catch {
    print("KerasParity: \(error)")
    exit(1)
}
