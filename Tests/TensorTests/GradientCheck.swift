import XCTest
import Fovea
import FoveaTestSupport

/// The strict check of FoveaTestSupport for functions of tensors that do not throw.
func checkGradients(_ inputs: [Tensor], epsilon: Float = 1e-2, tolerance: Double = 1e-3,
                    file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) -> Tensor) {
    XCTAssertNoThrow(try assertGradients(of: f, at: inputs, epsilon: epsilon, tolerance: tolerance, file: file, line: line),
                     file: file, line: line)
}
