import ArgumentParser
import Fovea
import Foundation

/// `name` as a case of `T` (by raw value), or a validation error listing the choices.
func choice<T: RawRepresentable & CaseIterable>(_ name: String, _ option: String) throws -> T where T.RawValue == String {
    guard let value = T(rawValue: name.lowercased()) else {
        throw ValidationError("\(option) must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(name)')")
    }
    return value
}

/// `photo.jpg` → `photo`.
func stem(_ path: String) -> String { URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent }

/// Creates `folder` (and its parents) unless it exists, with an error that names it.
func makeFolder(_ folder: URL) throws {
    do {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    } catch {
        throw FoveaError("cannot create the output folder \(folder.path): \(error.localizedDescription)")
    }
}

/// A whole enlargement factor that makes the longer side of `image` at least `target` pixels.
/// Writes `original` beside `results`, all enlarged by `scale` and the results also by `step` (their
/// stride), so that every tile shows the same area of the picture; prints where it went.
func writeComparisonSheet(_ original: Image, _ results: [Image], scale: Int, step: Int, captions: [String],
                          columns: Int? = nil, to url: URL) throws {
    let tiles = [original.upscaled(by: scale)] + results.map { $0.upscaled(by: scale * step) }
    let contact = try Image.contactSheet(tiles, captions: captions, columns: columns, gap: 10)
    try contact.writePNG(to: url)
    print("\(url.path)  contact sheet \(contact.width)×\(contact.height)")
}

func displayFactor(_ image: Image, target: Int) -> Int {
    max(1, (target + max(image.width, image.height) - 1) / max(image.width, image.height))
}

struct FilterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "filter",
        abstract: "Apply classic image kernels (blur, Sobel, Laplacian, …) to each channel of an image with the convolution op the Conv2D layers use.",
        discussion: """
        Kernels: \(FilterKernel.catalogue.map { "\($0.name) (\($0.description))" }.joined(separator: ", ")).
        Filtering is cross-correlation, as in Keras; 'same' padding pads with zeros. Each result is \
        written as <out>/<image>-<kernel>.png, scaled for display by --display: minmax stretches \
        the lowest response to black and the highest to white (default; every kernel at full \
        contrast), abs shows |response| with the largest magnitude white (edges of either sign \
        bright), clip keeps responses as pixel values clamped to 0...255.
        """)

    @Argument(help: "A PNG or JPEG image.") var image: String
    @Option(name: .customLong("kernel"), help: "A kernel name, or weights with rows separated by ';' and values by ',' (any odd square, e.g. \"1,0,-1;2,0,-2;1,0,-1\"; fractions such as 1/16 allowed). Repeat for several. Default: every named kernel.")
    var kernels: [String] = []
    @Option(help: "valid (only where the kernel fits) or same (zero padding, output as large as the input, divided by the stride).") var padding = "same"
    @Option(help: "Step between kernel positions.") var stride = 1
    @Option(help: "How responses become pixels: minmax, abs or clip (see above).") var display = "minmax"
    @Flag(help: "Convert the image to gray first (otherwise each colour channel is filtered on its own).") var gray = false
    @Option(help: "Folder for the results (default: <image>-filters).") var out: String?
    @Flag(help: "Also write <out>/<image>-sheet.png: the original and every result side by side, captioned.") var sheet = false
    @Option(help: "Enlarge the contact sheet's tiles this many times (default: enough for tiles of at least 160 pixels).") var sheetScale: Int?

    func validate() throws {
        if stride < 1 { throw ValidationError("--stride must be at least 1") }
        if let sheetScale, sheetScale < 1 { throw ValidationError("--sheet-scale must be at least 1") }
        let _: Padding = try choice(padding, "--padding")
        let _: DisplayScaling = try choice(display, "--display")
    }

    /// The kernels asked for (every named one by default); custom ones are numbered.
    static func kernels(from arguments: [String]) throws -> [FilterKernel] {
        if arguments.isEmpty { return FilterKernel.catalogue }
        var custom = 0
        return try arguments.map { argument in
            guard argument.contains(where: \.isNumber) else { return try FilterKernel(argument: argument) }
            custom += 1
            return try FilterKernel(argument: argument, customName: custom == 1 ? "custom" : "custom-\(custom)")
        }
    }

    func run() throws {
        let kernelList = try FilterCommand.kernels(from: kernels)
        let paddingMode: Padding = try choice(padding, "--padding")
        let scaling: DisplayScaling = try choice(display, "--display")
        var original = try Image.read(from: URL(fileURLWithPath: image))
        original = original.withChannels(gray || original.channels <= 2 ? 1 : 3)
        let folder = URL(fileURLWithPath: out ?? "\(stem(image))-filters", isDirectory: true)
        try makeFolder(folder)
        var results: [Image] = []
        for kernel in kernelList {
            let response = try original.filtered(with: kernel, padding: paddingMode, stride: stride)
            let shown = try Image(displaying: response, scaling: scaling)
            let url = folder.appendingPathComponent("\(stem(image))-\(kernel.name).png")
            try shown.writePNG(to: url)
            results.append(shown)
            print("\(url.path)  \(kernel.name) [\(kernel.description)]  \(shown.width)×\(shown.height)")
        }
        if sheet {
            // Strided results are enlarged by the stride so every tile covers the same area of the picture.
            let scale = sheetScale ?? displayFactor(original, target: 160)
            let captions = ["original"] + zip(kernelList, results).map { kernel, result in
                result.width == original.width && result.height == original.height ? kernel.name : "\(kernel.name) \(result.width)×\(result.height)"
            }
            try writeComparisonSheet(original, results, scale: scale, step: stride, captions: captions, columns: 4,
                                     to: folder.appendingPathComponent("\(stem(image))-sheet.png"))
        }
    }
}

