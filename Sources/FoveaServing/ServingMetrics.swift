import CoreMetrics
import Metrics

/// The serving core's measurements through swift-metrics, made by the factory it is given (the
/// server passes a Prometheus one; nothing here bootstraps the global metrics system):
/// `fovea_batch_size` (samples per batch, a histogram), `fovea_batch_requests` (requests per
/// batch), `fovea_inference_duration_seconds` (per batch), `fovea_queue_depth` (samples waiting,
/// a gauge), each by `model` and `version`; `fovea_models_loaded` (model versions available).
public final class ServingMetrics: Sendable {
    public let factory: any MetricsFactory
    private let loaded: Gauge

    public init(factory: any MetricsFactory) {
        self.factory = factory
        loaded = Gauge(label: "fovea_models_loaded", dimensions: [], factory: factory)
    }

    /// The number of model versions currently available.
    public func modelsLoaded(_ count: Int) { loaded.record(count) }

    /// The observer for one model version's batcher.
    public func observer(model: String, version: Int) -> any BatchObserver {
        Observer(dimensions: [("model", model), ("version", String(version))], factory: factory)
    }

    struct Observer: BatchObserver, @unchecked Sendable {
        let depth: Gauge
        let size: Recorder
        let requests: Recorder
        let duration: Metrics.Timer

        init(dimensions: [(String, String)], factory: any MetricsFactory) {
            depth = Gauge(label: "fovea_queue_depth", dimensions: dimensions, factory: factory)
            size = Recorder(label: "fovea_batch_size", dimensions: dimensions, aggregate: true, factory: factory)
            requests = Recorder(label: "fovea_batch_requests", dimensions: dimensions, aggregate: true, factory: factory)
            duration = Metrics.Timer(label: "fovea_inference_duration_seconds", dimensions: dimensions, factory: factory)
        }

        func queueDepthChanged(_ samples: Int) { depth.record(samples) }

        func batchRan(samples: Int, requests count: Int, seconds: Double) {
            size.record(samples)
            requests.record(count)
            duration.recordSeconds(seconds)
        }
    }
}
