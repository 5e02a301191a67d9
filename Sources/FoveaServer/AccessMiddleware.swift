import Foundation
import FoveaServing
import Hummingbird
import Logging
import Metrics

/// Per request: turns any error that escaped a route (an unknown path, a framework error) into
/// `{"error": "…"}` with its status, counts the request in `fovea_requests_total{model,route,status}`,
/// times it in `fovea_request_duration_seconds{route}`, and writes one structured access log line.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let routes: Routes
    let metrics: HTTPMetrics
    let logger: Logger
    let accessLog: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = DispatchTime.now().uptimeNanoseconds
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPError {
            let message = error.status == .notFound ? "no route \(request.method.rawValue) \(request.uri.path)" : (error.body ?? error.status.reasonPhrase)
            response = Routes.error(ServingError(.badRequest, message), status: error.status)
        } catch let error as any HTTPResponseError {
            response = Routes.error(ServingError(.badRequest, "\(error)"), status: error.status)
        } catch {
            response = Routes.error(ServingError(.internal, "internal error: \(error)"))
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        let route = context.endpointPath ?? "unmatched"
        let model = modelLabel(request.uri.path)
        metrics.record(model: model, route: route, status: response.status.code, seconds: seconds)
        if accessLog {
            logger.info("request", metadata: [
                "method": "\(request.method.rawValue)", "path": "\(request.uri.path)", "route": "\(route)", "model": "\(model)",
                "status": "\(response.status.code)", "ms": "\(String(format: "%.3f", seconds * 1000))",
            ])
        }
        return response
    }

    /// The model a path names, when the repository has it ("-" otherwise, so that made-up names
    /// cannot grow the metrics without bound).
    func modelLabel(_ path: String) -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        guard parts.count >= 2 else { return "-" }
        var name: Substring
        switch parts[0] {
        case "v2", "v1":
            guard parts.count >= 3, parts[1] == "models" else { return "-" }
            name = parts[2]
            if parts[0] == "v1", let colon = name.firstIndex(of: ":") { name = name[..<colon] }
        case "predictions":
            name = parts[1]
        default:
            return "-"
        }
        let text = String(name)
        return routes.repository.status(of: text) != nil ? text : "-"
    }
}

/// The HTTP metrics, with one counter per (model, route, status) made once and kept.
final class HTTPMetrics: Sendable {
    let factory: any MetricsFactory
    private let counters = NSLockedBox<[String: Counter]>([:])
    private let timers = NSLockedBox<[String: Metrics.Timer]>([:])

    init(factory: any MetricsFactory) { self.factory = factory }

    func record(model: String, route: String, status: Int, seconds: Double) {
        let key = "\(model)\u{0}\(route)\u{0}\(status)"
        let counter = counters.with { map in
            if let c = map[key] { return c }
            let c = Counter(label: "fovea_requests_total", dimensions: [("model", model), ("route", route), ("status", String(status))], factory: factory)
            map[key] = c
            return c
        }
        counter.increment()
        let timer = timers.with { map in
            if let t = map[route] { return t }
            let t = Metrics.Timer(label: "fovea_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            map[route] = t
            return t
        }
        timer.recordSeconds(seconds)
    }
}

/// A value behind a lock.
final class NSLockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func with<R>(_ body: (inout Value) -> R) -> R { lock.withLock { body(&value) } }
}
