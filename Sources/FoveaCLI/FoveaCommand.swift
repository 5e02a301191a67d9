import ArgumentParser
import Fovea
import Foundation

@main
struct FoveaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fovea",
        abstract: "Convolutional neural networks in Swift: train, inspect and run image models.",
        subcommands: [TrainCommand.self, EvaluateCommand.self, PredictCommand.self, ConvertCommand.self, SummaryCommand.self, PlotCommand.self, BenchCommand.self, DevicesCommand.self,
                      FilterCommand.self, PoolCommand.self, ActivationsCommand.self, ConnectivityCommand.self, ExampleImageCommand.self,
                      ServeCommand.self],
        defaultSubcommand: nil)
}

/// Options shared by the commands that read MNIST.
struct DataOptions: ParsableArguments {
    @Option(help: "Folder holding the four MNIST IDX .gz files (default: the copy bundled with Fovea).")
    var dataDir: String?

    func load() throws -> MNIST {
        try MNIST.load(directory: dataDir.map { URL(fileURLWithPath: $0, isDirectory: true) })
    }
}

struct SummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "summary", abstract: "Print a model's Keras-style summary.")

    @Option(help: "A built-in architecture (\(Architecture.allCases.map(\.rawValue).joined(separator: ", "))) or a saved model file.")
    var model = Architecture.seedCNN.rawValue
    @Flag(help: "For an ImageNet application (vgg16, resnet50, …): without its classifier top (Keras's include_top=False).")
    var noTop = false

    func run() throws {
        if noTop {
            guard let architecture = Architecture(rawValue: model) else { throw ValidationError("--no-top applies to a built-in ImageNet application, not a file") }
            return print(try architecture.make(includeTop: false).summary())
        }
        print(try loadOrMake(model).summary())
    }
}

/// A built-in architecture by name, or a model file (Fovea's, a Keras .keras archive or a legacy .h5) by path.
func loadOrMake(_ nameOrPath: String) throws -> Model {
    if let architecture = Architecture(rawValue: nameOrPath) { return try architecture.make() }
    guard FileManager.default.fileExists(atPath: nameOrPath) else {
        throw FoveaError("'\(nameOrPath)' is neither a built-in model (\(Architecture.allCases.map(\.rawValue).joined(separator: ", "))) nor an existing model file")
    }
    return try Model.load(fromAnyFormat: URL(fileURLWithPath: nameOrPath))
}

/// Labels in the form a loss wants: class indices for sparse cross-entropy, one-hot otherwise.
func targets(_ labels: Tensor, for loss: Loss, classes: Int) -> Tensor {
    if case .sparseCategoricalCrossentropy = loss { return labels }
    return oneHot(labels, classes: classes)
}
