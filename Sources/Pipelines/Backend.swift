import Foundation
import Teachers
import Torch
import World

/// Which model answers, as the CLI options and recipe settings describe it: an
/// OpenAI-compatible server, the in-process student, or the SCRIPTED offline world.
public struct Backend: Sendable {
    public enum Kind: String, Sendable, CaseIterable { case openai, local, scripted }

    public var kind: Kind = .scripted
    public var baseURLs: [URL] = []
    public var model: String?
    public var apiKeyVariable: String?
    /// Requests in flight per server; for local and scripted, problems worked on at once.
    public var maxInFlight = 8
    public var timeout: TimeInterval = 600
    public var checkpoint: URL?
    /// Where a local checkpoint runs: cpu, cuda or cuda:N.
    public var device = "cpu"
    public var worldSeed: UInt64 = 0
    public var embeddingModel: String?

    public init(kind: Kind = .scripted) { self.kind = kind }

    /// Problems worked on at once: enough to keep every endpoint's slots busy.
    public var concurrency: Int { kind == .openai ? maxInFlight * max(1, baseURLs.count) : maxInFlight }

    /// What is missing for this kind, as a message naming the option (nil when complete).
    public func problem(option: (String) -> String) -> String? {
        switch kind {
        case .openai:
            if baseURLs.isEmpty { return "backend openai needs \(option("base-url"))" }
            if model == nil { return "backend openai needs \(option("model"))" }
        case .local:
            if checkpoint == nil { return "backend local needs \(option("checkpoint"))" }
        case .scripted: break
        }
        return maxInFlight < 1 ? "\(option("max-in-flight")) must be at least 1" : nil
    }

    /// The model; wrapped in the response cache at `cache` when one is given.
    public func make(cache: URL?) throws -> LanguageModel {
        let base: LanguageModel
        switch kind {
        case .openai:
            base = try OpenAIClient(clientConfiguration(model: model!))
        case .local:
            let d: Device
            do { d = try Device.resolve(device) } catch let e as TorchError { throw PipelineError.invalid("backend device: \(e.message)") }
            base = try LocalModel(checkpoint: checkpoint!, maxBatch: maxInFlight, device: d)
        case .scripted:
            base = ScriptedModel(seed: worldSeed)
        }
        guard let cache else { return base }
        try FileManager.default.createDirectory(at: cache.deletingLastPathComponent(), withIntermediateDirectories: true)
        return CachedModel(base, cache: try ResponseCache(path: cache.path))
    }

    /// Embeddings for embedding retrieval, where the backend has them.
    public func embedder() throws -> Embed? {
        switch kind {
        case .openai:
            let client = try OpenAIClient(clientConfiguration(model: embeddingModel ?? model!))
            return { try await client.embed($0) }
        case .scripted:
            return { $0.map(ScriptedEmbedding.embed) }
        case .local:
            return nil
        }
    }

    private func clientConfiguration(model: String) -> OpenAIClient.Configuration {
        var c = OpenAIClient.Configuration(baseURLs: baseURLs, model: model, apiKeyVariable: apiKeyVariable)
        c.maxInFlight = maxInFlight
        c.timeout = timeout
        return c
    }
}
