import ArgumentParser
import FoveaServer
import FoveaServing
import Foundation

/// `fovea serve --models DIR`: the inference server (FoveaServer) over a model repository.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model repository over the Open Inference Protocol (KServe v2), TF Serving's REST API and a TorchServe-style image route.",
        discussion: """
        The repository is laid out as TF Serving's: DIR/NAME/VERSION/model.{safetensors,keras,h5}, or \
        DIR/NAME.{safetensors,keras,h5} as version 1. It is watched: new versions are loaded and served \
        (the highest is the default), removed ones unloaded. SIGTERM or SIGINT stops the server gracefully. \
        Routes and limits: docs/SERVING.md and GET /openapi.json.
        """)

    @Option(help: "The model repository folder.") var models: String
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0: any free port).") var port = 8080
    @Option(help: "Most samples per batch (1 turns dynamic batching off).") var maxBatchSize = BatchingOptions().maxBatchSize
    @Option(help: "How long, in milliseconds, a batch's first request waits for others to join it.") var maxBatchDelayMs = BatchingOptions().maxDelay * 1000
    @Option(help: "Most samples waiting per model version; beyond, requests are answered 503 with Retry-After.") var queueSize = BatchingOptions().maxQueuedSamples
    @Option(help: "Seconds a request may wait for the model before it is answered 503.") var timeout = BatchingOptions().timeout
    @Option(help: "Worker threads (each with its own copy of the model) per model version.") var instances = BatchingOptions().instances
    @Option(help: "Largest request body in bytes (413 beyond).") var maxBodyBytes = 8 << 20
    @Option(help: "Most samples one request may carry.") var maxRequestBatch = 256
    @Option(help: "Seconds between two looks at the repository for new, changed or removed versions.") var pollInterval = 1.0
    @Option(help: "trace, debug, info, notice, warning, error or critical.") var logLevel = "info"
    @Flag(help: "No access log line per request.") var noAccessLog = false

    func run() throws {
        let batching = BatchingOptions(maxBatchSize: maxBatchSize, maxDelay: maxBatchDelayMs / 1000, maxQueuedSamples: queueSize,
                                       timeout: timeout, instances: instances)
        let options = try ServerOptions(modelsDirectory: URL(fileURLWithPath: models, isDirectory: true), host: host, port: port,
                                        batching: batching, maxBodyBytes: maxBodyBytes, maxRequestBatch: maxRequestBatch,
                                        pollInterval: pollInterval, logLevelName: logLevel, accessLog: !noAccessLog).validated()
        try FoveaServer.runBlocking(options)
    }
}
