import Foundation
import XCTest

import Fovea

/// The SciPy reference outputs written by scripts/make_filter_fixtures.py.
private struct FilterFixture: Decodable {
    struct Array3: Decodable { let shape: [Int]; let values: [Float] }
    struct Kernel: Decodable { let size: Int; let weights: [Float] }
    struct Case: Decodable {
        let input: String, kernel: String, padding: String, stride: Int
        let shape: [Int]
        let values: [Float]
    }
    let inputs: [String: Array3]
    let kernels: [String: Kernel]
    let cases: [Case]

    static func load() throws -> FilterFixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil)).appendingPathComponent("filters.json")
        return try JSONDecoder().decode(FilterFixture.self, from: Data(contentsOf: url))
    }
}

final class FilterTests: XCTestCase {
    func testEveryCaseMatchesSciPyCorrelate() throws {
        let fixture = try FilterFixture.load()
        XCTAssertGreaterThanOrEqual(fixture.cases.count, 50)
        var checked = Set<String>()
        for c in fixture.cases {
            let input = try XCTUnwrap(fixture.inputs[c.input])
            let k = try XCTUnwrap(fixture.kernels[c.kernel])
            let rows = (0..<k.size).map { r in Array(k.weights[(r * k.size)..<((r + 1) * k.size)]) }
            let kernel = try FilterKernel(name: c.kernel, rows: rows)
            let padding = try XCTUnwrap(Padding(rawValue: c.padding))
            let output = try Tensor(shape: input.shape, scalars: input.values).filtered(with: kernel, padding: padding, stride: c.stride)
            let label = "\(c.input) \(c.kernel) \(c.padding) stride \(c.stride)"
            XCTAssertEqual(output.shape, c.shape, label)
            guard output.shape == c.shape else { continue }
            for (i, (got, want)) in zip(output.scalars, c.values).enumerated() where abs(got - want) > 1e-3 {
                XCTFail("\(label): value \(i) is \(got), SciPy gives \(want)")
                break
            }
            checked.insert(c.kernel)
        }
        XCTAssertEqual(checked, Set(fixture.kernels.keys))
    }

    func testCatalogueWeightsAreTheOnesTheFixtureUsed() throws {
        let fixture = try FilterFixture.load()
        for kernel in FilterKernel.catalogue {
            let reference = try XCTUnwrap(fixture.kernels[kernel.name], kernel.name)
            XCTAssertEqual(kernel.size, reference.size, kernel.name)
            XCTAssertEqual(kernel.weights, reference.weights, kernel.name)
        }
        XCTAssertEqual(FilterKernel.catalogue.map(\.name),
                       ["identity", "blur", "laplacian", "sobel-left", "sobel-upper", "sharpen", "emboss"])
    }

    func testImageFilterMatchesTensorFilter() throws {
        let image = try Image(width: 5, height: 4, channels: 3, pixels: randomSamples(60, seed: 5))
        let viaImage = try image.filtered(with: .sobelUpper, padding: .valid)
        let viaTensor = try image.tensor().filtered(with: .sobelUpper, padding: .valid)
        XCTAssertEqual(viaImage.shape, [2, 3, 3])
        XCTAssertEqual(viaImage.scalars, viaTensor.scalars)
        // Identity with 'same' padding gives the samples back exactly.
        XCTAssertEqual(try image.filtered(with: .identity).scalars, image.pixels)
    }

    func testBatchOfImagesIsFilteredImageByImage() throws {
        let a = Tensor(shape: [3, 4, 2], scalars: randomSamples(24, seed: 1))
        let b = Tensor(shape: [3, 4, 2], scalars: randomSamples(24, seed: 2))
        let batch = Tensor.concatenate([a.reshaped([1, 3, 4, 2]), b.reshaped([1, 3, 4, 2])], alongAxis: 0)
        let filtered = try batch.filtered(with: .laplacian, stride: 2)
        XCTAssertEqual(filtered.shape, [2, 2, 2, 2])
        XCTAssertEqual(filtered.slice(batch: 0..<1).scalars, try a.filtered(with: .laplacian, stride: 2).scalars)
        XCTAssertEqual(filtered.slice(batch: 1..<2).scalars, try b.filtered(with: .laplacian, stride: 2).scalars)
    }

    /// The filter is the Conv2D layer's op: a Conv2D layer holding the same weights (one filter per
    /// channel, zero elsewhere) computes the same numbers.
    func testSameNumbersAsAConv2DLayer() throws {
        let channels = 2
        let image = Tensor(shape: [1, 6, 7, channels], scalars: randomSamples(84, seed: 3))
        let layer = Conv2D(filters: channels, kernelSize: 3, padding: .same, useBias: false)
        _ = try layer(image)
        var weights = [Float](repeating: 0, count: 3 * 3 * channels * channels)
        for (i, w) in FilterKernel.emboss.weights.enumerated() {
            for c in 0..<channels { weights[(i * channels + c) * channels + c] = w }
        }
        layer.kernel!.value = Tensor(shape: [3, 3, channels, channels], scalars: weights)
        let expected = try layer(image)
        let got = try image.filtered(with: .emboss)
        XCTAssertTrue(got.isApproximatelyEqual(to: expected, tolerance: 1e-3))
    }

