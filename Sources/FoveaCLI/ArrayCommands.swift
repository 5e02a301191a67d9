import ArgumentParser
import Fovea
import Foundation

/// `fovea predict --model PATH --input x.npy --output y.npy`: the model's outputs for every sample
/// of a NumPy array, computed in batches and written as a float32 `.npy`.
func predictArrays(model path: String, input: String, output: String, batchSize: Int) throws {
    let net = try loadOrMake(path)
    let array = try NumPy.read(from: URL(fileURLWithPath: input))
    let x = array.tensor
    if let expected = net.inputShape {
        guard x.rank == expected.count, Array(x.shape.dropFirst()) == expected.dropFirst().map({ $0! }) else {
            throw FoveaError("\(input) holds an array of shape \(formatShape(x.shape)); model \(net.name) expects \(formatShape(expected)) (samples first)")
        }
    }
    let y = try net.predict(x, batchSize: batchSize)
    try y.writeNumPy(to: URL(fileURLWithPath: output))
    print("Wrote \(output): \(formatShape(y.shape)) float32, the outputs of \(net.name) for \(x.shape.first ?? 0) samples of \(input) (\(array.dtypeName))")
    // The outputs are written as computed; a model that predicts NaN says so.
    let nonFinite = y.scalars.lazy.filter { !$0.isFinite }.count
    if nonFinite > 0 {
        FileHandle.standardError.write(Data("warning: \(nonFinite) of \(y.count) outputs are NaN or infinite: the model's weights (or the input) hold NaN or infinity\n".utf8))
    }
}

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a model between Fovea's .safetensors, Keras 3's .keras and Keras's legacy .h5.",
        discussion: """
            The input is a model file in either format or a legacy Keras .h5 model (told apart by content), or a built-in architecture name; \
            the output format follows the output's extension: .keras for Keras 3 (`keras.saving.load_model` loads it), \
            .h5 for Keras's legacy HDF5 model file (Keras 2 and 3 load it), anything else for Fovea's safetensors model file.
            """)

    @Argument(help: "The model to read: a .keras archive, a legacy Keras .h5 model, a Fovea model file or a built-in architecture name.") var input: String
    @Argument(help: "The file to write: NAME.keras, NAME.h5 or NAME.safetensors.") var output: String

    func run() throws {
        let net = try loadOrMake(input)
        let url = URL(fileURLWithPath: output)
        switch url.pathExtension.lowercased() {
        case "keras": try net.saveKeras(to: url)
        case "h5", "hdf5": try net.saveKerasH5(to: url)
        default:
            try net.save(to: url)
        }
        print("Wrote \(output): model \(net.name), \(net.layers.count) layers, \(groupedThousands(net.parameterCount)) parameters")
    }
}
