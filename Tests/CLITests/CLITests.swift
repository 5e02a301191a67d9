import Foundation
import XCTest
import Fovea

/// What one run of `fovea` did.
struct CLIRun: CustomStringConvertible {
    let arguments: [String]
    let status: Int32
    /// Whether it ended on a signal (a trap): never acceptable, whatever the input.
    let signaled: Bool
    let stdout: String
    let stderr: String
    var output: String { stdout + stderr }
    var description: String { "fovea \(arguments.joined(separator: " ")) → \(signaled ? "signal" : "exit") \(status)\n\(output)" }
}

/// Every `fovea` subcommand run as users run it: the executable SwiftPM built next to the tests,
/// on tiny models and data made here, its success path and its main error paths (exit status and
/// message). ArgumentParser exits 64 for a usage error, 1 for any other error; no input may end the
/// process on a signal (a trap).
final class CLITests: XCTestCase {
    /// Files every test reads (made once): tiny models, images, arrays and logs.
    nonisolated(unsafe) static var fixtures: URL!

    /// A seeded 28×28×1 → 10 network (2 filters, 3,410 parameters) with `last` as its output activation.
    static func tinyModel(_ last: Activation) throws -> Model {
        try Sequential([Input(shape: [28, 28, 1]), Conv2D(filters: 2, kernelSize: 3, activation: .relu), MaxPooling2D(poolSize: 2),
                        Flatten(), Dense(units: 10, activation: last)], name: "tiny", seed: 1)
    }

