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
        .target(name: "Fovea", dependencies: ["CFoveaKernels", "CZlib"], resources: [.copy("Resources/mnist")]),
        .executableTarget(name: "FoveaCLI", dependencies: [
            "Fovea", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The seeds' hand-built CNN from tensor operations only (`swift run -c release FromScratch`).
        .executableTarget(name: "FromScratch", dependencies: ["Fovea"], path: "Examples/FromScratch"),
        .testTarget(name: "KernelTests", dependencies: ["Fovea", "CFoveaKernels"]),
        .testTarget(name: "TensorTests", dependencies: ["Fovea"]),
        .testTarget(name: "LayerTests", dependencies: ["Fovea"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TrainingTests", dependencies: ["Fovea"], resources: [.copy("Fixtures")]),
        .testTarget(name: "DataTests", dependencies: ["Fovea"]),
    ],
    swiftLanguageModes: [.v5]
)
