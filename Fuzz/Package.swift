// swift-tools-version:6.1
// libFuzzer harnesses for Fovea's decoders (docs/RELIABILITY.md). Kept out of the main package so its
// build and `swift test` never need the fuzzer. Build and run with scripts/fuzz.sh, which passes
// `-sanitize=fuzzer,address`; one executable serves every harness, chosen by FOVEA_FUZZ_HARNESS,
// so the instrumented library is linked once.
import PackageDescription

let package = Package(
    name: "FoveaFuzz",
    dependencies: [.package(name: "Fovea", path: "..")],
    targets: [
        .executableTarget(name: "fovea-fuzz", dependencies: [.product(name: "FoveaFuzzing", package: "Fovea")]),
    ]
)
