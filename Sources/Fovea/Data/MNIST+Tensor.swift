import Foundation

extension MNIST {
    /// Images as `[n, rows, columns, 1]` scaled to [0, 1] and labels as `[n]` class indices,
    /// the first `limit` samples of the chosen split.
    public func tensors(_ split: Split, limit: Int? = nil) -> (x: Tensor, y: Tensor) {
        let images = split == .train ? trainImages : testImages
        let labels = split == .train ? trainLabels : testLabels
        let n = Swift.min(limit ?? labels.count, labels.count)
        let pixels = rows * columns
        var x = Tensor(uninitializedShape: [n, rows, columns, 1])
        x.withUnsafeMutableBufferPointer { p in
            images.withUnsafeBufferPointer { src in
                for i in 0..<(n * pixels) { p[i] = Float(src[i]) * (1 / 255) }
            }
        }
        return (x, Tensor(shape: [n], scalars: labels[0..<n].map(Float.init)))
    }

    public enum Split: String, Sendable { case train, test }
}
