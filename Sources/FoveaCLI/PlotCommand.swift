import ArgumentParser
import Fovea
import Foundation

struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw loss and accuracy per epoch (training and validation) from a CSV training log.",
        discussion: "The log is what `fovea train --csv PATH` (or Keras's CSVLogger) writes. The image format follows --out: .svg or .png.")

    @Argument(help: "A CSV training log (header 'epoch,accuracy,loss,val_accuracy,val_loss').") var log: String
    @Option(help: "The image to write: a .svg or .png file.") var out = "curves.svg"

    func run() throws {
        let curves = try TrainingCurves(log: TrainingLog(contentsOf: URL(fileURLWithPath: log)))
        try curves.write(to: URL(fileURLWithPath: out))
        print("Plotted \(curves.quantities.joined(separator: " and ")) over \(curves.log.epochs.count) epochs to \(out)")
    }
}
