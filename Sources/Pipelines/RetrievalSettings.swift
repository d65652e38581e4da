import Foundation
import Settings

/// How behaviors are retrieved for each problem when a step is given a handbook.
public struct RetrievalSettings: Settings {
    public var method = RetrievalMethod.bm25
    /// Behaviors per problem.
    public var k = 5

    enum CodingKeys: String, CodingKey { case method = "retrieval", k }

    public init() {}

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.update(&method, .method)
        try c.update(&k, .k)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(method, forKey: .method)
        try c.encode(k, forKey: .k)
    }

    public func validate() throws {
        guard k >= 1 else { throw SettingsError.invalid("k", "must be at least 1") }
    }
}
