import Foundation
import Settings

/// How behaviors are retrieved for each problem when a step is given a handbook, and the
/// embedding server embedding retrieval asks.
public struct RetrievalSettings: Settings {
    public var method = RetrievalMethod.bm25
    /// Behaviors per problem, the most relevant kept; nil: the method's default (`resolvedK`).
    public var k: Int?
    public var embedding = EmbeddingSettings()

    enum CodingKeys: String, CodingKey { case method = "retrieval", k, embedding }

    public init() {}

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.update(&method, .method)
        try c.update(&k, .k)
        try c.update(&embedding, .embedding)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(method, forKey: .method)
        try c.encodeIfPresent(k, forKey: .k)
        try c.encode(embedding, forKey: .embedding)
    }

    /// The default k of each method, as in the paper: topic gives every behavior of the
    /// question's topic (nil: no cap), embedding the top 40; bm25, the offline stand-in for
    /// embedding retrieval, 5.
    public static func defaultK(_ method: RetrievalMethod) -> Int? {
        switch method {
        case .topic: nil
        case .embedding: 40
        case .bm25: 5
        }
    }

    /// Behaviors per problem: `k`, else the method's default; nil: no cap.
    public var resolvedK: Int? { k ?? Self.defaultK(method) }

    public func validate() throws {
        if let k, k < 1 { throw SettingsError.invalid("k", "must be at least 1") }
        try embedding.validate()
    }

    /// Checks that embedding retrieval has an embedding server (or the scripted world's own).
    public func check(backend: Backend) throws {
        if method == .embedding { try embedding.require(for: "embedding retrieval", backend: backend) }
    }
}