struct PoolCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pool",
        abstract: "Pool an image (max, average or min over size×size windows) with the op the pooling layers use.")

    @Argument(help: "A PNG or JPEG image.") var image: String
    @Option(help: "Window size (size × size).") var size = 2
    @Option(help: "Step between windows (default: the size).") var stride: Int?
    @Option(help: "max, average or min; repeat for several.") var mode: [String] = ["max"]
    @Option(help: "valid (drop the incomplete windows at the edges) or same.") var padding = "valid"
    @Option(help: "Folder for the results, written as <image>-<mode>pool<size>.png (default: the current folder).") var out = "."
    @Flag(help: "Also write <out>/<image>-pool-sheet.png: the original and each pooled image side by side at the same displayed size, captioned.") var sheet = false

    func validate() throws {
        if size < 1 { throw ValidationError("--size must be at least 1") }
        if let stride, stride < 1 { throw ValidationError("--stride must be at least 1") }
        for m in mode { let _: PoolingMode = try choice(m, "--mode") }
        let _: Padding = try choice(padding, "--padding")
    }

    func run() throws {
        let modes: [PoolingMode] = try mode.map { try choice($0, "--mode") }
        let paddingMode: Padding = try choice(padding, "--padding")
        var original = try Image.read(from: URL(fileURLWithPath: image))
        original = original.withChannels(original.channels <= 2 ? 1 : 3)
        let folder = URL(fileURLWithPath: out, isDirectory: true)
        try makeFolder(folder)
        var results: [Image] = []
        for poolingMode in modes {
            let pooled = try original.pooled(size: size, stride: stride, mode: poolingMode, padding: paddingMode)
            let url = folder.appendingPathComponent("\(stem(image))-\(poolingMode.rawValue)pool\(size).png")
            try pooled.writePNG(to: url)
            results.append(pooled)
            print("\(url.path)  \(poolingMode.rawValue) pooling \(size)×\(size): \(original.width)×\(original.height) → \(pooled.width)×\(pooled.height)")
        }
        if sheet {
            // Pooled tiles enlarged back by the stride, so every tile shows the same area of the picture.
            let step = stride ?? size
            let captions = ["original \(original.width)×\(original.height)"] + zip(modes, results).map { "\($0.rawValue) \($1.width)×\($1.height)" }
            try writeComparisonSheet(original, results, scale: displayFactor(original, target: 160), step: step,
                                     captions: captions, to: folder.appendingPathComponent("\(stem(image))-pool-sheet.png"))
        }
    }
}

