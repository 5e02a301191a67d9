import Foundation

extension Image {
    /// Every colour sample `v` replaced by `255 − v` (alpha kept): turns a dark digit on white
    /// paper into MNIST's white digit on black.
    public func inverted() -> Image {
        precondition(pixels.count == width * height * channels, "Image.inverted: pixels.count does not match width × height × channels")
        let alpha = channels == 2 || channels == 4 ? channels - 1 : -1
        var output = pixels
        for i in output.indices where i % channels != alpha { output[i] = 255 - output[i] }
        return Image(unchecked: width, height, channels, output)
    }

    /// The mean gray level of the outermost pixels (0...255): a bright border suggests a dark digit
    /// on a light background, which needs ``inverted()`` before an MNIST model sees it.
    public var borderMean: Float {
        let gray = grayscale()
        var sum: Float = 0, count = 0
        for y in 0..<height {
            for x in 0..<width where y == 0 || y == height - 1 || x == 0 || x == width - 1 {
                sum += gray.pixels[y * width + x]; count += 1
            }
        }
        return sum / Float(count)
    }

    /// The background level (0...255): the median gray level of the outermost pixels, the figure
    /// both the "light background" note and digit centring use, so they never disagree (a 1-bit
    /// scan's border mean is pulled down by any stroke that touches the edge; its median is not).
    public var borderMedian: Float {
        let gray = grayscale()
        var border: [Float] = []
        for y in 0..<height {
            for x in 0..<width where y == 0 || y == height - 1 || x == 0 || x == width - 1 { border.append(gray.pixels[y * width + x]) }
        }
        return border.isEmpty ? 0 : border.sorted()[border.count / 2]
    }

    /// The image prepared as MNIST's digits were: the digit (bright on dark; see ``inverted()``)
    /// is cut to its bounding box, scaled with its aspect ratio kept so its longer side is `box`
    /// pixels, and placed on a black `canvas × canvas` field so its centre of mass falls on the
    /// field's centre (rounded to whole pixels, as LeCun et al. did).
    ///
    /// Photos rarely have a pure black background, so the background level (the median of the
    /// border pixels) is subtracted first, and the bounding box keeps the pixels above 10% of the
    /// brightest. If centring would push the box past an edge it stops at the edge (nothing is cut
    /// off). The result is one gray channel, 0...255. Throws ``FoveaError`` for an image with no
    /// digit (nothing brighter than its background) or sizes that do not fit (`1 ≤ box ≤ canvas`).
    public func mnistCentered(canvas: Int = 28, box: Int = 20) throws -> Image {
        try validated(file: "<memory>")
        guard box >= 1, canvas >= box else {
            throw FoveaError("digit centring needs 1 ≤ box ≤ canvas (got box \(box), canvas \(canvas))")
        }
        let gray = grayscale()
        let background = borderMedian
        let ink = gray.pixels.map { Swift.max($0 - background, 0) }
        let peak = ink.max() ?? 0
        guard peak > 0 else {
            throw FoveaError("no digit found: nothing in the \(width)×\(height) image is brighter than its background "
                             + "(gray level \(background.clampedInt(0...255, rounding: .toNearestOrAwayFromZero)) of 255, the median of its border); MNIST digits are bright on dark, so a dark digit on light paper needs inverting")
        }
        var (top, bottom, left, right) = (height, -1, width, -1)
        for y in 0..<height {
            for x in 0..<width where ink[y * width + x] >= 0.1 * peak {
                top = Swift.min(top, y); bottom = Swift.max(bottom, y)
                left = Swift.min(left, x); right = Swift.max(right, x)
            }
        }
        let boxWidth = right - left + 1, boxHeight = bottom - top + 1
        var cropped: [Float] = []
        cropped.reserveCapacity(boxWidth * boxHeight)
        for y in top...bottom { cropped += ink[(y * width + left)...(y * width + right)] }
        let digit = Image(unchecked: boxWidth, boxHeight, 1, cropped)

        let factor = Double(box) / Double(Swift.max(boxWidth, boxHeight))
        let newWidth = Swift.min(box, Swift.max(1, Int((Double(boxWidth) * factor).rounded())))
        let newHeight = Swift.min(box, Swift.max(1, Int((Double(boxHeight) * factor).rounded())))
        // Shrinking averages (MNIST's anti-aliasing); enlarging interpolates.
        let method: ResizeMethod = factor < 1 ? .area : .bilinear
        let scaled = digit.resized(width: newWidth, height: newHeight, method: method)
        // Stretch so the brightest pixel is 255 again, as in MNIST (whose strokes reach 255).
        let brightest = scaled.pixels.max() ?? 0
        let normalised = brightest > 0 ? scaled.pixels.map { $0 * (255 / brightest) } : scaled.pixels

        var mass: Double = 0, sumX: Double = 0, sumY: Double = 0
        for y in 0..<newHeight {
            for x in 0..<newWidth {
                let v = Double(normalised[y * newWidth + x])
                mass += v; sumX += v * (Double(x) + 0.5); sumY += v * (Double(y) + 0.5)
            }
        }
        let centre = Double(canvas) / 2
        let offsetX = Swift.min(Swift.max((centre - sumX / mass).clampedInt(0...canvas, rounding: .toNearestOrAwayFromZero), 0), canvas - newWidth)
        let offsetY = Swift.min(Swift.max((centre - sumY / mass).clampedInt(0...canvas, rounding: .toNearestOrAwayFromZero), 0), canvas - newHeight)
        var field = RasterCanvas(width: canvas, height: canvas, channels: 1, fill: 0)
        field.draw(Image(unchecked: newWidth, newHeight, 1, normalised), x: offsetX, y: offsetY)
        return field.image
    }

