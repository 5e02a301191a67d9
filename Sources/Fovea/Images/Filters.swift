import Foundation

/// A square, odd-sized 2-D kernel for filtering images: the classic hand-made kernels of image
/// processing, which a convolution layer learns variants of.
///
/// Filtering is cross-correlation (the kernel is not flipped), as Keras's `Conv2D` and SciPy's
/// `ndimage.correlate` compute it: output pixel `(i, j)` is `Σ weights[u][v] · input[i + u − r][j + v − r]`
/// with `r = size / 2`.
public struct FilterKernel: Sendable, Equatable, CustomStringConvertible {
    /// What the kernel is called (`blur`, `sobel-left`, … or `custom`).
    public let name: String
    /// Rows and columns (odd).
    public let size: Int
    /// `size × size` weights, row by row.
    public let weights: [Float]

    /// A kernel from its rows. Throws ``FoveaError`` unless the rows form an odd square
    /// (1×1, 3×3, 5×5, …) of finite numbers.
    public init(name: String, rows: [[Float]]) throws {
        guard !rows.isEmpty else { throw FoveaError("kernel '\(name)' has no rows") }
        let size = rows.count
        for (index, row) in rows.enumerated() where row.count != size {
            throw FoveaError("kernel '\(name)' is not square: it has \(size) rows but row \(index + 1) has \(row.count) values; "
                             + "every row needs \(size)")
        }
        guard size % 2 == 1 else {
            throw FoveaError("kernel '\(name)' is \(size)×\(size); the size must be odd (1, 3, 5, …) so the kernel has a centre pixel")
        }
        guard rows.allSatisfy({ $0.allSatisfy(\.isFinite) }) else {
            throw FoveaError("kernel '\(name)' holds a non-finite weight")
        }
        self.name = name
        self.size = size
        self.weights = rows.flatMap { $0 }
    }

