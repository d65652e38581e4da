import Foundation
import Settings

/// The embedding server of the steps that embed (embedding retrieval in solve, generate and
/// eval; `merge_similar` in extract): any OpenAI-compatible `/v1/embeddings`, e.g. BGE-M3
/// behind vLLM or TEI. It is its own group because the chat server seldom serves embeddings:
/// the chat backend is never asked for them. Only the scripted backend has embeddings of its
/// own (the SCRIPTED world's), used when no group is given. The embedder itself is made by
/// the `Backends` module (`EmbeddingSettings.embedder(for:)`).
///
/// ```yaml
/// embedding:
///   base_url: ${EMBED_URL}        # e.g. http://127.0.0.1:8001/v1
///   model: BAAI/bge-m3            # the name the server serves
///   api_key_env: EMBED_KEY        # the variable's NAME, never the key
/// ```
public struct EmbeddingSettings: Settings {
    public var baseURL: String?
    public var model: String?
    public var apiKeyVariable: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case model
        case baseURL = "base_url", apiKeyVariable = "api_key_env"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.update(&baseURL, .baseURL)
        try c.update(&model, .model)
        try c.update(&apiKeyVariable, .apiKeyVariable)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(baseURL, forKey: .baseURL)
        try c.encodeIfPresent(model, forKey: .model)
        try c.encodeIfPresent(apiKeyVariable, forKey: .apiKeyVariable)
    }

    /// Whether an embedding server is named (anything in the group names one; `validate()`
    /// then requires its URL and model).
    public var isGiven: Bool { baseURL != nil || model != nil || apiKeyVariable != nil }

    public var url: URL? { baseURL.flatMap(URL.init(string:)) }

    /// Errors name the key under `embedding`.
    public func validate() throws {
        guard isGiven else { return }
        guard let baseURL else { throw SettingsError.invalid("embedding.base_url", "missing: the embedding server's URL, e.g. http://127.0.0.1:8001/v1") }
        guard let u = URL(string: baseURL), u.scheme != nil, u.host != nil else { throw SettingsError.invalid("embedding.base_url", "'\(baseURL)' is not a URL") }
        if u.user != nil || u.password != nil {
            throw SettingsError.invalid("embedding.base_url", "holds credentials (user:password@): put the key in an environment variable and name it in embedding.api_key_env")
        }
        if model == nil { throw SettingsError.invalid("embedding.model", "missing: the embedding model the server serves (e.g. BAAI/bge-m3)") }
    }

    /// Checks that `use` (embedding retrieval, merge_similar) has embeddings: an embedding
    /// server, or the scripted backend's own. Never the chat server.
    public func require(for use: String, backend: Backend) throws {
        guard !isGiven, backend.resolvedKind != .scripted else { return }
        throw SettingsError.invalid("embedding.base_url",
                                    "missing: \(use) needs an embedding server (an OpenAI-compatible /v1/embeddings); the chat backend is not asked for embeddings")
    }
}
