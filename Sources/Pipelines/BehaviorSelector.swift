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

/// Picks the behaviors for each problem from a handbook. The list may be empty (a topic with
/// no behaviors, a question sharing no term with any behavior under bm25).
public struct BehaviorSelector: Sendable {
    public let handbook: Handbook
    public let method: RetrievalMethod
    /// Behaviors per problem, the most relevant kept; nil: no cap.
    public let k: Int?
    private let bm25: BM25Index
    private let embeddings: [String: [Float]]
    private let embed: Embed?
    private let queries = QueryEmbeddings()

    /// The selector `retrieval` describes (its k, or the method's default).
    public init(handbook: Handbook, retrieval: RetrievalSettings, embed: Embed? = nil) async throws {
        try await self.init(handbook: handbook, method: retrieval.method, k: retrieval.resolvedK, embed: embed)
    }

    /// Embedding retrieval embeds the handbook once here.
    public init(handbook: Handbook, method: RetrievalMethod, k: Int?, embed: Embed? = nil) async throws {
        if let k, k < 1 { throw PipelineError.invalid("k must be at least 1") }
        guard handbook.count > 0 else { throw PipelineError.invalid("the handbook is empty: extract behaviors into it first") }
        self.handbook = handbook
        self.method = method
        self.k = k
        bm25 = BM25Index(handbook)
        self.embed = embed
        if method == .embedding {
            guard let embed else { throw PipelineError.invalid("embedding retrieval needs embeddings: name an embedding server (embedding.base_url, embedding.model)") }
            let vectors = try await embed(handbook.behaviors.map(\.promptLine))
            guard vectors.count == handbook.count else {
                throw PipelineError.invalid("the embedding server returned \(vectors.count) embeddings for \(handbook.count) behaviors")
            }
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
            return Retrieval.byTopic(handbook, topic: subject, query: p.problem, k: k, index: bm25)
        case .bm25:
            return bm25.search(p.problem, k: k)
        case .embedding:
            let q = try await queries.vector(p.problem, embed: embed!)
            return Retrieval.byEmbedding(handbook, embeddings: embeddings, query: q, k: k)
        }
    }
}

/// Each question's embedding, asked once however many samples and budgets it is solved at;
/// concurrent askers share the one request. A failed request is forgotten, so a retry asks again.
private final class QueryEmbeddings: @unchecked Sendable {
    private let lock = NSLock()
    private var tasks: [String: Task<[Float], Error>] = [:]

    func vector(_ text: String, embed: @escaping Embed) async throws -> [Float] {
        let task = lock.withLock {
            if let t = tasks[text] { return t }
            let t = Task {
                guard let v = try await embed([text]).first else { throw PipelineError.invalid("the embedding server returned no embedding for a question") }
                return v
            }
            tasks[text] = t
            return t
        }
        do { return try await task.value } catch {
            lock.withLock { tasks[text] = nil }
            throw error
        }
    }
}
