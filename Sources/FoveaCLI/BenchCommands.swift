import ArgumentParser
import Fovea
import Foundation

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "devices", abstract: "What Fovea computes on: CPU, caches, SIMD features, the kernel path.")
    @Flag(help: "Also measure this machine's FMA ceiling (GFLOP/s, one thread and all threads).") var measure = false
    @Option(help: "Threads for the all-threads ceiling (default: all cores).") var threads: Int?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if let threads, threads <= 0 { throw ValidationError("--threads must be positive") }
    }

    func run() throws {
        if let threads { ThreadPool.threadCount = threads }
        let machine = MachineDescription.current()
        var ceilings: [String: Double] = [:]
        if measure {
            ceilings["one_thread"] = Kernels.measureFMACeiling(threads: 1)
            ceilings["all_threads"] = Kernels.measureFMACeiling()
        }
        if json {
            var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(machine)) as! [String: Any]
            if measure { object["fma_ceiling_gflops"] = ceilings }
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
            return
        }
        print("CPU: \(machine.cpuModel), \(machine.cores) cores (Fovea uses \(machine.threads) threads)")
        print("Caches: \(machine.caches.joined(separator: ", "))")
        print("SIMD: \(machine.features.joined(separator: " "))")
        print("Kernel path: \(machine.kernelPath) (supported: \(Kernels.supportedPaths.map(\.rawValue).joined(separator: ", ")))")
        print("GPUs: none (Fovea has no GPU backend yet)")
        if measure {
            print(String(format: "FMA ceiling: %.1f GFLOP/s on one thread, %.1f GFLOP/s on %d threads",
                         ceilings["one_thread"]!, ceilings["all_threads"]!, ThreadPool.threadCount))
        }
    }
}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Training and inference speed of the built-in models, layer by layer.")
    @Option(help: "One built-in model (default: every MNIST network; name an ImageNet one to run it).") var model: String?
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Option(help: "Training batch size.") var batchSize = 64
    @Option(help: "Inference batch size.") var inferenceBatchSize = 256
    @Option(help: "Repetitions per figure (the median is reported).") var repetitions = 5
    @Option(help: "Measure only an N×N×N single-precision GEMM (GFLOP/s), e.g. --gemm 1024.") var gemm: Int?
    @Option(help: "Convolution algorithm: automatic (Winograd for 3×3 stride-1 layers), im2col or winograd.")
    var convolution: ConvolutionAlgorithm = .automatic
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if let threads, threads <= 0 { throw ValidationError("--threads must be positive") }
        if let gemm, gemm <= 0 || gemm > 8192 { throw ValidationError("--gemm takes a size from 1 to 8192") }
        if batchSize <= 0 || inferenceBatchSize <= 0 { throw ValidationError("batch sizes must be positive") }
        if repetitions <= 0 { throw ValidationError("--repetitions must be positive") }
    }

    func run() throws {
        if let threads { ThreadPool.threadCount = threads }
        if let gemm {
            let gflops = Benchmark.sgemmGFLOPS(n: gemm, repetitions: repetitions)
            if json {
                print("{\"gemm_n\": \(gemm), \"gflops\": \(String(format: "%.2f", gflops)), \"threads\": \(ThreadPool.threadCount)}")
            } else {
                print(String(format: "SGEMM %d×%d×%d: %.1f GFLOP/s on %d threads", gemm, gemm, gemm, gflops, ThreadPool.threadCount))
            }
            return
        }
        let architectures = try model.map { [try Architecture(named: $0)] } ?? Architecture.mnistNetworks
        let ceiling = Kernels.measureFMACeiling()
        var results: [BenchmarkResult] = []
        for architecture in architectures {
            let network = try architecture.make(seed: 1)
            for case let conv as Conv2D in network.layers { conv.algorithm = convolution }
            let result = try Benchmark.run(network, name: architecture.rawValue, batchSize: batchSize,
                                           inferenceBatchSize: inferenceBatchSize, repetitions: repetitions, ceilingGFLOPS: ceiling)
            results.append(result)
            if !json { printResult(result, ceiling: ceiling) }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(results), as: UTF8.self))
        }
    }

    func printResult(_ r: BenchmarkResult, ceiling: Double) {
        print("\(r.model): \(r.threads) threads, FMA ceiling \(String(format: "%.0f", ceiling)) GFLOP/s")
        print(String(format: "  training   %8.0f images/s (batch %d)", r.trainImagesPerSecond, r.batchSize))
        print(String(format: "  inference  %8.0f images/s (batch %d)", r.inferenceImagesPerSecond, r.inferenceBatchSize))
        print(String(format: "  one image  %8.3f ms", r.singleImageMilliseconds))
        print(String(format: "  peak memory %7.0f MiB (process so far)", r.peakResidentMiB))
        print("  layer                          output             forward ms  GFLOP/s  ceiling  backward ms  GFLOP/s  ceiling")
        for l in r.layers {
            let name = "\(l.name) (\(l.type))".padding(toLength: 30, withPad: " ", startingAt: 0)
            let shape = l.outputShape.padding(toLength: 18, withPad: " ", startingAt: 0)
            print(String(format: "  %@ %@ %9.2f %8.1f %7.0f%% %11.2f %8.1f %7.0f%%", name, shape,
                         l.forwardMilliseconds, l.forwardGFLOPS, 100 * l.forwardGFLOPS / ceiling,
                         l.backwardMilliseconds, l.backwardGFLOPS, 100 * l.backwardGFLOPS / ceiling))
        }
    }
}

extension ConvolutionAlgorithm: ExpressibleByArgument {}
