import ArgumentParser
import Fovea
import Foundation

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a CNN on MNIST (default: the seed CNN, 5 epochs, RMSprop, batch 64) and save it.",
        discussion: """
            With --checkpoint the model, optimizer state and training position are saved (atomically) after every \
            epoch, and with --checkpoint-every N also every N batches. --resume continues such a checkpoint where it \
            stopped, with the same data order and random state: give the same --limit, --batch-size and \
            --validation-split (--epochs may change); the architecture, optimizer and seed come from the checkpoint.
            """)

    @Option(help: "Built-in architecture: \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")) (default: seed-cnn).")
    var model: String?
    @Option(help: "Number of passes over the training set (in all, counting those a resumed run already did).") var epochs = 5
    @Option(help: "Samples per gradient step.") var batchSize = 64
    @Option(help: "sgd, rmsprop or adam (Keras defaults; default: rmsprop).") var optimizer: String?
    @Option(help: "Learning rate (default: the optimizer's Keras default).") var learningRate: Float?
    @Option(help: ArgumentHelp("Multiply the learning rate by R after every epoch (Keras ExponentialDecay with staircase, decay_steps = steps per epoch) (default: 0.5 for deep-cnn, 1 (no decay) for the others).",
                               valueName: "R"))
    var lrDecay: Float?
    @Option(help: "sparse_categorical_crossentropy, categorical_crossentropy or mse (default: sparse_categorical_crossentropy).") var loss: String?
    @Option(help: "Fraction of the training set held out (the last samples) for validation.") var validationSplit: Float = 0
    @Option(help: "Seed for weights and shuffling (default: 0).") var seed: UInt64?
    @Option(help: ArgumentHelp("Sample order: same-permutation (one seeded shuffle reused every epoch, as Keras 3 on TensorFlow does once seeded), every-epoch (a new shuffle each epoch) or none (default: same-permutation, or the checkpoint's when resuming).",
                               valueName: "mode"))
    var shuffle: String?
    @Option(help: "Train on the first N training images only.") var limit: Int?
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Option(help: "0 silent, 1 progress bar, 2 one line per epoch.") var verbose = 1
    @Option(help: "Where to save the trained model (default: <model>.safetensors, or the checkpoint when resuming).") var output: String?
    @Option(help: "Save a resumable checkpoint here after every epoch (default when resuming: the --resume file).") var checkpoint: String?
    @Option(help: "Also save the checkpoint every N batches.") var checkpointEvery: Int?
    @Option(help: "Continue training from this checkpoint.") var resume: String?
    @Option(help: "Append each epoch's loss and metrics to this CSV file (Keras CSVLogger format).") var csv: String?
    @OptionGroup var data: DataOptions

    func validate() throws {
        if let limit, limit <= 0 { throw ValidationError("--limit must be a positive number of images") }
        // Zero epochs would train nothing and still save the untrained model over the output file.
        if epochs < 1 { throw ValidationError("--epochs must be at least 1 (got \(epochs)): training 0 epochs would save an untrained model") }
        if batchSize <= 0 { throw ValidationError("--batch-size must be positive") }
        if let lrDecay, !(lrDecay > 0 && lrDecay.isFinite) { throw ValidationError("--lr-decay must be a positive number") }
        if let threads, threads <= 0 { throw ValidationError("--threads must be positive") }
        if let shuffle, Model.Shuffle(rawValue: shuffle) == nil {
            throw ValidationError("--shuffle must be one of \(Model.Shuffle.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let checkpointEvery, checkpointEvery <= 0 { throw ValidationError("--checkpoint-every must be a positive number of batches") }
        if checkpointEvery != nil && checkpoint == nil && resume == nil { throw ValidationError("--checkpoint-every needs --checkpoint PATH (or --resume PATH)") }
        if resume != nil {
            let fixed = [("--model", model != nil), ("--optimizer", optimizer != nil), ("--learning-rate", learningRate != nil), ("--lr-decay", lrDecay != nil),
                         ("--loss", loss != nil), ("--seed", seed != nil)].filter(\.1).map(\.0)
            if !fixed.isEmpty {
                throw ValidationError("\(fixed.joined(separator: ", ")) cannot be combined with --resume: the checkpoint holds the model, optimizer, loss and seed")
            }
        }
    }

    func run() throws {
        let comm = try launchCommunicator()
        do {
            try train(comm)
        } catch {
            // Under mpirun, say which rank failed; MPI is not finalized (a peer may be gone).
            guard let comm else { throw error }
            let prefix = "rank \(comm.rank) of \(comm.size): "
            let text = "\(error)"
            throw FoveaError(text.hasPrefix(prefix) ? text : prefix + text)  // the communicator's errors already say it
        }
        try finishCommunicator(comm)
    }

    /// Trains alone, or with `comm` data-parallel: every rank runs this with the same arguments; rank
    /// 0 alone prints, writes checkpoints, the CSV log and the final model.
    func train(_ comm: Communicator?) throws {
        let lead = (comm?.rank ?? 0) == 0
        func say(_ line: String) { if lead { print(line) } }
        if let threads { ThreadPool.threadCount = threads } else if comm != nil, let perRank = defaultThreadsPerRank() { ThreadPool.threadCount = perRank }
        let mnist = try data.load()
        let net: Model
        let modelName: String
        var decay = lrDecay
        var position: TrainingPosition?
        if let resume {
            net = try Model.load(from: URL(fileURLWithPath: resume))
            guard let optimizer = net.optimizer, let saved = net.trainingPosition else {
                throw FoveaError("\(resume): holds no optimizer state and training position; resume from a file written by fovea train --checkpoint")
            }
            // As with --epochs 0: nothing left to train would rewrite the file with what it holds.
            guard epochs > saved.epoch else {
                throw ValidationError("--epochs \(epochs) counts all epochs, and \(resume) has already done \(saved.epoch)\(saved.step > 0 ? " (and \(saved.step) steps of the next)" : ""); give a larger --epochs to train more")
            }
            position = saved
            modelName = "\(net.name) from \(resume)"
            say("Resuming at epoch \(saved.epoch + 1), step \(saved.step)/\(saved.stepsPerEpoch) (\(optimizer.name), \(optimizer.iterations) steps done)")
        } else {
            let architecture = try Architecture(named: model ?? Architecture.seedCNN.rawValue)
            // MNIST's images and classes, whatever the architecture's defaults (an ImageNet network
            // refuses 28×28×1 as Keras does: it is below its minimum input size).
            net = try architecture.make(inputShape: [28, 28, 1], classes: 10, seed: seed ?? 0)
            decay = decay ?? architecture.defaultLearningRateDecay
            net.compile(optimizer: try Optimizer.named(optimizer ?? "rmsprop", learningRate: learningRate),
                        loss: try Loss(named: loss ?? "sparse_categorical_crossentropy"), metrics: [.accuracy])
            modelName = architecture.rawValue
        }
        let lossFunction = net.loss!
        let (x, labels) = mnist.tensors(.train, limit: limit)
        if let decay, decay != 1, let optimizer = net.optimizer {
            let stepsPerEpoch = (try Model.trainingCount(samples: x.shape[0], validationSplit: validationSplit) + batchSize - 1) / batchSize
            optimizer.schedule = .exponentialDecay(initial: optimizer.learningRate, decaySteps: stepsPerEpoch, decayRate: decay, staircase: true)
        }
        let (testX, testLabels) = mnist.tensors(.test)
        var callbacks: [Callback] = []
        if lead, let path = checkpoint ?? resume {
            // The path is literal: braces would be ModelCheckpoint placeholders.
            let literal = path.replacingOccurrences(of: "{", with: "{{").replacingOccurrences(of: "}", with: "}}")
            callbacks.append(try ModelCheckpoint(filepath: literal))
            if let checkpointEvery { callbacks.append(try ModelCheckpoint(filepath: literal, saveFrequency: .batches(checkpointEvery))) }
        }
        if lead, let csv { callbacks.append(CSVLogger(URL(fileURLWithPath: csv), append: resume != nil)) }
        net.communicator = comm
        let ranks = comm.map { " each on \($0.size) ranks" } ?? ""
        say("Training \(modelName) (\(groupedThousands(net.parameterCount)) parameters) on \(x.shape[0]) MNIST images: \(epochs) epochs, \(net.optimizer!.name)\(decay.map { $0 != 1 ? " (learning rate ×\($0) per epoch)" : "" } ?? ""), batch \(batchSize), \(ThreadPool.threadCount) thread\(ThreadPool.threadCount == 1 ? "" : "s")\(ranks)")
        let start = Date()
        try net.fit(x: x, y: targets(labels, for: lossFunction, classes: 10), batchSize: batchSize, epochs: epochs,
                    verbose: verbose, validationSplit: validationSplit,
                    shuffle: Model.Shuffle(rawValue: shuffle ?? position?.shuffle ?? Model.Shuffle.samePermutation.rawValue)!,
                    callbacks: callbacks, resumingFrom: position)
        let fitSeconds = Date().timeIntervalSince(start)
        // A callback that could not write stopped training early; that is an error for the command.
        if let failure = callbacks.lazy.compactMap({ ($0 as? ModelCheckpoint)?.failure ?? ($0 as? CSVLogger)?.failure }).first {
            throw FoveaError(failure)
        }
        let result = try net.evaluate(x: testX, y: targets(testLabels, for: lossFunction, classes: 10), batchSize: 256)
        say(String(format: "Test loss: %.4f - test accuracy: %.4f (fit took %.1f s)", result["loss"]!, result["accuracy"]!, fitSeconds))
        if let stats = net.dataParallelStatistics {
            say(String(format: "Data-parallel: %d steps of %.1f ms on average, %.1f%% of it waiting on communication (%d gradient bucket%@ of %@ values)",
                       stats.steps, 1000 * stats.stepSeconds / Double(max(stats.steps, 1)), 100 * stats.waitShare, stats.buckets,
                       stats.buckets == 1 ? "" : "s", groupedThousands(stats.gradientValues)))
        }
        let path = output ?? checkpoint ?? resume ?? "\(modelName).safetensors"
        if lead {
            try net.save(to: URL(fileURLWithPath: path))
            say("Saved the trained model to \(path)")
        }
    }
}

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "evaluate", abstract: "Test loss and accuracy of a saved model on MNIST's test set.")
    @Option(help: "A model file saved by `fovea train`, a Keras .keras archive or a legacy Keras .h5 model.") var model: String
    @Option(help: "sparse_categorical_crossentropy, categorical_crossentropy or mse.") var loss = "sparse_categorical_crossentropy"
    @OptionGroup var data: DataOptions

    func run() throws {
        let net = try Model.load(fromAnyFormat: URL(fileURLWithPath: model))
        let lossFunction = try Loss(named: loss)
        net.compile(optimizer: RMSprop(), loss: lossFunction, metrics: [.accuracy])
        let (x, labels) = try data.load().tensors(.test)
        let result = try net.evaluate(x: x, y: targets(labels, for: lossFunction, classes: 10), batchSize: 256)
        print(String(format: "Test loss: %.4f - test accuracy: %.4f", result["loss"]!, result["accuracy"]!))
        if !result["loss"]!.isFinite {
            FileHandle.standardError.write(Data("warning: the test loss is \(result["loss"]!): the model's outputs hold NaN or infinity (its weights may hold NaN or infinity)\n".utf8))
        }
    }
}

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "predict", abstract: "The model's class probabilities for PNG/JPEG images, for an MNIST test digit (shown as text), or for a .npy array (--input/--output).")
    @Option(help: "A model file saved by `fovea train`, a Keras .keras archive or a legacy Keras .h5 model.") var model: String
    @Option(help: "Index of the test image (0..<10000), when no image files are given.") var index = 0
    @Option(help: "A .npy array of samples (batch first) to run the model on; needs --output.") var input: String?
    @Option(help: "Where to write the model's outputs for --input, as a float32 .npy.") var output: String?
    @Option(help: "Samples per batch for --input.") var batchSize = 32
    @OptionGroup var data: DataOptions
    @Argument(help: "PNG or JPEG files to classify (instead of an MNIST test image).") var images: [String] = []
    @OptionGroup var imageInput: ImageInputOptions
    @Option(help: "How many of the most probable classes to print per image.") var topK = 3

    func validate() throws {
        if topK < 1 { throw ValidationError("--top-k must be at least 1") }
        if (input == nil) != (output == nil) { throw ValidationError("--input and --output go together") }
        if input != nil && !images.isEmpty { throw ValidationError("give image files or --input, not both") }
        if batchSize <= 0 { throw ValidationError("--batch-size must be positive") }
    }

    func run() throws {
        if let input, let output { return try predictArrays(model: model, input: input, output: output, batchSize: batchSize) }
        let net = try Model.load(fromAnyFormat: URL(fileURLWithPath: model))
        if !images.isEmpty { return try predictImages(images, model: net, options: imageInput, topK: topK) }
        let mnist = try data.load()
        guard index >= 0 && index < mnist.testCount else {
            throw FoveaError("--index \(index) is out of range; the test set has images 0..<\(mnist.testCount)")
        }
        let (x, labels) = mnist.tensors(.test, limit: index + 1)
        let image = x.slice(batch: index..<(index + 1))
        print(asciiArt(image.scalars, rows: mnist.rows, columns: mnist.columns))
        let output = try net.predict(image).scalars
        print("True label: \(labelText(labels.scalars[index]))")
        // Every class, most probable first; logits (a linear last layer) become probabilities, and
        // an output holding NaN or infinity is an error that says so (topClasses).
        printScores(try topClasses(output, k: Swift.max(1, output.count)))
    }
}

/// A label read from a dataset as text: a whole number, or the value itself when it is not one.
func labelText(_ label: Float) -> String { label.checkedInt().map(String.init) ?? "\(label)" }

/// One line per class: index, probability and a bar of 40 cells.
func printScores(_ scores: [ClassScore]) {
    for score in scores {
        print(String(format: "  %d  %6.2f%%  %@", score.classIndex, score.probability * 100, textBar(score.probability, width: 40)))
    }
}

/// A grayscale image in [0, 1] as text, darker characters for brighter pixels.
func asciiArt(_ pixels: [Float], rows: Int, columns: Int) -> String {
    let ramp = Array(" .:-=+*#%@")
    return (0..<rows).map { r in
        String((0..<columns).map { c in ramp[(pixels[r * columns + c] * Float(ramp.count)).clampedInt(0...(ramp.count - 1))] })
    }.joined(separator: "\n")
}
