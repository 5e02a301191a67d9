import ArgumentParser
import Fovea
import Foundation

/// How `predict` and `activations` turn an image file into a model's input.
struct ImageInputOptions: ParsableArguments {
    @Flag(help: "Invert the image first (255 − v): MNIST digits are white on black, so a dark digit on light paper needs this.")
    var invert = false
    @Flag(help: "Do not centre the digit. By default a 28×28×1 (MNIST) model's input is prepared as MNIST was: the digit cut to its bounding box, scaled into a 20×20 box and placed by its centre of mass in a 28×28 field. Other models get the image resized to their input size.")
    var noCenter = false

    /// The image at `path` as `model`'s input, `[1, h, w, c]` in 0...1; warns (on stderr) when an
    /// MNIST model is given what looks like a dark digit on a light background.
    func input(_ path: String, for model: Model) throws -> Tensor {
        guard let shape = model.inputShape else {
            throw FoveaError("the model has no input shape; it cannot say what size of image it takes")
        }
        let preparation = ImagePreparation(invert: invert, centerDigit: noCenter ? false : nil)
        let image = try Image.read(from: URL(fileURLWithPath: path))
        if preparation.suggestsInverting(image, shape: shape) {
            FileHandle.standardError.write(Data("note: \(path) has a light background (gray level \(image.borderMedian.clampedInt(0...255, rounding: .toNearestOrAwayFromZero)) of 255, the median of its border); MNIST digits are white on black, pass --invert if this is a dark digit on light paper\n".utf8))
        }
        return try preparation.input(image, shape: shape)
    }
}

/// `fovea predict --model PATH IMAGE…`: each image converted to the model's input, then its top classes.
func predictImages(_ paths: [String], model: Model, options: ImageInputOptions, topK: Int) throws {
    for path in paths {
        let input = try options.input(path, for: model)
        let output = try model.predict(input).scalars
        print(path)
        printScores(try topClasses(output, k: topK))
    }
}
