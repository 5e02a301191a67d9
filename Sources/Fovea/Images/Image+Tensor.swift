import Foundation

/// How a tensor of arbitrary values is mapped to 0...255 for looking at it.
public enum DisplayScaling: String, Sendable, CaseIterable {
    /// The smallest value becomes 0 and the largest 255, linearly. A constant tensor becomes all 0.
    /// Shows every filter's output with full contrast, whatever its range; the sign is lost
    /// (zero is wherever it falls between the extremes).
    case minMax = "minmax"
    /// `|v|` scaled so the largest magnitude becomes 255 (zero stays black). Suits edge detectors,
    /// whose positive and negative responses are equally edges.
    case absolute = "abs"
    /// Values taken as pixel samples and clamped to 0...255: what the filter computed, unstretched
    /// (a blur of a photo stays the photo's brightness; negative responses become black).
    case clip
}

extension Image {
    /// The samples as a `[height, width, channels]` Float32 tensor, row-major as stored.
    ///
    /// With `unitScaled` each sample is divided by 255 so 0...255 becomes 0...1: the range
    /// Fovea's MNIST tensors and the Keras examples feed to a model.
    public func tensor(unitScaled: Bool = false) -> Tensor {
        precondition(pixels.count == width * height * channels, "Image.tensor: pixels.count does not match width × height × channels")
        let values = unitScaled ? pixels.map { $0 / 255 } : pixels
        return Tensor(shape: [height, width, channels], scalars: values)
    }

    /// The image as a batch of one: a `[1, height, width, channels]` (NHWC) tensor, what a model
    /// or a `Conv2D` layer takes. `unitScaled` as in ``tensor(unitScaled:)``.
    public func batchTensor(unitScaled: Bool = false) -> Tensor {
        tensor(unitScaled: unitScaled).reshaped([1, height, width, channels])
    }

    /// An image from a `[height, width, channels]` tensor, a `[height, width]` tensor (one gray
    /// channel) or a batch of one `[1, height, width, channels]`. Channels must be 1...4.
    ///
    /// With `unitScaled` the values are taken to be 0...1 and multiplied by 255. Values outside
    /// 0...255 are clamped (use ``init(displaying:scaling:)`` to stretch a range for display
    /// instead). Throws ``ImageError/invalidImage(file:reason:)`` for any other shape or a
    /// non-finite value.
    public init(_ tensor: Tensor, unitScaled: Bool = false) throws {
        let (h, w, c) = try Image.imageShape(of: tensor)
        let factor: Float = unitScaled ? 255 : 1
        var values = [Float](repeating: 0, count: tensor.count)
        try tensor.withUnsafeBufferPointer { source in
            for i in 0..<source.count {
                let v = source[i]
                guard v.isFinite else {
                    throw ImageError.invalidImage(file: "<memory>", reason: "tensor value \(v) at index \(i) is not finite")
                }
                values[i] = Swift.min(Swift.max(v * factor, 0), 255)
            }
        }
        self.init(unchecked: w, h, c, values)
    }

    /// An image showing a tensor's values (shapes as ``init(_:unitScaled:)``), mapped to 0...255
    /// by `scaling` over all of its values at once, so colour channels keep their balance.
    /// Non-finite values show as 0.
    public init(displaying tensor: Tensor, scaling: DisplayScaling = .minMax) throws {
        let (h, w, c) = try Image.imageShape(of: tensor)
        self.init(unchecked: w, h, c, Image.displayValues(tensor.scalars, scaling: scaling))
    }

    /// `values` mapped to 0...255 as `scaling` says.
    static func displayValues(_ values: [Float], scaling: DisplayScaling) -> [Float] {
        let finite = values.filter(\.isFinite)
        switch scaling {
        case .clip:
            return values.map { $0.isFinite ? Swift.min(Swift.max($0, 0), 255) : 0 }
        case .absolute:
            let peak = finite.map(Swift.abs).max() ?? 0
            guard peak > 0 else { return values.map { _ in 0 } }
            return values.map { $0.isFinite ? Swift.abs($0) * 255 / peak : 0 }
        case .minMax:
            guard let low = finite.min(), let high = finite.max(), high > low else { return values.map { _ in 0 } }
            let scale = 255 / (high - low)
            return values.map { $0.isFinite ? ($0 - low) * scale : 0 }
        }
    }

    static func imageShape(of tensor: Tensor) throws -> (h: Int, w: Int, c: Int) {
        let shape = tensor.shape
        switch shape.count {
        case 2 where shape[0] >= 1 && shape[1] >= 1:
            return (shape[0], shape[1], 1)
        case 3 where shape[0] >= 1 && shape[1] >= 1 && (1...4).contains(shape[2]):
            return (shape[0], shape[1], shape[2])
        case 4 where shape[0] == 1 && shape[1] >= 1 && shape[2] >= 1 && (1...4).contains(shape[3]):
            return (shape[1], shape[2], shape[3])
        default:
            throw ImageError.invalidImage(
                file: "<memory>",
                reason: "a tensor of shape \(formatShape(shape)) is not an image; expected (height, width), "
                    + "(height, width, channels) or (1, height, width, channels) with 1...4 channels")
        }
    }
}
