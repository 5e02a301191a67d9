import ArgumentParser
import Fovea

@main
struct FoveaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fovea",
        abstract: "Convolutional neural networks in Swift: train, inspect and run image models.",
        subcommands: [SummaryCommand.self])
}

struct SummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "summary", abstract: "Print a model's Keras-style summary.")

    @Option(help: "A built-in architecture: \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")).")
    var model = Architecture.seedCNN.rawValue

    func run() throws {
        print(try Architecture(named: model).make().summary())
    }
}