    /// Large enough that the filter works in bands of rows (more than 4 Mi floats of im2col
    /// scratch); checked against a direct loop over Keras's window placement.
    func testLargeImagesAreFilteredInBandsWithTheSameResult() throws {
        let h = 1001, w = 997
        var state: UInt32 = 12345
        let values = (0..<(h * w)).map { _ -> Float in state = state &* 1_103_515_245 &+ 12345; return Float((state >> 16) % 256) }
        let image = Tensor(shape: [h, w, 1], scalars: values)
        let custom = try FilterKernel(parsing: "1,2,0,-1,3;0,1,1,-2,0;2,0,-3,1,1;0,1,0,2,-1;1,-1,2,0,1")
        for (kernel, padding, stride) in [(FilterKernel.sobelLeft, Padding.same, 1), (.emboss, .valid, 1), (custom, .same, 2), (custom, .valid, 3)] {
            let output = try image.filtered(with: kernel, padding: padding, stride: stride)
            let k = kernel.size
            let rows = try XCTUnwrap(WindowAxis(input: h, kernel: k, stride: stride, padding: padding))
            let columns = try XCTUnwrap(WindowAxis(input: w, kernel: k, stride: stride, padding: padding))
            XCTAssertEqual(output.shape, [rows.output, columns.output, 1])
            let got = output.scalars
            var mismatches = 0
            for i in 0..<rows.output {
                for j in 0..<columns.output {
                    var sum: Float = 0
                    for u in 0..<k {
                        let y = i * stride - rows.padBefore + u
                        guard y >= 0 && y < h else { continue }
                        for v in 0..<k {
                            let x = j * stride - columns.padBefore + v
                            guard x >= 0 && x < w else { continue }
                            sum += kernel.weights[u * k + v] * values[y * w + x]
                        }
                    }
                    if abs(got[i * columns.output + j] - sum) > 1e-2 { mismatches += 1 }
                }
            }
            XCTAssertEqual(mismatches, 0, "\(kernel.name) \(padding) stride \(stride)")
        }
        // Two channels, the second twice the first: banding keeps each channel's rows its own.
        let pair = Tensor(shape: [h, w, 2], scalars: values.flatMap { [$0, 2 * $0] })
        let both = try pair.filtered(with: .laplacian).scalars
        let single = try image.filtered(with: .laplacian).scalars
        XCTAssertEqual(both.count, 2 * single.count)
        var sameChannels = true
        for i in 0..<single.count {
            let first: Float = both[2 * i], second: Float = both[2 * i + 1], reference: Float = single[i]
            if first != reference || second != 2 * reference { sameChannels = false; break }
        }
        XCTAssertTrue(sameChannels)
    }

    func testParsingKernels() throws {
        let sobel = try FilterKernel(parsing: " 1, 0,-1; 2,0,-2 ;1,0,-1 ")
        XCTAssertEqual(sobel.weights, FilterKernel.sobelLeft.weights)
        XCTAssertEqual(sobel.name, "custom")
        XCTAssertEqual(sobel.description, "1,0,-1;2,0,-2;1,0,-1")
        XCTAssertEqual(try FilterKernel(parsing: "1/16,1/8,1/16;1/8,1/4,1/8;1/16,1/8,1/16").weights, FilterKernel.blur.weights)
        XCTAssertEqual(try FilterKernel(parsing: "2.5").weights, [2.5])
        XCTAssertEqual(try FilterKernel(parsing: "1,1,1,1,1;1,1,1,1,1;1,1,1,1,1;1,1,1,1,1;1,1,1,1,1").size, 5)
    }

    func testMalformedKernelsAreClearErrors() {
        func message(_ text: String) -> String {
            do {
                let kernel = try FilterKernel(parsing: text)
                XCTFail("parsed \"\(text)\" as \(kernel)")
                return ""
            } catch {
                return String(describing: error)
            }
        }
        XCTAssertTrue(message("").contains("empty"))
        XCTAssertTrue(message("1,0;0,1").contains("must be odd"), message("1,0;0,1"))
        XCTAssertTrue(message("1,0,-1;2,0;1,0,-1").contains("row 2 has 2 values"), message("1,0,-1;2,0;1,0,-1"))
        XCTAssertTrue(message("1,0,-1").contains("not square"), message("1,0,-1"))
        XCTAssertTrue(message("1,x,-1;2,0,-2;1,0,-1").contains("row 1, entry 2 is 'x'"), message("1,x,-1;2,0,-2;1,0,-1"))
        XCTAssertTrue(message("1,,1;1,1,1;1,1,1").contains("entry 2 is ''"))
        XCTAssertTrue(message("1/0").contains("not a number"))
        XCTAssertTrue(message("nan").contains("not a number"))
        XCTAssertTrue(message("1;1;1").contains("not square"))
    }

