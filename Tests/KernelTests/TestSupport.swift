import XCTest
import Fovea

/// Deterministic pseudo-random numbers (64-bit LCG, Knuth's MMIX constants).
struct LCG {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1 }
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state >> 33
    }
    /// Uniform in [-1, 1).
    mutating func float() -> Float { Float(next() % 2_000_000) / 1_000_000 - 1 }
    mutating func floats(_ count: Int) -> [Float] { (0..<count).map { _ in float() } }
    /// Small integers 0..<levels as floats: many exact ties.
    mutating func levels(_ count: Int, _ levels: UInt64) -> [Float] {
        (0..<count).map { _ in Float(next() % levels) }
    }
}

/// Asserts |got − want| ≤ tolerance elementwise, reporting the first offender.
func assertClose(_ got: [Float], _ want: [Double], tolerance: [Double], _ message: @autoclosure () -> String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(got.count, want.count, message(), file: file, line: line)
    for i in 0..<min(got.count, want.count) where !(abs(Double(got[i]) - want[i]) <= tolerance[i]) {
        XCTFail("\(message()): index \(i): got \(got[i]), want \(want[i]) (tolerance \(tolerance[i]))",
                file: file, line: line)
        return
    }
}

extension Array where Element == Float {
    /// A non-nil base address even for an empty array (kernels never read it then).
    func withPointer<R>(_ body: (UnsafePointer<Float>) -> R) -> R {
        if isEmpty { return [Float(0)].withUnsafeBufferPointer { body($0.baseAddress!) } }
        return withUnsafeBufferPointer { body($0.baseAddress!) }
    }
    mutating func withMutablePointer<R>(_ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        if isEmpty { var one: [Float] = [0]; return one.withUnsafeMutableBufferPointer { body($0.baseAddress!) } }
        return withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }
}

/// Every kernel path this CPU can run (portable always; avx2/avx512 when present).
let runnablePaths = Kernels.supportedPaths
