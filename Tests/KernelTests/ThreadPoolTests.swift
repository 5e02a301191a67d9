import XCTest
import Fovea

final class ThreadPoolTests: XCTestCase {
    func testThreadPoolCoversRange() {
        var seen = [Int](repeating: 0, count: 10)
        seen.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            ThreadPool.parallelFor(10) { r in for i in r { base[i] += 1 } }
        }
        XCTAssertEqual(seen, [Int](repeating: 1, count: 10))
    }

    func testPathDetection() {
        XCTAssertTrue(Kernels.supportedPaths.contains(.portable))
        XCTAssertTrue(Kernels.supportedPaths.contains(Kernels.detectedPath))
        XCTAssertEqual(Kernels.supportedPaths.last, Kernels.detectedPath)
        #if arch(x86_64)
        XCTAssertTrue(Kernels.cpuFeatures.contains("sse2"), "\(Kernels.cpuFeatures)")
        XCTAssertEqual(Kernels.cpuFeatures.contains("avx2") && Kernels.cpuFeatures.contains("fma"),
                       KernelPath.avx2.isSupported)
        #endif
    }
}
