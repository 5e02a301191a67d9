import XCTest
import Fovea
import FoveaTestSupport

/// Zero padding, cropping and up-sampling (nearest and bilinear) in NHWC, NCHW and other axis
/// pairs: forward against plain loops and gradient checks.
final class ResamplingOpsTests: XCTestCase {
    /// Index of a 4-D `[a, b, c, d]` element.
    static func at(_ t: Tensor, _ i: [Int]) -> Float { t[i[0], i[1], i[2], i[3]] }

    /// Every 4-D index of `shape`.
    static func indices(_ shape: [Int]) -> [[Int]] {
        var out: [[Int]] = []
        for a in 0..<shape[0] { for b in 0..<shape[1] { for c in 0..<shape[2] { for d in 0..<shape[3] { out.append([a, b, c, d]) } } } }
        return out
    }

    func testPaddingAndCroppingEqualPlainLoops() {
        for (axes, shape) in [(SpatialAxes.channelsLast, [2, 4, 5, 3]), (.channelsFirst, [2, 3, 4, 5])] {
            let x = Tensor.uniform(shape, low: -1, high: 1, seed: 1)
            let (hAxis, wAxis) = (axes.height, axes.width)
            let padded = x.zeroPadded(top: 1, bottom: 2, left: 3, right: 0, axes: axes)
            var expectedShape = shape
            expectedShape[hAxis] += 3; expectedShape[wAxis] += 3
            XCTAssertEqual(padded.shape, expectedShape)
            for i in Self.indices(padded.shape) {
                var src = i
                src[hAxis] -= 1; src[wAxis] -= 3
                let inside = src[hAxis] >= 0 && src[hAxis] < shape[hAxis] && src[wAxis] >= 0 && src[wAxis] < shape[wAxis]
                XCTAssertEqual(Self.at(padded, i), inside ? Self.at(x, src) : 0, "\(axes) padding at \(i)")
            }
            let cropped = x.cropped(top: 1, bottom: 1, left: 2, right: 1, axes: axes)
            expectedShape = shape
            expectedShape[hAxis] -= 2; expectedShape[wAxis] -= 3
            XCTAssertEqual(cropped.shape, expectedShape)
            for i in Self.indices(cropped.shape) {
                var src = i
                src[hAxis] += 1; src[wAxis] += 2
                XCTAssertEqual(Self.at(cropped, i), Self.at(x, src), "\(axes) cropping at \(i)")
            }
        }
    }

    func testNearestUpsamplingEqualsPlainLoops() {
        for (axes, shape) in [(SpatialAxes.channelsLast, [2, 3, 4, 3]), (.channelsFirst, [2, 3, 3, 4])] {
            let x = Tensor.uniform(shape, low: -1, high: 1, seed: 2)
            let y = x.upsampled(rows: 2, columns: 3, axes: axes)
            for i in Self.indices(y.shape) {
                var src = i
                src[axes.height] /= 2; src[axes.width] /= 3
                XCTAssertEqual(Self.at(y, i), Self.at(x, src))
            }
        }
    }

    /// TensorFlow's half-pixel bilinear resize of one [h, w] plane, written out plainly.
    static func bilinear(_ plane: [[Float]], toHeight outH: Int, width outW: Int) -> [[Float]] {
        let inH = plane.count, inW = plane[0].count
        func source(_ d: Int, _ inSize: Int, _ outSize: Int) -> (Int, Int, Float) {
            let c = (Float(d) + 0.5) * (Float(inSize) / Float(outSize)) - 0.5
            return (Swift.max(Int(c.rounded(.down)), 0), Swift.min(Int(c.rounded(.up)), inSize - 1), c - c.rounded(.down))
        }
        return (0..<outH).map { y in
            let (y0, y1, ly) = source(y, inH, outH)
            return (0..<outW).map { x in
                let (x0, x1, lx) = source(x, inW, outW)
                let top = plane[y0][x0] + (plane[y0][x1] - plane[y0][x0]) * lx
                let bottom = plane[y1][x0] + (plane[y1][x1] - plane[y1][x0]) * lx
                return top + (bottom - top) * ly
            }
        }
    }

    func testBilinearEqualsPlainLoops() {
        let x = Tensor.uniform([2, 5, 6, 3], low: -1, high: 1, seed: 3)
        for (h, w) in [(10, 12), (15, 6), (7, 9), (3, 4), (5, 6)] {
            let y = x.resizedBilinear(height: h, width: w)
            let yFirst = x.transposed([0, 3, 1, 2]).resizedBilinear(height: h, width: w, axes: .channelsFirst)
            for b in 0..<2 {
                for c in 0..<3 {
                    let plane = (0..<5).map { i in (0..<6).map { j in x[b, i, j, c] } }
                    let expected = Self.bilinear(plane, toHeight: h, width: w)
                    for i in 0..<h { for j in 0..<w {
                        XCTAssertEqual(y[b, i, j, c], expected[i][j], "\(h)×\(w) at \(b), \(i), \(j), \(c)")
                        XCTAssertEqual(yFirst[b, c, i, j], expected[i][j])
                    } }
                }
            }
        }
        XCTAssertEqual(x.upsampled(rows: 2, columns: 3, interpolation: .bilinear).scalars, x.resizedBilinear(height: 10, width: 18).scalars)
    }

    func testGradients() throws {
        for (axes, shape) in [(SpatialAxes.channelsLast, [2, 4, 5, 2]), (.channelsFirst, [2, 2, 4, 5]),
                              (SpatialAxes(height: 0, width: 2), [4, 2, 5])] {
            let x = distinct(shape, seed: 4)
            try assertGradients(of: { $0[0].zeroPadded(top: 1, bottom: 0, left: 2, right: 1, axes: axes) }, at: [x])
            try assertGradients(of: { $0[0].cropped(top: 1, bottom: 2, left: 0, right: 3, axes: axes) }, at: [x])
            try assertGradients(of: { $0[0].upsampled(rows: 2, columns: 3, axes: axes) }, at: [x])
            try assertGradients(of: { $0[0].upsampled(rows: 3, columns: 2, interpolation: .bilinear, axes: axes) }, at: [x])
            try assertGradients(of: { $0[0].resizedBilinear(height: 3, width: 2, axes: axes) }, at: [x])
        }
    }

    func testOtherAxisPairsCarryTheRestAlong() {
        // Spatial axes 1 and 3 of a rank-5 tensor: axis 2 between them and axis 4 after ride along.
        let x = Tensor.uniform([2, 3, 2, 4, 2], low: -1, high: 1, seed: 5)
        let axes = SpatialAxes(height: 1, width: 3)
        let y = x.zeroPadded(top: 1, bottom: 0, left: 0, right: 2, axes: axes)
        XCTAssertEqual(y.shape, [2, 4, 2, 6, 2])
        XCTAssertEqual(y[1, 2, 1, 3, 1], x[1, 1, 1, 3, 1])
        XCTAssertEqual(y[1, 0, 1, 3, 1], 0)
        XCTAssertEqual(y[1, 2, 1, 5, 1], 0)
        let z = x.upsampled(rows: 2, columns: 2, axes: axes)
        XCTAssertEqual(z.shape, [2, 6, 2, 8, 2])
        XCTAssertEqual(z[1, 5, 0, 7, 1], x[1, 2, 0, 3, 1])
        XCTAssertEqual(x.upsampled(rows: 2, columns: 2, interpolation: .bilinear, axes: axes).shape, [2, 6, 2, 8, 2])
    }
}
