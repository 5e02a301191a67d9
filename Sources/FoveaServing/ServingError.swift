/// An error a serving request ends with, and the HTTP status each protocol gives it.
public struct ServingError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The request is malformed or does not fit the model (400).
        case badRequest
        /// No such model or version, or the version is not available (404).
        case notFound
        /// The body is larger than the limit (413).
        case payloadTooLarge
        /// The body's media type is not one the route reads (415).
        case unsupportedMediaType
        /// The model's queue is full; try again shortly (503 with Retry-After).
        case queueFull
        /// The request waited longer than the per-request timeout (503 with Retry-After).
        case timedOut
        /// The server is shutting down or the version is being unloaded (503).
        case unavailable
        /// A fault of the server itself (500).
        case `internal`
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) { self.kind = kind; self.message = message }

    public static func badRequest(_ message: String) -> ServingError { ServingError(.badRequest, message) }
    public static func notFound(_ message: String) -> ServingError { ServingError(.notFound, message) }

    public var description: String { message }

    /// The HTTP status code.
    public var status: Int {
        switch kind {
        case .badRequest: return 400
        case .notFound: return 404
        case .payloadTooLarge: return 413
        case .unsupportedMediaType: return 415
        case .queueFull, .timedOut, .unavailable: return 503
        case .internal: return 500
        }
    }

    /// Seconds a client should wait before retrying (the Retry-After header), for 503s.
    public var retryAfterSeconds: Int? {
        switch kind {
        case .queueFull, .timedOut, .unavailable: return 1
        default: return nil
        }
    }
}