struct ActivationsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "activations",
        abstract: "Write every convolution and pooling layer's feature maps for one image as PNG grids, with an index.html.")

    @Option(help: "A model file saved by `fovea train`.") var model: String
    @Option(help: "A PNG or JPEG image.") var image: String
    @Option(help: "Folder for the PNGs and index.html (created if needed).") var out: String
    @OptionGroup var imageInput: ImageInputOptions
    @Option(help: "How many of the most probable classes index.html lists.") var topK = 5
    @Option(help: "Enlarge each feature map to at least this many pixels across.") var tileSize = 64

    func validate() throws {
        if topK < 1 { throw ValidationError("--top-k must be at least 1") }
        if tileSize < 1 { throw ValidationError("--tile-size must be at least 1") }
    }

    func run() throws {
        let net = try Model.load(from: URL(fileURLWithPath: model))
        let input = try imageInput.input(image, for: net)
        let report = try FeatureMapReport(model: net, input: input, topK: topK, tileSize: tileSize)
        let written = try report.write(to: URL(fileURLWithPath: out, isDirectory: true))
        for layer in report.layers {
            print("\(layer.name) (\(layer.typeName)) \(formatShape(layer.outputShape)): grid \(layer.grid.width)×\(layer.grid.height)")
        }
        if let problem = report.predictionProblem { print("Top: none: \(problem)") } else {
            print("Top: " + report.predictions.map { String(format: "%d (%.2f%%)", $0.classIndex, $0.probability * 100) }.joined(separator: ", "))
        }
        print("Wrote \(written.count) files to \(out); open \(written.last!.path)")
    }
}

struct ConnectivityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connectivity",
        abstract: "Draw (as SVG) how a convolution wires inputs to activations through a sliding window, beside a dense layer.")

    @Option(help: "The SVG file to write.") var out = "connectivity.svg"
    @Option(help: "Inputs per row and column.") var inputSize = 6
    @Option(help: "Window size (kernel size × kernel size).") var kernelSize = 3

    func run() throws {
        let diagram = try ConnectivityDiagram(inputSize: inputSize, kernelSize: kernelSize)
        let url = URL(fileURLWithPath: out)
        try writeAtomically(Data(diagram.svg.utf8), to: url)
        let m = diagram.outputSize
        print("\(url.path): \(inputSize)×\(inputSize) inputs → \(m)×\(m) activations through a \(kernelSize)×\(kernelSize) window "
              + "(\(m * m * kernelSize * kernelSize) connections) beside a dense layer (\(inputSize * inputSize * m * m) connections)")
    }
}

struct ExampleImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "example-image",
        abstract: "Write an image to try the other commands on: an MNIST test digit or a synthetic test pattern, as PNG.")

    @Argument(help: "digit (an MNIST test image) or pattern (checkerboard, disk, one-pixel stripes, ramp with a ring).") var kind: String
    @Option(help: "The PNG file to write.") var out: String
    @Option(help: "For digit: the index of the MNIST test image (0..<10000).") var index = 0
    @Option(help: "For pattern: its width and height in pixels.") var size = 128
    @OptionGroup var data: DataOptions

    func validate() throws {
        guard ["digit", "pattern"].contains(kind) else { throw ValidationError("the kind must be digit or pattern (got '\(kind)')") }
    }

    func run() throws {
        let image: Image
        if kind == "pattern" {
            image = try Image.testPattern(size: size)
        } else {
            let mnist = try data.load()
            guard index >= 0 && index < mnist.testCount else {
                throw FoveaError("--index \(index) is out of range; the test set has images 0..<\(mnist.testCount)")
            }
            let (x, labels) = mnist.tensors(.test, limit: index + 1)
            image = try Image(x.slice(batch: index..<(index + 1)), unitScaled: true)
            print("MNIST test image \(index): label \(labelText(labels.scalars[index]))")
        }
        try image.writePNG(to: URL(fileURLWithPath: out))
        print("\(out): \(image.width)×\(image.height), \(image.channels) channel\(image.channels == 1 ? "" : "s")")
    }
}
