// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Fovea",
    products: [
        .library(name: "Fovea", targets: ["Fovea"]),
        .executable(name: "fovea", targets: ["FoveaCLI"]),
        // The model server's core (no HTTP) and its Hummingbird routes; `Fovea` users link neither.
        .library(name: "FoveaServing", targets: ["FoveaServing"]),
        .library(name: "FoveaServer", targets: ["FoveaServer"]),
        // The fuzz harnesses' entry points, for the libFuzzer package in Fuzz/ (scripts/fuzz.sh).
        .library(name: "FoveaFuzzing", targets: ["FoveaFuzzing"]),
    ],
    // `swift build -c release --traits MPI`: a `fovea` that trains data-parallel under Open MPI's mpirun
    // (docs/DISTRIBUTED.md). The default build needs no MPI.
    traits: [.trait(name: "MPI", description: "Data-parallel training over Open MPI (libopenmpi-dev)")],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // SHA-256 (data files' SHA256SUMS, the native model file's checksum) and zip writing (.keras, .npz):
        // vetted packages rather than code of Fovea's own. Zip *reading* stays Fovea's (IO/Zip.swift says why).
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        // `fovea serve` (FoveaServing, FoveaServer): HTTP, logs, metrics.
        // Hummingbird without its swift-configuration trait (not used; one package less to build).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // Micro-kernels, packing and layout transforms per instruction set (chosen at run time).
        .target(name: "CFoveaKernels"),
        // zlib from the system (gzip-compressed MNIST IDX files, zip entries). Not named CZlib: ZIPFoundation
        // has a module of that name.
        .systemLibrary(name: "CFoveaZlib", providers: [.apt(["zlib1g-dev"])]),
        // libpng and libjpeg(-turbo) from the system (image files), and the C layer over them that keeps
        // their setjmp/longjmp error handling out of Swift frames.
        .systemLibrary(name: "CPNG", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", providers: [.apt(["libjpeg62-turbo-dev"])]),
        .target(name: "CFoveaImageCodecs", dependencies: ["CPNG", "CJPEG"],
                linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg")]),
        .target(name: "Fovea", dependencies: [
            "CFoveaKernels", "CFoveaZlib", "CFoveaImageCodecs",
            .product(name: "Crypto", package: "swift-crypto"), .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ], resources: [.copy("Resources/mnist")]),
        // The model-serving core: repository watching, dynamic batching, tensor codecs and request
        // decoders, testable without HTTP. Every use of Fovea's model API is in ServedModel.swift.
        .target(name: "FoveaServing", dependencies: [
            "Fovea",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ], swiftSettings: [.swiftLanguageMode(.v6)]),
        // `fovea serve`'s HTTP routes (Open Inference Protocol, TF Serving REST, TorchServe-style images).
        .target(name: "FoveaServer", dependencies: [
            "Fovea", "FoveaServing",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], resources: [.copy("Resources/openapi.json")], swiftSettings: [.swiftLanguageMode(.v6)]),
        // One entry point per input format and request decoder, shared by Fuzz/ and FuzzRegressionTests.
        .target(name: "FoveaFuzzing", dependencies: ["Fovea", "FoveaServing"]),
        .executableTarget(name: "FoveaCLI", dependencies: [
            "Fovea", "FoveaServer", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .target(name: "FoveaMPI", condition: .when(traits: ["MPI"])),
        ]),
        // Open MPI (the MPI trait only) and Fovea's Communicator over it; empty without the trait.
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        .target(name: "FoveaMPI", dependencies: ["Fovea", .target(name: "CMPI", condition: .when(traits: ["MPI"]))]),
        // MPI checks run under `mpirun -np 2` by .ci/run when built with the trait (Tests/MPICheck).
        .executableTarget(name: "FoveaMPICheck", dependencies: ["Fovea", .target(name: "FoveaMPI", condition: .when(traits: ["MPI"]))],
                          path: "Tests/MPICheck"),
        // The seeds' hand-built CNN from tensor operations only (`swift run -c release FromScratch`).
        .executableTarget(name: "FromScratch", dependencies: ["Fovea"], path: "Examples/FromScratch"),
        // Trains from Keras's initial weights without shuffling, for a step-by-step comparison
        // with Keras (scripts/keras_parity.py).
        .executableTarget(name: "KerasParity", dependencies: ["Fovea"], path: "Examples/KerasParity"),
        // What the test targets share: the strict gradient check and its inputs.
        .target(name: "FoveaTestSupport", dependencies: ["Fovea"], path: "Tests/Support"),
        .testTarget(name: "KernelTests", dependencies: ["Fovea", "CFoveaKernels"]),
        .testTarget(name: "TensorTests", dependencies: ["Fovea", "FoveaTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LayerTests", dependencies: ["Fovea", "FoveaTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TrainingTests", dependencies: ["Fovea"], resources: [.copy("Fixtures")]),
        .testTarget(name: "DataTests", dependencies: ["Fovea"]),
        // Every `fovea` subcommand run as users run it (the executable SwiftPM builds), success and error paths.
        .testTarget(name: "CLITests", dependencies: ["Fovea"]),
        .testTarget(name: "ImageTests", dependencies: ["Fovea", "CFoveaImageCodecs", "CFoveaZlib"], resources: [.copy("Fixtures")]),
        // NumPy arrays, zip, HDF5 and Keras archives; fixtures made by scripts/make_keras_model_fixture.py.
        .testTarget(name: "IOTests", dependencies: ["Fovea", .product(name: "ZIPFoundation", package: "ZIPFoundation")], resources: [.copy("Fixtures")]),
        .testTarget(name: "ServingTests", dependencies: ["FoveaServing", "Fovea", .product(name: "Logging", package: "swift-log")], swiftSettings: [.swiftLanguageMode(.v6)]),
        .testTarget(name: "ServerTests", dependencies: [
            "FoveaServer", "FoveaServing", "Fovea",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: [.swiftLanguageMode(.v6)]),
        // Replays every committed fuzz seed and regression input (Fuzz/Corpus, Fuzz/Regressions).
        .testTarget(name: "FuzzRegressionTests", dependencies: ["FoveaFuzzing"]),
    ],
    swiftLanguageModes: [.v5]
)
