// Checks of Fovea's data-parallel training over Open MPI, run under `mpirun -np 2` (or more) by .ci/run
// when the package is built with `--traits MPI`. Exits 0 when every check passes on every rank.
import Foundation
import Fovea
#if MPI
import FoveaMPI

/// `--sweep`: the mean time of an in-place allreduce of 2^10 … 2^24 floats (for docs/DISTRIBUTED.md's model).
func sweep(_ comm: MPICommunicator) throws {
    var count = 1 << 10
    if comm.rank == 0 { print("floats\tbytes\tseconds per allreduce\tGB/s (bytes / time)") }
    while count <= 1 << 24 {
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 1)
        try comm.allreduceSum(buffer)
        let repeats = max(3, min(200, (1 << 22) / count))
        try comm.barrier()
        let start = Date()
        for _ in 0..<repeats { try comm.allreduceSum(buffer) }
        let seconds = Date().timeIntervalSince(start) / Double(repeats)
        let mean = try comm.allreduceSum([seconds])[0] / Double(comm.size)
        if comm.rank == 0 { print(String(format: "%d\t%d\t%.6f\t%.3f", count, 4 * count, mean, Double(4 * count) / mean / 1e9)) }
        count *= 4
    }
    try comm.finalize()
}

/// `--train MODEL IMAGES THREADS [EPOCHS [TEST]]`: EPOCHS (default 1) epochs of MODEL (batch 64, RMSprop) on the first
/// IMAGES MNIST images with THREADS threads per rank, then the test accuracy on the first TEST test images (default all
/// 10,000; 0 skips it, for timing runs: the deep CNN's test pass takes longer than its training on 1,024 images);
/// rank 0 prints images/s and the share of a step spent waiting on communication (scripts/mpi_bench.sh).
func train(_ comm: MPICommunicator, _ args: [String]) throws {
    guard (3...5).contains(args.count), let architecture = Architecture(rawValue: args[0]), let images = Int(args[1]), images > 0,
          let threads = Int(args[2]), threads > 0,
          let epochs = args.count >= 4 ? Int(args[3]) : 1, epochs > 0,
          let testImages = args.count == 5 ? Int(args[4]) : 10_000, testImages >= 0 else {
        throw FoveaError("--train MODEL IMAGES THREADS [EPOCHS [TEST]]: a built-in model, positive counts of images, threads and epochs, and a test count ≥ 0")
    }
    ThreadPool.threadCount = threads
    let (x, y) = try MNIST.load().tensors(.train, limit: images)
    let model = try architecture.make(inputShape: [28, 28, 1], classes: 10, seed: 0)
    model.compile(optimizer: RMSprop(), loss: .sparseCategoricalCrossentropy(), metrics: [.accuracy])
    model.communicator = comm
    let start = Date()
    try model.fit(x: x, y: y, batchSize: 64, epochs: epochs, verbose: 0)
    let seconds = Date().timeIntervalSince(start) / Double(epochs)
    var accuracy = "not evaluated"
    if testImages > 0 {
        let (testX, testY) = try MNIST.load().tensors(.test, limit: testImages)
        let test = try model.evaluate(x: testX, y: testY, batchSize: 256)
        accuracy = String(format: "%.4f on %d test images", test["accuracy"]!, testX.shape[0])
    }
    let wait = model.dataParallelStatistics?.waitShare ?? 0
    if comm.rank == 0 {
        print(String(format: "train %@ on %d ranks x %d threads: %.1f images/s, waiting on communication %.1f%% of step time; test accuracy %@ after %d epochs",
                     args[0], comm.size, threads, Double(images) / seconds, 100 * wait, accuracy, epochs))
    }
    try comm.finalize()
}

