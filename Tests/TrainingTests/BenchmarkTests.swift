import XCTest
import Fovea

/// The benchmark's bookkeeping (not its speed: speed targets live in `fovea bench`, never in tests).
final class BenchmarkTests: XCTestCase {
    func testBenchmarkReportsEveryLayerWithItsArithmetic() throws {
        let model = try Sequential([Input(shape: [8, 8, 1]), Conv2D(filters: 4, kernelSize: 3, activation: .relu),
                                    MaxPooling2D(poolSize: 2), Flatten(), Dense(3, activation: .softmax)], seed: 1)
        let result = try Benchmark.run(model, name: "tiny", batchSize: 4, inferenceBatchSize: 8, repetitions: 1, stepsPerRepetition: 2)
        XCTAssertEqual(result.layers.map(\.name), ["conv2d", "max_pooling2d", "flatten", "dense"])
        XCTAssertEqual(result.layers[0].outputShape, "(4, 6, 6, 4)")
        // Conv: 2 · (4·6·6·4 outputs) · (3·3·1) = 10,368; dense: 2 · 4 · 36 · 3 = 864.
        XCTAssertEqual(result.layers[0].forwardFLOPs, 10_368)
        XCTAssertEqual(result.layers[3].forwardFLOPs, 864)
        XCTAssertEqual(result.layers[2].forwardFLOPs, 0)
        XCTAssertTrue(result.trainImagesPerSecond > 0 && result.inferenceImagesPerSecond > 0 && result.singleImageMilliseconds > 0)
        XCTAssertGreaterThan(result.peakResidentMiB, 1)
        XCTAssertThrowsError(try Benchmark.run(try Sequential([Dense(2)]), name: "unbuilt")) { XCTAssertTrue("\($0)".contains("built"), "\($0)") }
    }

    func testMachineDescriptionAndCeiling() {
        let machine = MachineDescription.current()
        XCTAssertGreaterThan(machine.cores, 0)
        XCTAssertEqual(machine.kernelPath, Kernels.detectedPath.rawValue)
        XCTAssertTrue(Kernels.supportedPaths.contains(.portable))
        for path in Kernels.supportedPaths {
            XCTAssertGreaterThan(Kernels.measureFMACeiling(threads: 1, path: path, seconds: 0.02), 0.1, path.rawValue)
        }
    }
}
