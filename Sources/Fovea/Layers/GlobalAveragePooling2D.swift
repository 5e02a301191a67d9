import Foundation

/// Keras `GlobalAveragePooling2D`: each channel's mean over the image.
public final class GlobalAveragePooling2D: GlobalPooling2DBase, ConfigurableLayer {
    public init(dataFormat: DataFormat = .channelsLast, keepDims: Bool = false, name: String? = nil) {
        super.init(dataFormat: dataFormat, keepDims: keepDims, isMax: false, name: name)
    }
    public convenience init(configuration c: Configuration, name: String?) throws {
        self.init(dataFormat: c.dataFormat, keepDims: c.keepdims, name: name)
    }
}
