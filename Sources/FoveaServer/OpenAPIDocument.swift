import Foundation

/// The committed OpenAPI document of every route (Resources/openapi.json), served at /openapi.json.
enum OpenAPIDocument {
    static let bytes: [UInt8] = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"),
              let data = try? Data(contentsOf: url) else { return Array(#"{"error":"the OpenAPI document is missing from this build"}"#.utf8) }
        return [UInt8](data)
    }()
}
