import Dispatch
import Foundation
import FoveaServing
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle

/// What `fovea serve` is given.
public struct ServerOptions: Sendable {
    /// The model repository (`DIR/NAME/VERSION/model.{safetensors,keras,h5}` or `DIR/NAME.ext`).
    public var modelsDirectory: URL
    public var host: String
    public var port: Int
    public var batching: BatchingOptions
    /// Largest request body accepted (413 beyond).
    public var maxBodyBytes: Int
    /// Most samples one request may carry.
    public var maxRequestBatch: Int
    /// Seconds between two looks at the repository.
    public var pollInterval: Double
    /// Largest image (in pixels) the image route and `b64` inputs decode.
    public var maxImagePixels: Int
    public var logLevel: Logger.Level
    /// One structured log line per request (at `info`).
    public var accessLog: Bool

    public init(modelsDirectory: URL, host: String = "127.0.0.1", port: Int = 8080, batching: BatchingOptions = BatchingOptions(),
                maxBodyBytes: Int = 8 << 20, maxRequestBatch: Int = 256, pollInterval: Double = 1,
                maxImagePixels: Int = ImageRequestDecoder.defaultMaximumPixels, logLevel: Logger.Level = .info, accessLog: Bool = true) {
        self.modelsDirectory = modelsDirectory; self.host = host; self.port = port; self.batching = batching
        self.maxBodyBytes = maxBodyBytes; self.maxRequestBatch = maxRequestBatch; self.pollInterval = pollInterval
        self.maxImagePixels = maxImagePixels; self.logLevel = logLevel; self.accessLog = accessLog
    }

    /// The same, with the log level by name (trace, debug, info, notice, warning, error, critical).
    public init(modelsDirectory: URL, host: String, port: Int, batching: BatchingOptions, maxBodyBytes: Int, maxRequestBatch: Int,
                pollInterval: Double, logLevelName: String, accessLog: Bool) throws(ServingError) {
        guard let level = Logger.Level(rawValue: logLevelName.lowercased()) else {
            throw .badRequest("unknown log level '\(logLevelName)'; use trace, debug, info, notice, warning, error or critical")
        }
        self.init(modelsDirectory: modelsDirectory, host: host, port: port, batching: batching, maxBodyBytes: maxBodyBytes,
                  maxRequestBatch: maxRequestBatch, pollInterval: pollInterval, logLevel: level, accessLog: accessLog)
    }

    /// Checks the values a user passed.
    public func validated() throws(ServingError) -> ServerOptions {
        _ = try batching.validated()
        guard (0...65535).contains(port) else { throw .badRequest("--port must be 0...65535 (got \(port))") }
        guard maxBodyBytes >= 1024 else { throw .badRequest("the body limit must be at least 1024 bytes (got \(maxBodyBytes))") }
        guard maxRequestBatch >= 1 else { throw .badRequest("the request batch limit must be at least 1 (got \(maxRequestBatch))") }
        guard pollInterval > 0 else { throw .badRequest("the poll interval must be positive (got \(pollInterval))") }
        guard maxImagePixels >= 1 else { throw .badRequest("the image size limit must be positive") }
        return self
    }
}

/// `fovea serve`: the model repository behind the Open Inference Protocol (KServe v2), TF
/// Serving's REST API and a TorchServe-style image route, on Hummingbird.
public enum FoveaServer {
    public static let version = "0.1.0"

    /// The pieces of a server: the repository (not yet polled), the metrics and the application.
    public struct Parts: Sendable {
        public let repository: ModelRepository
        public let registry: PrometheusCollectorRegistry
        public let application: Application<RouterResponder<BasicRequestContext>>
    }

    /// Builds the server for `options`. The repository is polled (and watched) only once the
    /// application runs, unless the caller polls it first (tests do).
    public static func make(_ options: ServerOptions, logger: Logger? = nil, watch: Bool = true,
                            onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> Parts {
        var logger = logger ?? Logger(label: "fovea.serve")
        logger.logLevel = options.logLevel
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        let sizes: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
        factory.valueHistogramBuckets["fovea_batch_size"] = sizes
        factory.valueHistogramBuckets["fovea_batch_requests"] = sizes
        let durations: [Duration] = [.microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5),
                                     .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                                     .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10)]
        factory.defaultDurationHistogramBuckets = durations
        let metrics = ServingMetrics(factory: factory)
        let repository = ModelRepository(root: options.modelsDirectory, options: options.batching,
                                         maxRequestBatch: options.maxRequestBatch, metrics: metrics, logger: logger)
        let routes = Routes(options: options, repository: repository, registry: registry, logger: logger)
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: AccessMiddleware(routes: routes, metrics: HTTPMetrics(factory: factory), logger: logger,
                                                accessLog: options.accessLog))
        routes.register(on: router)
        var application = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: .seconds(60))),
            configuration: ApplicationConfiguration(address: .hostname(options.host, port: options.port), serverName: "fovea"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? options.port) },
            logger: logger)
        application.addServices(RepositoryService(repository: repository, pollInterval: options.pollInterval, watch: watch, logger: logger))
        return Parts(repository: repository, registry: registry, application: application)
    }

    /// Runs the server until SIGTERM or SIGINT, then stops accepting connections, finishes the
    /// requests under way, unloads the models and returns.
    public static func run(_ options: ServerOptions) async throws {
        let options = try options.validated()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: options.modelsDirectory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ServingError.badRequest("the model repository \(options.modelsDirectory.path) is not a folder")
        }
        let parts = make(options) { port in
            print("fovea serve: listening on http://\(options.host):\(port) (models from \(options.modelsDirectory.path))")
        }
        try await parts.application.runService()
    }

    /// ``run(_:)`` for a synchronous caller (the command line).
    public static func runBlocking(_ options: ServerOptions) throws {
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do { try await run(options) } catch { outcome.set(error) }
            done.signal()
        }
        done.wait()
        if let error = outcome.error { throw error }
    }

    private final class Outcome: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: (any Error)?
        func set(_ error: any Error) { lock.withLock { stored = error } }
        var error: (any Error)? { lock.withLock { stored } }
    }
}

/// Polls the repository while the server runs; unloads every model (after their queued requests)
/// once the HTTP server has shut down.
struct RepositoryService: Service {
    let repository: ModelRepository
    let pollInterval: Double
    let watch: Bool
    let logger: Logger

    func run() async throws {
        if watch { repository.startWatching(interval: pollInterval) }
        try? await gracefulShutdown()
        logger.info("shutting down: unloading models")
        await repository.shutdown()
    }
}
