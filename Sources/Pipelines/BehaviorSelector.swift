import Behaviors
import Settings
import Foundation

/// How behaviors are picked for a problem in behavior-conditioned inference.
public enum RetrievalMethod: String, Sendable, Codable, CaseIterable, SettingChoice {
    /// The handbook's behaviors for the problem's subject (the paper's MATH setting).
    case topic
    /// BM25 over names and instructions, queried with the problem text (the offline default).
    case bm25
    /// Cosine top-K between embeddings of the problem and the behaviors (the paper's AIME setting).
    case embedding
}

/// Embeds texts; an OpenAI-compatible `/v1/embeddings` or the scripted world's embedding.
public typealias Embed = @Sendable ([String]) async throws -> [[Float]]

/// Picks the behaviors for each problem from a handbook.
public struct BehaviorSelector: Sendable {
    public let handbook: Handbook
    public let method: RetrievalMethod
    public let k: Int
    private let bm25: BM25Index
    private let embeddings: [String: [Float]]
    private let embed: Embed?

    /// Embedding retrieval embeds the handbook once here.
    public init(handbook: Handbook, method: RetrievalMethod, k: Int, embed: Embed? = nil) async throws {
        guard k > 0 else { throw PipelineError.invalid("k must be at least 1") }
        guard handbook.count > 0 else { throw PipelineError.invalid("the handbook is empty: extract behaviors into it first") }
        self.handbook = handbook
        self.method = method
        self.k = k
        bm25 = BM25Index(handbook)
        self.embed = embed
        if method == .embedding {
            guard let embed else { throw PipelineError.invalid("embedding retrieval needs a backend with embeddings (kind openai with embedding_model, or scripted)") }
            let vectors = try await embed(handbook.behaviors.map(\.promptLine))
            embeddings = Dictionary(uniqueKeysWithValues: zip(handbook.behaviors.map(\.id), vectors))
        } else {
            embeddings = [:]
        }
    }

    public func select(for p: Problem) async throws -> [ScoredBehavior] {
        switch method {
        case .topic:
            guard let subject = p.subject else {
                throw PipelineError.invalid("problem '\(p.id)' has no subject, which topic retrieval needs; use retrieval bm25")
            }
            return Array(Retrieval.byTopic(handbook, topic: subject).prefix(k))
        case .bm25:
            return bm25.search(p.problem, k: k)
        case .embedding:
            let q = try await embed!([p.problem])[0]
            return Retrieval.byEmbedding(handbook, embeddings: embeddings, query: q, k: k)
        }
    }
}
