import ArgumentParser
import Fovea

@main
struct FoveaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fovea", abstract: "Convolutional neural networks in Swift.")
}
