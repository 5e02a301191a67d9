import Foundation

/// Keras `GlobalMaxPooling2D`: each channel's largest value over the image.
public final class GlobalMaxPooling2D: GlobalPooling2DBase, ConfigurableLayer {
    public init(dataFormat: DataFormat = .channelsLast, keepDims: Bool = false, name: String? = nil) {
        super.init(dataFormat: dataFormat, keepDims: keepDims, isMax: true, name: name)
    }
    public convenience init(configuration c: Configuration, name: String?) throws {
        self.init(dataFormat: c.dataFormat, keepDims: c.keepdims, name: name)
    }
}