func main() throws -> Int32 {
    let comm = try MPICommunicator()
    if CommandLine.arguments.contains("--sweep") { try sweep(comm); return 0 }
    if let i = CommandLine.arguments.firstIndex(of: "--train") { try train(comm, Array(CommandLine.arguments[(i + 1)...])); return 0 }
    var failures: [String] = []
    func expect(_ ok: Bool, _ what: @autoclosure () -> String) { if !ok { failures.append(what()) } }
    let rank = comm.rank, size = comm.size

    // Collectives: sums, in-place buckets started together and awaited in order, broadcast, barrier.
    var values = [Float](repeating: Float(rank + 1), count: 1000)
    try values.withUnsafeMutableBufferPointer { try comm.allreduceSum($0) }
    expect(values.allSatisfy { $0 == Float(size * (size + 1) / 2) }, "allreduce of floats")
    let buckets = UnsafeMutableBufferPointer<Float>.allocate(capacity: 3 * 4096)
    defer { buckets.deallocate() }
    for i in buckets.indices { buckets[i] = Float(i / 4096 + rank) }
    let requests = try (0..<3).map { try comm.startAllreduceSum(UnsafeMutableBufferPointer(rebasing: buckets[($0 * 4096)..<(($0 + 1) * 4096)])) }
    for request in requests { try request.wait() }
    expect(buckets.indices.allSatisfy { buckets[$0] == Float(size * ($0 / 4096)) + Float(size * (size - 1) / 2) }, "bucketed nonblocking allreduce")
    let sums = try comm.allreduceSum([Double(rank), 0.5])
    expect(sums == [Double(size * (size - 1) / 2), 0.5 * Double(size)], "allreduce of doubles: \(sums)")
    var sent = [Float](repeating: Float(rank), count: 7)
    try sent.withUnsafeMutableBufferPointer { try comm.broadcast($0, root: size - 1) }
    expect(sent.allSatisfy { $0 == Float(size - 1) }, "broadcast from the last rank")
    try comm.barrier()

    // Training: global batch 64 over the ranks gives one process's weights after 50 plain-SGD steps.
    let (x, y) = try MNIST.load().tensors(.train, limit: 50 * 64)
    func cnn(seed: UInt64, dropout: Bool = false) throws -> Model {
        var layers: [Layer] = [Input(shape: [28, 28, 1]), Conv2D(filters: 6, kernelSize: 3, activation: .relu)]
        if dropout { layers.append(SpatialDropout2D(rate: 0.2)) }
        layers += [MaxPooling2D(poolSize: 2), Conv2D(filters: 8, kernelSize: 3, activation: .relu), MaxPooling2D(poolSize: 2), Flatten()]
        if dropout { layers.append(Dropout(0.3)) }
        layers.append(Dense(10, activation: .softmax))
        let model = try Sequential(layers, seed: seed)
        model.compile(optimizer: SGD(learningRate: 0.05), loss: .sparseCategoricalCrossentropy(), metrics: [.accuracy])
        return model
    }
    func relativeDifference(_ a: Model, _ b: Model) -> Double {
        var worst = 0.0
        for (a, b) in zip(a.weightValues(), b.weightValues()) {
            let d = zip(a.scalars, b.scalars).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
            let n = b.scalars.reduce(0.0) { $0 + Double($1) * Double($1) }
            worst = max(worst, (d / n).squareRoot())
        }
        return worst
    }
    let lone = try cnn(seed: 11)
    try lone.fit(x: x, y: y, batchSize: 64, epochs: 1, verbose: 0)
    let parallel = try cnn(seed: 11 + UInt64(rank))   // fit broadcasts rank 0's initial weights
    parallel.communicator = comm
    try parallel.fit(x: x, y: y, batchSize: 64, epochs: 1, verbose: 0)
    let worst = relativeDifference(parallel, lone)
    expect(worst < 1e-5, "\(size) ranks vs one process after 50 SGD steps: relative difference \(worst)")
    expect(parallel.optimizer!.iterations == 50, "50 steps")

    // The same with Dropout and SpatialDropout2D: each rank draws the masks one process draws for its
    // samples (and rank 0's generator states are broadcast), so the run is still one process's.
    let loneDropout = try cnn(seed: 12, dropout: true)
    try loneDropout.fit(x: x, y: y, batchSize: 64, epochs: 1, verbose: 0)
    let parallelDropout = try cnn(seed: 12 + UInt64(rank), dropout: true)
    parallelDropout.communicator = comm
    try parallelDropout.fit(x: x, y: y, batchSize: 64, epochs: 1, verbose: 0)
    let worstDropout = relativeDifference(parallelDropout, loneDropout)
    expect(worstDropout < 1e-5, "\(size) ranks vs one process after 50 SGD steps with dropout: relative difference \(worstDropout)")
    let states = { (m: Model) in m.layers.compactMap(\.randomState) }
    expect(states(parallelDropout) == states(loneDropout) && states(loneDropout).count == 2,
           "dropout generators after 50 steps: \(states(parallelDropout)) vs one process's \(states(loneDropout))")
    let (testX, testY) = try MNIST.load().tensors(.test, limit: 1000)
    let split = try parallel.evaluate(x: testX, y: testY, batchSize: 100)
    parallel.communicator = nil
    let whole = try parallel.evaluate(x: testX, y: testY, batchSize: 100)
    expect(split["accuracy"] == whole["accuracy"] && abs(split["loss"]! - whole["loss"]!) < 1e-5, "evaluation split across ranks: \(split) vs \(whole)")
    let stats = parallel.dataParallelStatistics!
    if rank == 0 {
        print(String(format: "MPICheck on %d ranks (thread level %d): 50 steps, %d gradient buckets, waited on communication %.1f%% of step time, relative difference %.2e (with dropout %.2e)",
                     size, comm.threadLevel, stats.buckets, 100 * stats.waitShare, worst, worstDropout))
    }

    let failed = try comm.allreduceSum([Double(failures.count)])[0]
    for f in failures { print("rank \(rank): FAILED \(f)") }
    try comm.finalize()
    if rank == 0 { print(failed == 0 ? "MPI checks passed on \(size) ranks" : "MPI checks: \(Int(failed)) failures") }
    return failed == 0 ? 0 : 1
}

do { exit(try main()) } catch {
    FileHandle.standardError.write("FoveaMPICheck: \(error)\n".data(using: .utf8)!)
    exit(1)
}
#else
FileHandle.standardError.write("FoveaMPICheck needs the MPI trait: swift build -c release --traits MPI --product FoveaMPICheck\n".data(using: .utf8)!)
exit(2)
#endif
