import CFoveaKernels

/// Which two axes of a tensor are its spatial rows and columns, for the padding, cropping and
/// resampling ops: `.channelsLast` is NHWC (axes 1 and 2), `.channelsFirst` NCHW (axes 2 and 3),
/// Keras's `data_format` values. Any two axes with `height < width` work: the axes before, between
/// and after them are carried along unchanged.
public struct SpatialAxes: Equatable, Sendable {
    public let height: Int
    public let width: Int

    public init(height: Int, width: Int) {
        precondition(height >= 0 && width > height, "spatial axes need 0 <= height < width; got \(height), \(width)")
        self.height = height
        self.width = width
    }

    /// NHWC: `[batch, height, width, channels]` (Keras `channels_last`, the default).
    public static let channelsLast = SpatialAxes(height: 1, width: 2)
    /// NCHW: `[batch, channels, height, width]` (Keras `channels_first`).
    public static let channelsFirst = SpatialAxes(height: 2, width: 3)
}

/// How ``Tensor/upsampled(rows:columns:interpolation:axes:)`` fills the new cells (Keras
/// `UpSampling2D(interpolation:)`).
public enum UpsamplingInterpolation: String, Sendable, Codable, CaseIterable {
    /// Each cell repeated `rows × columns` times (Keras `"nearest"`, `ops.repeat`).
    case nearest
    /// TensorFlow's half-pixel bilinear resize (Keras `"bilinear"`, `ops.image.resize`).
    case bilinear
}

/// A tensor seen as `[outer, height, mid, width, inner]` around its two spatial axes.
struct SpatialView {
    let outer, height, mid, width, inner: Int

    init(_ shape: [Int], _ axes: SpatialAxes, op: String) {
        precondition(axes.width < shape.count, "\(op): spatial axes \(axes.height), \(axes.width) out of range for shape \(shape)")
        outer = shape[..<axes.height].reduce(1, *)
        height = shape[axes.height]
        mid = shape[(axes.height + 1)..<axes.width].reduce(1, *)
        width = shape[axes.width]
        inner = shape[(axes.width + 1)...].reduce(1, *)
    }

    /// Rows (outer, y, mid) per chunk so that a chunk moves at least about 32K floats.
    func minimumRows(width w: Int) -> Int { Swift.max(1, Tensor.elementwiseMinimumChunk / Swift.max(1, w * inner)) }
}

extension Tensor {
    /// Zeros added around the two spatial axes (Keras `ZeroPadding2D(padding: ((top, bottom), (left,
    /// right)))`): `top` rows before and `bottom` after, `left` columns before and `right` after.
    /// The gradient is the matching crop of the output's gradient.
    public func zeroPadded(top: Int, bottom: Int, left: Int, right: Int, axes: SpatialAxes = .channelsLast) -> Tensor {
        precondition(top >= 0 && bottom >= 0 && left >= 0 && right >= 0,
                     "zeroPadded needs padding >= 0; got top \(top), bottom \(bottom), left \(left), right \(right)")
        return shiftedWindow(rowsBefore: top, rowsAfter: bottom, columnsBefore: left, columnsAfter: right, axes: axes, op: "zeroPadded")
    }

    /// The two spatial axes with `top` rows, `bottom` rows, `left` columns and `right` columns
    /// removed (Keras `Cropping2D(cropping: ((top, bottom), (left, right)))`); at least one row and
    /// one column must remain. The gradient is the output's gradient padded back with zeros.
    public func cropped(top: Int, bottom: Int, left: Int, right: Int, axes: SpatialAxes = .channelsLast) -> Tensor {
        precondition(top >= 0 && bottom >= 0 && left >= 0 && right >= 0,
                     "cropped needs cropping >= 0; got top \(top), bottom \(bottom), left \(left), right \(right)")
        let view = SpatialView(shape, axes, op: "cropped")
        precondition(top + bottom < view.height && left + right < view.width,
                     "cropped: cropping (\(top), \(bottom)), (\(left), \(right)) leaves nothing of a \(view.height)×\(view.width) input")
        return shiftedWindow(rowsBefore: -top, rowsAfter: -bottom, columnsBefore: -left, columnsAfter: -right, axes: axes, op: "cropped")
    }

    /// Padding (positive counts) or cropping (negative counts) of the spatial axes in one kernel;
    /// the gradient is the opposite window of the gradient.
    private func shiftedWindow(rowsBefore: Int, rowsAfter: Int, columnsBefore: Int, columnsAfter: Int,
                               axes: SpatialAxes, op: String) -> Tensor {
        let view = SpatialView(shape, axes, op: op)
        let outH = view.height + rowsBefore + rowsAfter, outW = view.width + columnsBefore + columnsAfter
        var outShape = shape
        outShape[axes.height] = outH
        outShape[axes.width] = outW
        let out = Tensor(uninitializedShape: outShape)
        Tensor.shiftWindow(from: self, height: view.height, width: view.width, to: out, height: outH, width: outW,
                           view: view, offsetY: rowsBefore, offsetX: columnsBefore)
        let inShape = shape
        return Tensor.recordOp(out, inputs: [self]) { g in
            let dx = Tensor(uninitializedShape: inShape)
            Tensor.shiftWindow(from: g, height: outH, width: outW, to: dx, height: view.height, width: view.width,
                               view: view, offsetY: -rowsBefore, offsetX: -columnsBefore)
            return [dx]
        }
    }