    /// The image as input for a model whose input is `(batch, height, width, channels)`
    /// (`shape` as ``Sequential/inputShape`` gives it), a `[1, height, width, channels]` tensor
    /// scaled to 0...1, the range Fovea's MNIST tensors have.
    ///
    /// Alpha is dropped; colour becomes gray for a one-channel model and gray is repeated for a
    /// three-channel one. `invert` applies ``inverted()``. `centerDigit` applies
    /// ``mnistCentered(canvas:box:)`` (with MNIST's 20-in-28 proportion) to a square one-channel
    /// input; `nil` means "when the input is 28×28×1", an MNIST model. Otherwise the image is
    /// resized to the model's size (area averaging when shrinking, bilinear when enlarging), not
    /// cropped, so a different aspect ratio is stretched. Throws ``FoveaError`` for a model input
    /// that is not an image.
    public func modelInput(shape: [Int?], invert: Bool = false, centerDigit: Bool? = nil) throws -> Tensor {
        try validated(file: "<memory>")
        guard shape.count == 4, let h = shape[1], let w = shape[2], let c = shape[3], h >= 1, w >= 1, [1, 3].contains(c) else {
            throw FoveaError("the model's input \(formatShape(shape)) is not an image of shape (batch, height, width, 1 or 3 channels)")
        }
        var image = withChannels(channels >= 3 ? 3 : 1).withChannels(c)
        if invert { image = image.inverted() }
        if centerDigit ?? (h == 28 && w == 28 && c == 1) {
            guard c == 1, h == w else {
                throw FoveaError("digit centring needs a square one-channel model input; this model takes \(formatShape(shape))")
            }
            image = try image.mnistCentered(canvas: h, box: Swift.max(1, Int((Double(h) * 20 / 28).rounded())))
        } else if image.width != w || image.height != h {
            let method: ResizeMethod = image.width * image.height > w * h ? .area : .bilinear
            image = image.resized(width: w, height: h, method: method)
        }
        return image.batchTensor(unitScaled: true)
    }
}

/// How an image becomes a model's input in `fovea predict` and `fovea serve`: the same steps for
/// both, so a served model sees exactly what the command line shows it.
public struct ImagePreparation: Sendable, Equatable {
    /// ``Image/inverted()`` first (a dark digit on light paper for an MNIST model).
    public var invert: Bool
    /// Digit centring as ``Image/modelInput(shape:invert:centerDigit:)`` takes it (nil: for 28×28×1 inputs).
    public var centerDigit: Bool?

    public init(invert: Bool = false, centerDigit: Bool? = nil) { self.invert = invert; self.centerDigit = centerDigit }

    /// Whether `image` looks like a dark digit on a light background given, without `invert`, to a
    /// one-channel (MNIST-style) model whose input is `shape`: worth a note to the user.
    public func suggestsInverting(_ image: Image, shape: [Int?]) -> Bool {
        !invert && shape.last == 1 && image.borderMedian > 127
    }

    /// `image` as input for a model whose input is `shape` (batch axis first): a `[1, h, w, c]`
    /// tensor in 0...1 (see ``Image/modelInput(shape:invert:centerDigit:)``).
    public func input(_ image: Image, shape: [Int?]) throws -> Tensor {
        try image.modelInput(shape: shape, invert: invert, centerDigit: centerDigit)
    }
}

/// One class of a model's answer: its index and its probability.
public struct ClassScore: Equatable, Sendable {
    public let classIndex: Int
    public let probability: Float
    public init(classIndex: Int, probability: Float) { self.classIndex = classIndex; self.probability = probability }
}

/// The `k` most probable classes of one output row, most probable first (ties: lower index
/// first). Outputs that are not already a probability distribution (negative values, or not
/// summing to 1 within 1e-3, e.g. a model without a final softmax) are passed through softmax
/// first. `k` larger than the number of classes gives every class. Throws ``FoveaError`` for
/// `k < 1`, an empty or a non-finite output.
public func topClasses(_ output: [Float], k: Int) throws -> [ClassScore] {
    guard k >= 1 else { throw FoveaError("top-k must be at least 1 (got \(k))") }
    guard !output.isEmpty else { throw FoveaError("the model's output is empty; expected one score per class") }
    if let first = output.firstIndex(where: { !$0.isFinite }) {
        // A model whose weights hold NaN or infinity (a flipped float in a file without a checksum is
        // still a well-formed file) predicts NaN: say so, naming how much of the output it is.
        let bad = output.filter { !$0.isFinite }.count
        throw FoveaError("the model's output holds a non-finite value (\(output[first]) for class \(first); \(bad) of \(output.count) values are NaN or infinite): "
                         + "the model predicts NaN, so no class can be chosen; its weights (or the input) hold NaN or infinity")
    }
    var probabilities = output
    let total = output.reduce(0, +)
    if output.contains(where: { $0 < 0 }) || Swift.abs(total - 1) > 1e-3 {
        let peak = output.max()!
        let exps = output.map { Foundation.exp($0 - peak) }
        let sum = exps.reduce(0, +)
        probabilities = exps.map { $0 / sum }
    }
    return probabilities.enumerated()
        .sorted { $0.element != $1.element ? $0.element > $1.element : $0.offset < $1.offset }
        .prefix(k)
        .map { ClassScore(classIndex: $0.offset, probability: $0.element) }
}