    override class func setUp() {
        super.setUp()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fovea-cli-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try tinyModel(.softmax).save(to: dir.appendingPathComponent("tiny.safetensors"))
            // Logits: a linear last layer gives negative scores.
            try tinyModel(.linear).save(to: dir.appendingPathComponent("linear.safetensors"))
            // Every weight NaN, as a flipped float in a file without a checksum can make them.
            let nan = try tinyModel(.softmax)
            for v in nan.variables { v.value = Tensor(repeating: .nan, shape: v.value.shape) }
            try nan.save(to: dir.appendingPathComponent("nan.safetensors"))
            // A bright stroke on black (a "1"), and the same dark on white paper.
            var pixels = [Float](repeating: 0, count: 28 * 28)
            for y in 5..<23 { for x in 12..<16 { pixels[y * 28 + x] = 255 } }
            try Image(width: 28, height: 28, channels: 1, pixels: pixels).writePNG(to: dir.appendingPathComponent("digit.png"))
            try Image(width: 28, height: 28, channels: 1, pixels: pixels.map { 255 - $0 }).writePNG(to: dir.appendingPathComponent("paper.png"))
            try Tensor.uniform([3, 28, 28, 1], seed: 7).writeNumPy(to: dir.appendingPathComponent("x.npy"))
            try Tensor.uniform([3, 5], seed: 7).writeNumPy(to: dir.appendingPathComponent("wrong.npy"))
            try NumPy.writeArchive([("x", NumPyArray(Tensor.uniform([3, 28, 28, 1], seed: 7)))], to: dir.appendingPathComponent("x.npz"))
            try Data("epoch,accuracy,loss,val_accuracy,val_loss\n0,0.5,1.2,0.4,1.3\n1,0.7,0.8,0.6,0.9\n2,0.8,0.5,0.7,0.6\n".utf8)
                .write(to: dir.appendingPathComponent("log.csv"))
            // The last epoch a log can hold (2⁶³ − 1): plot used to overflow on it.
            try Data("epoch,loss\n0,1.0\n9223372036854775807,0.5\n".utf8).write(to: dir.appendingPathComponent("huge-epoch.csv"))
        } catch {
            fatalError("cannot make the CLI test fixtures: \(error)")
        }
        fixtures = dir
    }

    override class func tearDown() {
        if let fixtures { try? FileManager.default.removeItem(at: fixtures) }
        super.tearDown()
    }

    func path(_ name: String) -> String { Self.fixtures.appendingPathComponent(name).path }

    /// A fresh folder for one test's outputs.
    func outputFolder() throws -> URL {
        let dir = Self.fixtures.appendingPathComponent("out-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Whether these tests (and so the `fovea` built with them) run under ThreadSanitizer
    /// (scripts/tsan.sh): its runtime is then linked into this process.
    static let underThreadSanitizer = dlsym(dlopen(nil, RTLD_NOW), "__tsan_init") != nil

    /// The `fovea` executable SwiftPM built next to this test bundle.
    func executable() throws -> URL {
        let places = [Bundle.main.executableURL?.deletingLastPathComponent(), Bundle(for: Self.self).bundleURL.deletingLastPathComponent()]
        for place in places.compactMap({ $0 }) {
            let candidate = place.appendingPathComponent("fovea")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw FoveaError("no fovea executable next to the tests in \(places.compactMap { $0?.path }); build it with swift build")
    }

    /// Runs `fovea arguments` to its end (failing the test if it takes more than `timeout` seconds),
    /// with its address space limited to `memoryLimitMiB` when given (a run that tries a huge
    /// allocation then aborts on a signal instead of swapping).
    func fovea(_ arguments: [String], memoryLimitMiB: Int? = nil, timeout: TimeInterval = 120,
               file: StaticString = #filePath, line: UInt = #line) throws -> CLIRun {
        let dir = try outputFolder()
        let out = dir.appendingPathComponent("stdout"), err = dir.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        if let memoryLimitMiB, Self.underThreadSanitizer {
            // ThreadSanitizer maps terabytes of shadow memory at start, which no `ulimit -v` allows;
            // its own cap on one allocation stands in (an allocation past it aborts, a signal).
            var environment = ProcessInfo.processInfo.environment
            let options = environment["TSAN_OPTIONS"].map { $0 + ":" } ?? ""
            environment["TSAN_OPTIONS"] = options + "max_allocation_size_mb=\(memoryLimitMiB):allocator_may_return_null=0"
            process.environment = environment
            process.executableURL = try executable()
            process.arguments = arguments
        } else if let memoryLimitMiB {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -v \(memoryLimitMiB * 1024) && exec \"$0\" \"$@\"", try executable().path] + arguments
        } else {
            process.executableURL = try executable()
            process.arguments = arguments
        }
        process.currentDirectoryURL = dir
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(2_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            XCTFail("fovea \(arguments.joined(separator: " ")) did not finish within \(timeout) s", file: file, line: line)
        }
        process.waitUntilExit()
        let run = CLIRun(arguments: arguments, status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
                         stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "", stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
        XCTAssertFalse(run.signaled, "ended on a signal (a trap): \(run)", file: file, line: line)
        return run
    }

    /// Asserts `run` exited with `status` and its output holds every one of `parts`.
    func expect(_ run: CLIRun, _ status: Int32, _ parts: [String] = [], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(run.status, status, "\(run)", file: file, line: line)
        for part in parts where !run.output.contains(part) {
            XCTFail("the output lacks '\(part)': \(run)", file: file, line: line)
        }
    }

    /// The probabilities `predict` printed (`  7   93.10%  ███…`).
    func percentages(_ text: String) -> [Double] {
        text.split(separator: "\n").compactMap { line -> Double? in
            let fields = line.split(separator: " ")
            guard fields.count >= 2, fields[1].hasSuffix("%") else { return nil }
            return Double(fields[1].dropLast())
        }
    }

    // MARK: predict

    func testPredictAnMNISTTestImage() throws {
        let run = try fovea(["predict", "--model", path("tiny.safetensors"), "--index", "0"])
        expect(run, 0, ["True label: 7"])
        let p = percentages(run.stdout)
        XCTAssertEqual(p.count, 10, "\(run)")
        XCTAssertEqual(p.reduce(0, +), 100, accuracy: 0.1)
        XCTAssertEqual(p, p.sorted(by: >), "most probable first")

        expect(try fovea(["predict", "--model", path("tiny.safetensors"), "--index", "10000"]), 1, ["--index 10000 is out of range"])
        expect(try fovea(["predict", "--model", path("missing.safetensors")]), 1, ["missing.safetensors"])
        expect(try fovea(["predict", "--model", path("tiny.safetensors"), "--top-k", "0"]), 64, ["--top-k must be at least 1"])
    }

    /// A valid model whose last layer is linear outputs negative logits: shown as probabilities,
    /// never a negative bar length (which trapped).
    func testPredictWithALinearOutputLayer() throws {
        let run = try fovea(["predict", "--model", path("linear.safetensors"), "--index", "3"])
        expect(run, 0, ["True label: 0"])
        let p = percentages(run.stdout)
        XCTAssertEqual(p.count, 10, "\(run)")
        XCTAssertEqual(p.reduce(0, +), 100, accuracy: 0.1)
        XCTAssertTrue(p.allSatisfy { $0 >= 0 }, "\(run)")
    }

    /// A NaN-weighted model predicts NaN and says so, in every mode of predict; no trap.
    func testPredictWithNaNWeightsSaysSo() throws {
        expect(try fovea(["predict", "--model", path("nan.safetensors"), "--index", "0"]), 1,
               ["True label: 7", "non-finite", "NaN", "predicts NaN"])
        expect(try fovea(["predict", "--model", path("nan.safetensors"), path("digit.png")]), 1, ["non-finite", "predicts NaN"])
        let out = try outputFolder().appendingPathComponent("y.npy")
        let run = try fovea(["predict", "--model", path("nan.safetensors"), "--input", path("x.npy"), "--output", out.path])
        expect(run, 0, ["Wrote", "warning: 30 of 30 outputs are NaN or infinite"])
        XCTAssertTrue(try Tensor.readNumPy(from: out).scalars.allSatisfy(\.isNaN))
    }

    func testPredictImageFiles() throws {
        let run = try fovea(["predict", "--model", path("tiny.safetensors"), path("digit.png"), "--top-k", "2"])
        expect(run, 0, [path("digit.png")])
        XCTAssertEqual(percentages(run.stdout).count, 2, "\(run)")
        // A dark digit on white paper: one note, one figure for the background.
        let paper = try fovea(["predict", "--model", path("tiny.safetensors"), path("paper.png")])
        XCTAssertTrue(paper.stderr.contains("gray level 255 of 255"), "\(paper)")
        expect(try fovea(["predict", "--model", path("tiny.safetensors"), path("missing.png")]), 1, ["missing.png"])
        expect(try fovea(["predict", "--model", path("tiny.safetensors"), path("x.npy")]), 1, ["x.npy"])
    }

    func testPredictArrays() throws {
        let out = try outputFolder().appendingPathComponent("y.npy")
        expect(try fovea(["predict", "--model", path("tiny.safetensors"), "--input", path("x.npy"), "--output", out.path]), 0, ["Wrote", "(3, 10)"])
        XCTAssertEqual(try Tensor.readNumPy(from: out).shape, [3, 10])
        expect(try fovea(["predict", "--model", path("tiny.safetensors"), "--input", path("x.npz"), "--output", out.path]), 1,
               ["x.npz", "zip archive", ".npz"])
        expect(try fovea(["predict", "--model", path("tiny.safetensors"), "--input", path("wrong.npy"), "--output", out.path]), 1,
               ["(3, 5)", "expects"])
        expect(try fovea(["predict", "--model", path("tiny.safetensors"), "--input", path("x.npy")]), 64, ["--input and --output go together"])
    }

    // MARK: evaluate, convert, summary

    func testEvaluate() throws {
        expect(try fovea(["evaluate", "--model", path("tiny.safetensors")]), 0, ["Test loss:", "test accuracy:"])
        let nan = try fovea(["evaluate", "--model", path("nan.safetensors")])
        expect(nan, 0, ["Test loss: nan", "warning: the test loss is nan"])
        expect(try fovea(["evaluate", "--model", path("tiny.safetensors"), "--loss", "hinge"]), 1, ["unknown loss 'hinge'"])
        expect(try fovea(["evaluate", "--model", path("digit.png")]), 1, ["digit.png"])
    }

    func testConvertAndSummary() throws {
        let dir = try outputFolder()
        for name in ["tiny.keras", "tiny.h5", "tiny-again.safetensors"] {
            let target = dir.appendingPathComponent(name).path
            expect(try fovea(["convert", path("tiny.safetensors"), target]), 0, ["Wrote \(target)", "3,410 parameters"])
            expect(try fovea(["summary", "--model", target]), 0, ["Total params: 3,410"])
        }
        expect(try fovea(["convert", path("missing.keras"), dir.appendingPathComponent("x.keras").path]), 1, ["neither a built-in model"])
        expect(try fovea(["summary"]), 0, ["Total params"])
        expect(try fovea(["summary", "--model", path("nan.safetensors")]), 0, ["Total params: 3,410"])
        expect(try fovea(["summary", "--model", "seed-cnn", "--no-top"]), 1, ["seed-cnn has no separate classifier top"])
        expect(try fovea(["summary", "--model", path("tiny.safetensors"), "--no-top"]), 64, ["--no-top applies to a built-in ImageNet application"])
        expect(try fovea(["summary", "--model", path("missing.safetensors")]), 1, ["neither a built-in model"])
    }

    /// Files whose architecture asks for overflowing or enormous shapes: a clear error, a non-zero
    /// exit, and no huge allocation (the process runs under a 3 GiB address-space limit). Native
    /// files of format version 1, which carry no checksum.
    func testSummaryOfHostileArchitectures() throws {
        let dir = try outputFolder()
        func layer(_ className: String, _ config: String) -> String { "{\"class_name\": \"\(className)\", \"config\": \(config)}" }
        let input = layer("InputLayer", "{\"name\": \"in\", \"batch_shape\": [null, 28, 28, 1]}")
        let cases: [(String, [String], [String])] = [
            ("dilation", [input, layer("Conv2D", "{\"name\": \"c\", \"filters\": 2, \"kernel_size\": 3, \"dilation_rate\": 9223372036854775807}")],
             ["dilation_rate = 9223372036854775807", "FOVEA_MAX_ARCHITECTURE_VALUE"]),
            ("batch-shape", [layer("InputLayer", "{\"name\": \"in\", \"batch_shape\": [null, 4611686018427387904, 1]}"), layer("Flatten", "{\"name\": \"f\"}")],
             ["batch_shape = 4611686018427387904", "FOVEA_MAX_ARCHITECTURE_VALUE"]),
            ("filters", [input, layer("Conv2D", "{\"name\": \"c\", \"filters\": 1073741824, \"kernel_size\": 3}")],
             ["filters = 1073741824", "FOVEA_MAX_ARCHITECTURE_VALUE"]),
            ("units", [input, layer("Flatten", "{\"name\": \"f\"}"), layer("Dense", "{\"name\": \"d\", \"units\": 2147483648}")],
             ["units = 2147483648", "FOVEA_MAX_ARCHITECTURE_VALUE"]),
            ("kernel", [input, layer("Flatten", "{\"name\": \"f\"}"), layer("Dense", "{\"name\": \"d\", \"units\": 16777216}")],
             ["kernel of shape (784, 16777216)", "FOVEA_MAX_TENSOR_ELEMENTS"]),
        ]
        for (name, layers, message) in cases {
            let architecture = "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"hostile\", \"layers\": [\(layers.joined(separator: ", "))]}}"
            let url = dir.appendingPathComponent("\(name).safetensors")
            try SafeTensors.encode([], metadata: ["format": "fovea", "format_version": "1", "architecture": architecture]).write(to: url)
            expect(try fovea(["summary", "--model", url.path], memoryLimitMiB: 3072), 1, [url.path] + message)
        }
    }

    // MARK: images

    func testFilter() throws {
        let dir = try outputFolder()
        let run = try fovea(["filter", path("digit.png"), "--kernel", "blur", "--kernel", "1,0,-1;2,0,-2;1,0,-1", "--out", dir.path, "--sheet"])
        expect(run, 0, ["digit-blur.png", "digit-custom.png", "digit-sheet.png"])
        for name in ["digit-blur.png", "digit-custom.png", "digit-sheet.png"] {
            XCTAssertNoThrow(try Image.read(from: dir.appendingPathComponent(name)), name)
        }
        expect(try fovea(["filter", path("digit.png"), "--kernel", "nosuch", "--out", dir.path]), 1, ["unknown kernel 'nosuch'"])
        expect(try fovea(["filter", path("digit.png"), "--display", "bogus"]), 64, ["--display must be one of"])
        expect(try fovea(["filter", path("missing.png"), "--out", dir.path]), 1, ["missing.png"])
    }

    func testPool() throws {
        let dir = try outputFolder()
        expect(try fovea(["pool", path("digit.png"), "--mode", "max", "--mode", "average", "--out", dir.path, "--sheet"]), 0,
               ["28×28 → 14×14", "digit-pool-sheet.png"])
        XCTAssertEqual(try Image.read(from: dir.appendingPathComponent("digit-maxpool2.png")).width, 14)
        expect(try fovea(["pool", path("digit.png"), "--size", "0"]), 64, ["--size must be at least 1"])
        expect(try fovea(["pool", path("digit.png"), "--mode", "median"]), 64, ["--mode must be one of"])
    }

    func testActivations() throws {
        let dir = try outputFolder()
        expect(try fovea(["activations", "--model", path("tiny.safetensors"), "--image", path("digit.png"), "--out", dir.path]), 0,
               ["conv2d", "Top: ", "index.html"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("index.html").path))
        // NaN weights: the maps are still drawn, and the report says why it names no class.
        let nanDir = try outputFolder()
        expect(try fovea(["activations", "--model", path("nan.safetensors"), "--image", path("digit.png"), "--out", nanDir.path]), 0,
               ["Top: none", "predicts NaN"])
        XCTAssertTrue(try String(contentsOf: nanDir.appendingPathComponent("index.html"), encoding: .utf8).contains("No prediction"))
        expect(try fovea(["activations", "--model", path("tiny.safetensors"), "--image", path("missing.png"), "--out", dir.path]), 1, ["missing.png"])
        expect(try fovea(["activations", "--model", path("tiny.safetensors"), "--image", path("digit.png"), "--out", dir.path, "--tile-size", "0"]), 64,
               ["--tile-size must be at least 1"])
    }

    func testConnectivity() throws {
        let out = try outputFolder().appendingPathComponent("c.svg")
        expect(try fovea(["connectivity", "--out", out.path, "--input-size", "5", "--kernel-size", "2"]), 0, ["5×5 inputs → 4×4 activations"])
        XCTAssertTrue(try String(contentsOf: out, encoding: .utf8).hasPrefix("<svg"))
        expect(try fovea(["connectivity", "--out", out.path, "--input-size", "3", "--kernel-size", "4"]), 1, ["1 ≤ kernel size ≤ input size"])
    }

    func testExampleImage() throws {
        let dir = try outputFolder()
        expect(try fovea(["example-image", "digit", "--out", dir.appendingPathComponent("d.png").path]), 0, ["label 7", "28×28, 1 channel"])
        expect(try fovea(["example-image", "pattern", "--size", "32", "--out", dir.appendingPathComponent("p.png").path]), 0, ["32×32"])
        expect(try fovea(["example-image", "cat", "--out", dir.appendingPathComponent("c.png").path]), 64, ["the kind must be digit or pattern"])
        expect(try fovea(["example-image", "digit", "--index", "10000", "--out", dir.appendingPathComponent("d.png").path]), 1, ["out of range"])
    }

    func testPlot() throws {
        let dir = try outputFolder()
        for name in ["c.svg", "c.png"] {
            expect(try fovea(["plot", path("log.csv"), "--out", dir.appendingPathComponent(name).path]), 0, ["Plotted loss and accuracy over 3 epochs"])
        }
        XCTAssertEqual(try Image.read(from: dir.appendingPathComponent("c.png")).width, 1680)
        let huge = try fovea(["plot", path("huge-epoch.csv"), "--out", dir.appendingPathComponent("h.svg").path])
        expect(huge, 0, ["Plotted loss over 2 epochs"])
        expect(try fovea(["plot", path("digit.png"), "--out", dir.appendingPathComponent("x.svg").path]), 1, ["digit.png"])
        expect(try fovea(["plot", path("log.csv"), "--out", dir.appendingPathComponent("c.jpg").path]), 1, ["name the file .svg or .png"])
        expect(try fovea(["plot", path("missing.csv")]), 1, ["missing.csv"])
    }

    // MARK: bench, devices, serve, train

    func testBenchAndDevices() throws {
        expect(try fovea(["bench", "--gemm", "48", "--threads", "1"]), 0, ["SGEMM 48×48×48", "GFLOP/s"])
        expect(try fovea(["bench", "--gemm", "0"]), 64, ["--gemm takes a size from 1 to 8192"])
        expect(try fovea(["bench", "--model", "nosuch", "--repetitions", "1"]), 1, ["nosuch"])
        expect(try fovea(["devices"]), 0)
        let json = try fovea(["devices", "--json"])
        expect(json, 0)
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)), json.stdout)
        expect(try fovea(["devices", "--threads", "0"]), 64, ["--threads must be positive"])
    }

    /// `serve`'s argument errors, each refused before it listens (the watchdog fails a run that serves).
    func testServeArgumentErrors() throws {
        expect(try fovea(["serve", "--help"]), 0, ["--models", "--port"])
        expect(try fovea(["serve"]), 64, ["--models"])
        expect(try fovea(["serve", "--models", Self.fixtures.path, "--port", "eighty"]), 64, ["--port"])
        expect(try fovea(["serve", "--models", Self.fixtures.path, "--port", "70000"], timeout: 30), 1, ["--port must be 0...65535"])
        expect(try fovea(["serve", "--models", Self.fixtures.path, "--max-batch-size", "0"], timeout: 30), 1, ["batch size must be at least 1"])
    }

    /// `--epochs 0` trains nothing: refused, and the output file is left as it was.
    func testTrainRefusesZeroEpochs() throws {
        let output = try outputFolder().appendingPathComponent("model.safetensors")
        try Data("keep me".utf8).write(to: output)
        expect(try fovea(["train", "--epochs", "0", "--limit", "64", "--output", output.path]), 64, ["--epochs must be at least 1"])
        XCTAssertEqual(try String(contentsOf: output, encoding: .utf8), "keep me")
        expect(try fovea(["train", "--epochs=-1"]), 64, ["--epochs must be at least 1"])
    }
}