    func testKernelArguments() throws {
        XCTAssertEqual(try FilterKernel(argument: "sobel-upper"), .sobelUpper)
        XCTAssertEqual(try FilterKernel(argument: "Blur"), .blur)
        XCTAssertEqual(try FilterKernel(argument: "0,1,0;1,-4,1;0,1,0", customName: "mine").weights, FilterKernel.laplacian.weights)
        XCTAssertThrowsError(try FilterKernel(argument: "sobel-lft")) { error in
            XCTAssertTrue("\(error)".contains("unknown kernel 'sobel-lft'"), "\(error)")
            XCTAssertTrue("\(error)".contains("sobel-left"), "\(error)")
        }
    }

    func testBadGeometryThrows() throws {
        let image = Tensor(shape: [2, 2, 1], scalars: [1, 2, 3, 4])
        XCTAssertThrowsError(try image.filtered(with: .blur, padding: .valid)) { XCTAssertTrue("\($0)".contains("does not fit")) }
        XCTAssertThrowsError(try image.filtered(with: .blur, stride: 0)) { XCTAssertTrue("\($0)".contains("stride")) }
        XCTAssertThrowsError(try Tensor(shape: [4], scalars: [1, 2, 3, 4]).filtered(with: .blur)) { XCTAssertTrue("\($0)".contains("(4,)")) }
        // 'same' still works on an image smaller than the kernel.
        XCTAssertEqual(try image.filtered(with: .identity).scalars, [1, 2, 3, 4])
    }
}

final class PoolingImageTests: XCTestCase {
    // 4×4, one channel:
    //   1  2 | 5  0
    //   3  4 | 6 -1
    //   ------------
    //   9  8 | 0  0
    //   7  6 | 0 12
    let grid = Tensor(shape: [4, 4, 1], scalars: [1, 2, 5, 0, 3, 4, 6, -1, 9, 8, 0, 0, 7, 6, 0, 12])

    func testMaxAverageMin() throws {
        XCTAssertEqual(try grid.pooled(size: 2, mode: .max).scalars, [4, 6, 9, 12])
        XCTAssertEqual(try grid.pooled(size: 2, mode: .average).scalars, [2.5, 2.5, 7.5, 3])
        XCTAssertEqual(try grid.pooled(size: 2, mode: .min).scalars, [1, -1, 6, 0])
        XCTAssertEqual(try grid.pooled(size: 2, mode: .max).shape, [2, 2, 1])
    }

    func testStrideAndPadding() throws {
        // 3×3 windows moved by 1: four windows.
        XCTAssertEqual(try grid.pooled(size: 3, stride: 1, mode: .max).scalars, [9, 8, 9, 12])
        XCTAssertEqual(try grid.pooled(size: 3, stride: 1, mode: .min).scalars, [0, -1, 0, -1])
        // 'same' with a 3×3 pool and stride 2 on 4 pixels: 2 outputs, padding only after (Keras).
        // Windows cover rows/cols {0,1,2} and {2,3}.
        XCTAssertEqual(try grid.pooled(size: 3, stride: 2, mode: .max, padding: .same).scalars, [9, 6, 9, 12])
        // Average counts only the real cells of a padded window.
        let average = try grid.pooled(size: 3, stride: 2, mode: .average, padding: .same)
        XCTAssertTrue(average.isApproximatelyEqual(to: Tensor(shape: [2, 2, 1], scalars: [38.0 / 9, 10.0 / 6, 30.0 / 6, 12.0 / 4])), "\(average)")
        XCTAssertEqual(try grid.pooled(size: 3, stride: 2, mode: .min, padding: .same).scalars, [0, -1, 0, 0])
    }

    func testChannelsArePooledSeparately() throws {
        let image = try Image(width: 2, height: 2, channels: 3, pixels: [10, 200, 0, 20, 100, 5, 30, 0, 50, 40, 50, 255])
        XCTAssertEqual(try image.pooled(size: 2, mode: .max).pixels, [40, 200, 255])
        XCTAssertEqual(try image.pooled(size: 2, mode: .min).pixels, [10, 0, 0])
        XCTAssertEqual(try image.pooled(size: 2, mode: .average).pixels, [25, 87.5, 77.5])
    }

    func testOneCallMatchesTheLayers() throws {
        let x = Tensor(shape: [1, 6, 6, 2], scalars: randomSamples(72, seed: 8))
        XCTAssertEqual(try x.pooled(size: 2, mode: .max).scalars, try MaxPooling2D(poolSize: 2)(x).scalars)
        XCTAssertEqual(try x.pooled(size: 3, stride: 2, mode: .average, padding: .same).scalars,
                       try AveragePooling2D(poolSize: 3, strides: 2, padding: .same)(x).scalars)
    }

    func testBadArgumentsThrow() {
        XCTAssertThrowsError(try grid.pooled(size: 5, mode: .max)) { XCTAssertTrue("\($0)".contains("does not fit")) }
        XCTAssertThrowsError(try grid.pooled(size: 0, mode: .max))
        XCTAssertThrowsError(try grid.pooled(size: 2, stride: 0, mode: .min))
        XCTAssertEqual(PoolingMode.allCases.map(\.rawValue), ["max", "average", "min"])
    }
}
