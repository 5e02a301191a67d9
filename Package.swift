// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Fovea",
    products: [
        .library(name: "Fovea", targets: ["Fovea"]),
        .executable(name: "fovea", targets: ["FoveaCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Micro-kernels, packing and layout transforms per instruction set (chosen at run time).
        .target(name: "CFoveaKernels"),
        // zlib from the system (gzip-compressed MNIST IDX files).
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // libpng and libjpeg(-turbo) from the system (image files), and the C layer over them that keeps
        // their setjmp/longjmp error handling out of Swift frames.
        .systemLibrary(name: "CPNG", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", providers: [.apt(["libjpeg62-turbo-dev"])]),
        .target(name: "CFoveaImageCodecs", dependencies: ["CPNG", "CJPEG"],
                linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg")]),
        .target(name: "Fovea", dependencies: ["CFoveaKernels", "CZlib", "CFoveaImageCodecs"], resources: [.copy("Resources/mnist")]),
        .executableTarget(name: "FoveaCLI", dependencies: [
            "Fovea", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
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
        .testTarget(name: "ImageTests", dependencies: ["Fovea", "CFoveaImageCodecs", "CZlib"], resources: [.copy("Fixtures")]),
        // NumPy arrays, zip, HDF5 and Keras archives; fixtures made by scripts/make_keras_model_fixture.py.
        .testTarget(name: "IOTests", dependencies: ["Fovea"], resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v5]
)