    /// Parses `"1,0,-1;2,0,-2;1,0,-1"`: rows separated by `;`, weights by `,`, spaces allowed; a
    /// weight may be a fraction such as `1/16`. Throws ``FoveaError`` naming the bad entry for
    /// anything else, and for a kernel that is not an odd square.
    public init(parsing text: String, name: String = "custom") throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else {
            throw FoveaError("kernel is empty; write rows separated by ';' and weights by ',', e.g. \"1,0,-1;2,0,-2;1,0,-1\"")
        }
        var rows: [[Float]] = []
        for (r, rowText) in trimmed.split(separator: ";", omittingEmptySubsequences: false).enumerated() {
            var row: [Float] = []
            for (c, entry) in rowText.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
                guard let value = FilterKernel.number(String(entry)) else {
                    throw FoveaError("kernel \"\(text)\": row \(r + 1), entry \(c + 1) is '\(entry.trimmingCharacters(in: .whitespaces))', "
                                     + "not a number; write rows separated by ';' and weights by ',', e.g. \"1,0,-1;2,0,-2;1,0,-1\"")
                }
                row.append(value)
            }
            rows.append(row)
        }
        try self.init(name: name, rows: rows)
    }

    /// A finite decimal number or a fraction `a/b`.
    private static func number(_ text: String) -> Float? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard (1...2).contains(parts.count), let numerator = Double(parts[0]), numerator.isFinite else { return nil }
        if parts.count == 1 { return Float(numerator) }
        guard let denominator = Double(parts[1]), denominator.isFinite, denominator != 0 else { return nil }
        return Float(numerator / denominator)
    }

    /// The rows, for printing: `"1,0,-1;2,0,-2;1,0,-1"` (the form ``init(parsing:name:)`` reads).
    public var description: String {
        (0..<size).map { r in
            weights[(r * size)..<((r + 1) * size)].map { String(format: "%g", $0) }.joined(separator: ",")
        }.joined(separator: ";")
    }

    /// The kernel as a `Conv2D` kernel taking one channel to one: shape `[size, size, 1, 1]`.
    public var convolutionKernel: Tensor { Tensor(shape: [size, size, 1, 1], scalars: weights) }

    // The catalogue; `try!` is safe: each literal is a valid odd square.
    private static func make(_ name: String, _ rows: [[Float]]) -> FilterKernel { try! FilterKernel(name: name, rows: rows) }

    /// Leaves the image as it is.
    public static let identity = make("identity", [[0, 0, 0], [0, 1, 0], [0, 0, 0]])
    /// The 3×3 Gaussian: 1/4 at the centre, 1/8 at the edges, 1/16 at the corners (sums to 1).
    public static let blur = make("blur", [[0.0625, 0.125, 0.0625], [0.125, 0.25, 0.125], [0.0625, 0.125, 0.0625]])
    /// The 4-neighbour Laplacian: responds to edges and fine detail in every direction, zero on
    /// flat areas and on linear ramps.
    public static let laplacian = make("laplacian", [[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    /// Sobel, horizontal gradient: positive where the left side is brighter (finds vertical edges).
    public static let sobelLeft = make("sobel-left", [[1, 0, -1], [2, 0, -2], [1, 0, -1]])
    /// Sobel, vertical gradient: positive where the upper side is brighter (finds horizontal edges).
    public static let sobelUpper = make("sobel-upper", [[1, 2, 1], [0, 0, 0], [-1, -2, -1]])
    /// The image plus its negative Laplacian: crisper edges (sums to 1).
    public static let sharpen = make("sharpen", [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    /// A diagonal gradient on top of the image: looks raised, lit from the lower right (sums to 1).
    public static let emboss = make("emboss", [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])

    /// A kernel as a user writes it on a command line: a catalogue name (`blur`), or weights as
    /// ``init(parsing:name:)`` reads them (anything containing a digit), then called `customName`.
    /// Throws ``FoveaError`` for an unknown name or malformed weights.
    public init(argument: String, customName: String = "custom") throws {
        if argument.contains(where: \.isNumber) {
            self = try FilterKernel(parsing: argument, name: customName)
        } else {
            self = try FilterKernel.named(argument.trimmingCharacters(in: .whitespaces))
        }
    }

    /// Every named kernel, in the order the `fovea filter` command and its contact sheet use.
    public static let catalogue: [FilterKernel] = [identity, blur, laplacian, sobelLeft, sobelUpper, sharpen, emboss]

    /// A catalogue kernel by name. Throws ``FoveaError`` listing the names for any other.
    public static func named(_ name: String) throws -> FilterKernel {
        guard let kernel = catalogue.first(where: { $0.name == name.lowercased() }) else {
            throw FoveaError("unknown kernel '\(name)'; the named kernels are \(catalogue.map(\.name).joined(separator: ", ")) "
                             + "(or give your own weights, e.g. \"1,0,-1;2,0,-2;1,0,-1\")")
        }
        return kernel
    }
}

/// How ``Tensor/pooled(size:stride:mode:padding:)`` summarises each window.
public enum PoolingMode: String, Sendable, CaseIterable {
    /// The largest value (Keras `MaxPooling2D`).
    case max
    /// The mean of the window's real cells (Keras `AveragePooling2D`).
    case average
    /// The smallest value, computed as `−maxPool(−x)` by the same kernel.
    case min
}

extension Tensor {
    /// Correlates every channel of an image tensor with `kernel`, each channel on its own (a
    /// depthwise convolution), through the same ``Tensor/conv2D(_:kernel:bias:window:relu:)`` op
    /// that `Conv2D` layers use, with Keras's `padding` (`same` pads with zeros) and `stride`.
    ///
    /// `self` is `[height, width, channels]` or a batch `[n, height, width, channels]`; the result
    /// has the same rank and channel count. Output values are raw responses, not clamped to any
    /// range, and not recorded for gradients (this is for looking at pictures; a trainable
    /// filter is a `Conv2D` layer). Large images are filtered in bands of rows, so memory stays
    /// bounded. Throws ``FoveaError`` for another rank, a stride below 1, or a `valid` kernel
    /// larger than the image.
    public func filtered(with kernel: FilterKernel, padding: Padding = .same, stride: Int = 1) throws -> Tensor {
        let batch = try imageBatch(for: "filtering with kernel '\(kernel.name)'")
        let (n, h, w, c) = (batch.shape[0], batch.shape[1], batch.shape[2], batch.shape[3])
        guard stride >= 1 else { throw FoveaError("filter stride must be at least 1 (got \(stride))") }
        guard let rows = WindowAxis(input: h, kernel: kernel.size, stride: stride, padding: padding),
              let columns = WindowAxis(input: w, kernel: kernel.size, stride: stride, padding: padding) else {
            throw FoveaError("a \(kernel.size)×\(kernel.size) kernel does not fit a \(w)×\(h) image with 'valid' padding; "
                             + "use 'same' padding or a smaller kernel")
        }
        // Every channel of every image becomes its own one-channel sample, so one [k, k, 1, 1]
        // kernel convolves them all with the layers' op.
        let samples = batch.transposed([0, 3, 1, 2]).reshaped([n * c, h, w, 1]).detached
        let response = Tensor.filterSamples(samples, kernel: kernel, rows: rows, columns: columns)
        let output = response.reshaped([n, c, rows.output, columns.output]).transposed([0, 2, 3, 1])
        return rank == 3 ? output.reshaped([rows.output, columns.output, c]) : output
    }

    /// The convolution's im2col buffer holds `k²` floats per output position; past this many
    /// (16 MiB) the work is split into bands of output rows, so a large photo is filtered in
    /// bounded memory instead of needing 36 bytes per pixel and channel at once.
    private static let filterScratchBudget = 1 << 22

    /// `Tensor.conv2D` of `[samples, h, w, 1]` with `kernel`, whole or, for large inputs, one
    /// sample and one band of output rows at a time (each band reads the input rows its windows
    /// cover, with zero rows standing in for the padding).
    private static func filterSamples(_ samples: Tensor, kernel: FilterKernel, rows: WindowAxis, columns: WindowAxis) -> Tensor {
        let count = samples.shape[0], h = samples.shape[1], w = samples.shape[2], k = kernel.size
        let perRow = columns.output * k * k
        if count * rows.output * perRow <= filterScratchBudget {
            return conv2D(samples, kernel: kernel.convolutionKernel, bias: nil, window: Window2D(rows: rows, columns: columns))
        }
        let bandRows = Swift.max(1, filterScratchBudget / perRow)
        var output = [Float](repeating: 0, count: count * rows.output * columns.output)
        samples.withUnsafeBufferPointer { input in
            for sample in 0..<count {
                var first = 0
                while first < rows.output {
                    let last = Swift.min(rows.output, first + bandRows)
                    // Input rows [top, top + slabRows) feed output rows [first, last).
                    let top = first * rows.stride - rows.padBefore
                    let slabRows = (last - first - 1) * rows.stride + k
                    var slab = [Float](repeating: 0, count: slabRows * w)
                    for r in 0..<slabRows where (0..<h).contains(top + r) {
                        let source = (sample * h + top + r) * w
                        for x in 0..<w { slab[r * w + x] = input[source + x] }
                    }
                    let bandWindow = Window2D(rows: WindowAxis(input: slabRows, kernel: k, stride: rows.stride, padding: .valid)!,
                                              columns: columns)
                    let band = conv2D(Tensor(shape: [1, slabRows, w, 1], scalars: slab), kernel: kernel.convolutionKernel,
                                      bias: nil, window: bandWindow)
                    band.withUnsafeBufferPointer { values in
                        let start = (sample * rows.output + first) * columns.output
                        for i in 0..<values.count { output[start + i] = values[i] }
                    }
                    first = last
                }
            }
        }
        return Tensor(shape: [count, rows.output, columns.output, 1], scalars: output)
    }

    /// Pools every channel of an image tensor over `size × size` windows moved by `stride`
    /// (default `size`), through the same ops `MaxPooling2D` and `AveragePooling2D` use; `min`
    /// is `−maxPool(−x)`. Shapes as in ``filtered(with:padding:stride:)``.
    public func pooled(size: Int, stride: Int? = nil, mode: PoolingMode, padding: Padding = .valid) throws -> Tensor {
        let batch = try imageBatch(for: "\(mode.rawValue) pooling")
        let (h, w) = (batch.shape[1], batch.shape[2])
        let step = stride ?? size
        guard size >= 1, step >= 1 else { throw FoveaError("pool size and stride must be at least 1 (got size \(size), stride \(step))") }
        guard let rows = WindowAxis(input: h, kernel: size, stride: step, padding: padding),
              let columns = WindowAxis(input: w, kernel: size, stride: step, padding: padding) else {
            throw FoveaError("a \(size)×\(size) pool does not fit a \(w)×\(h) image with 'valid' padding; use a smaller size or 'same' padding")
        }
        let window = Window2D(rows: rows, columns: columns)
        let output: Tensor
        switch mode {
        case .max: output = Tensor.maxPool2D(batch, window: window)
        case .average: output = Tensor.averagePool2D(batch, window: window)
        case .min: output = -Tensor.maxPool2D(-batch, window: window)
        }
        return rank == 3 ? output.reshaped(Array(output.shape.dropFirst())) : output
    }

    /// `self` as an NHWC batch (a rank-3 image gains a batch axis of 1).
    private func imageBatch(for purpose: String) throws -> Tensor {
        switch rank {
        case 3 where shape.allSatisfy({ $0 >= 1 }): return reshaped([1] + shape)
        case 4 where shape.allSatisfy({ $0 >= 1 }): return self
        default:
            throw FoveaError("\(purpose) needs an image tensor (height, width, channels) or a batch (n, height, width, channels); "
                             + "got shape \(formatShape(shape))")
        }
    }
}

extension Image {
    /// The image's samples (0...255) correlated with `kernel`, channel by channel, as a
    /// `[height', width', channels]` tensor of raw responses; see ``Tensor/filtered(with:padding:stride:)``.
    /// Show it with ``Image/init(displaying:scaling:)``.
    public func filtered(with kernel: FilterKernel, padding: Padding = .same, stride: Int = 1) throws -> Tensor {
        try tensor().filtered(with: kernel, padding: padding, stride: stride)
    }

    /// The image pooled channel by channel (`size × size` windows, `valid` padding, stride
    /// `size` unless given); see ``Tensor/pooled(size:stride:mode:padding:)``.
    public func pooled(size: Int, stride: Int? = nil, mode: PoolingMode, padding: Padding = .valid) throws -> Image {
        try Image(tensor().pooled(size: size, stride: stride, mode: mode, padding: padding))
    }
}