    private static func shiftWindow(from src: Tensor, height srcH: Int, width srcW: Int, to dst: Tensor, height dstH: Int, width dstW: Int,
                                    view: SpatialView, offsetY: Int, offsetX: Int) {
        ThreadPool.parallelFor(view.outer * dstH * view.mid, minChunk: view.minimumRows(width: dstW)) { range in
            fovea_shift_window(src.storage.pointer, srcH, srcW, dst.storage.pointer, dstH, dstW, view.mid, view.inner,
                               offsetY, offsetX, range.lowerBound, range.upperBound)
        }
    }

    /// The two spatial axes enlarged `rows` × `columns` times (Keras `UpSampling2D(size: (rows,
    /// columns), interpolation:)`): `.nearest` repeats each cell (its gradient sums each block),
    /// `.bilinear` interpolates as TensorFlow's `tf.image.resize` does (see
    /// ``resizedBilinear(height:width:axes:)``).
    public func upsampled(rows: Int, columns: Int, interpolation: UpsamplingInterpolation = .nearest,
                          axes: SpatialAxes = .channelsLast) -> Tensor {
        precondition(rows >= 1 && columns >= 1, "upsampled needs factors >= 1; got \(rows), \(columns)")
        let view = SpatialView(shape, axes, op: "upsampled")
        if interpolation == .bilinear {
            return resizedBilinear(height: view.height * rows, width: view.width * columns, axes: axes)
        }
        var outShape = shape
        outShape[axes.height] = view.height * rows
        outShape[axes.width] = view.width * columns
        let out = Tensor(uninitializedShape: outShape)
        let x = self.detached
        ThreadPool.parallelFor(view.outer * view.height * rows * view.mid, minChunk: view.minimumRows(width: view.width * columns)) { range in
            fovea_upsample_nearest(x.storage.pointer, view.height, view.width, view.mid, view.inner, rows, columns,
                                   out.storage.pointer, range.lowerBound, range.upperBound)
        }
        let inShape = shape
        return Tensor.recordOp(out, inputs: [self]) { g in
            let dx = Tensor(uninitializedShape: inShape)
            ThreadPool.parallelFor(view.outer * view.height * view.mid, minChunk: view.minimumRows(width: view.width * rows * columns)) { range in
                fovea_upsample_nearest_backward(g.storage.pointer, view.height, view.width, view.mid, view.inner, rows, columns,
                                                dx.storage.pointer, range.lowerBound, range.upperBound)
            }
            return [dx]
        }
    }

    /// The two spatial axes resized to `height` × `width` by TensorFlow's bilinear interpolation
    /// with half-pixel centres (`tf.image.resize(method: "bilinear")` without antialiasing, which
    /// Keras's `ops.image.resize` and `UpSampling2D(interpolation: "bilinear")` call): output cell d
    /// reads source coordinate `(d + 0.5) · in/out − 0.5`, clamped to the edge cells. Differentiable
    /// (each output's gradient goes to its four source cells with the interpolation weights).
    public func resizedBilinear(height: Int, width: Int, axes: SpatialAxes = .channelsLast) -> Tensor {
        precondition(height >= 1 && width >= 1, "resizedBilinear needs a size >= 1; got \(height)×\(width)")
        let view = SpatialView(shape, axes, op: "resizedBilinear")
        precondition(view.height >= 1 && view.width >= 1, "resizedBilinear: cannot resize an empty \(view.height)×\(view.width) input")
        var outShape = shape
        outShape[axes.height] = height
        outShape[axes.width] = width
        let out = Tensor(uninitializedShape: outShape)
        let x = self.detached
        ThreadPool.parallelFor(view.outer * height * view.mid, minChunk: view.minimumRows(width: width)) { range in
            let status = fovea_resize_bilinear(x.storage.pointer, view.height, view.width, view.mid, view.inner, out.storage.pointer,
                                               height, width, range.lowerBound, range.upperBound)
            // As for the scratch buffers: an output silently missing would be worse than stopping.
            if status != 0 { fatalError("out of memory for a \(height + width)-entry bilinear weight table") }
        }
        let inShape = shape
        return Tensor.recordOp(out, inputs: [self]) { g in
            let dx = Tensor(uninitializedShape: inShape)
            ThreadPool.parallelFor(view.outer) { range in
                let status = fovea_resize_bilinear_backward(g.storage.pointer, view.height, view.width, view.mid, view.inner,
                                                            dx.storage.pointer, height, width, range.lowerBound, range.upperBound)
                if status != 0 { fatalError("out of memory for a \(height + width)-entry bilinear weight table") }
            }
            return [dx]
        }
    }
}
