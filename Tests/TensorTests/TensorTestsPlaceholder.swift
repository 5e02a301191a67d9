import XCTest
import Fovea

final class TensorTestsPlaceholder: XCTestCase {
    func testThreadPoolCoversRange() {
        var seen = [Int](repeating: 0, count: 10)
        seen.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            ThreadPool.parallelFor(10) { r in for i in r { base[i] += 1 } }
        }
        XCTAssertEqual(seen, [Int](repeating: 1, count: 10))
    }
}
