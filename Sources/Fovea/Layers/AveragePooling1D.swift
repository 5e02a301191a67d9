import Foundation

/// Keras `AveragePooling1D` over `(batch, steps, channels)`.
public final class AveragePooling1D: Pooling2DBase, ConfigurableLayer {
    public init(poolSize: Int = 2, strides: Int? = nil, padding: Padding = .valid,
                dataFormat: DataFormat = .channelsLast, name: String? = nil) {
        super.init(poolSize: (1, poolSize), strides: (1, strides ?? poolSize), padding: padding, dataFormat: dataFormat,
                   isMax: false, oneDimensional: true, name: name)
    }
    public convenience init(configuration c: Configuration, name: String?) throws {
        let (pool, strides) = try c.window(axes: 1)
        self.init(poolSize: pool[0], strides: strides[0], padding: c.padding, dataFormat: c.dataFormat, name: name)
    }
}
