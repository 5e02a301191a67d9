import Foundation

/// Keras `MaxPooling2D`: the largest value of each window.
public final class MaxPooling2D: Pooling2DBase, ConfigurableLayer {
    public init(poolSize: (Int, Int) = (2, 2), strides: (Int, Int)? = nil, padding: Padding = .valid,
                dataFormat: DataFormat = .channelsLast, name: String? = nil) {
        super.init(poolSize: poolSize, strides: strides, padding: padding, dataFormat: dataFormat, isMax: true, oneDimensional: false, name: name)
    }
    public convenience init(poolSize: Int, strides: Int? = nil, padding: Padding = .valid,
                            dataFormat: DataFormat = .channelsLast, name: String? = nil) {
        self.init(poolSize: (poolSize, poolSize), strides: strides.map { ($0, $0) }, padding: padding, dataFormat: dataFormat, name: name)
    }
    public convenience init(configuration c: Configuration, name: String?) throws {
        let (pool, strides) = try c.window(axes: 2)
        self.init(poolSize: (pool[0], pool[1]), strides: (strides[0], strides[1]), padding: c.padding, dataFormat: c.dataFormat, name: name)
    }
}
