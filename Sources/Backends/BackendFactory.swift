import Foundation
import Pipelines
import Settings
import Teachers
import Torch
import World

/// Makes the model a `Backend` setting names. Kept apart from `Pipelines` because two of the
/// three kinds need more than the pipelines do: the local student needs libtorch, the scripted
/// teacher the offline world.
extension Backend {
    /// Checks what `validate()` cannot without libtorch: a local device this build can use.
    public func checkDevice() throws {
        guard resolvedKind == .local else { return }
        do { _ = try Device.resolve(device) } catch let e as TorchError { throw SettingsError.invalid("backend.device", e.message) }
    }

    /// The model; wrapped in the response cache at `cache` when one is given. A local student's
    /// cache entries are keyed by its weights' content (`LocalModel.name`), so another
    /// checkpoint, even in a folder of the same name, never gets the answers of this one.
    public func make(cache: URL?) throws -> LanguageModel {
        try validate()
        let base: LanguageModel
        switch resolvedKind! {
        case .openai:
            base = try OpenAIClient(clientConfiguration(model: model!))
        case .local:
            try checkDevice()
            try Runtime.apply(Runtime.Settings.fromEnvironment())
            base = try LocalModel(checkpoint: checkpoint!, template: template, maxBatch: inFlight, device: try Device.resolve(device))
        case .scripted:
            base = ScriptedModel(seed: worldSeed)
        }
        guard let cache else { return base }
        try FileManager.default.createDirectory(at: cache.deletingLastPathComponent(), withIntermediateDirectories: true)
        return CachedModel(base, cache: try ResponseCache(path: cache.path))
    }

    private func clientConfiguration(model: String) -> OpenAIClient.Configuration {
        var c = OpenAIClient.Configuration(baseURLs: urls, model: model, apiKeyVariable: apiKeyVariable)
        c.maxInFlight = inFlight
        c.timeout = timeout
        c.stream = stream
        return c
    }
}

extension EmbeddingSettings {
    /// Inputs per `/v1/embeddings` request: TEI's default `--max-client-batch-size`, so a
    /// handbook of thousands of behaviors is never refused as one oversized request.
    static let batchSize = 32

    /// Embeddings for embedding retrieval and merge_similar: the named embedding server; with
    /// none, the scripted backend's own (the SCRIPTED world is chosen explicitly). Any other
    /// backend without an embedding server is an error: the chat server is never asked.
    public func embedder(for backend: Backend) throws -> Embed {
        try validate()
        guard isGiven else {
            try require(for: "embedding retrieval or merge_similar", backend: backend)
            return { $0.map(ScriptedEmbedding.embed) }
        }
        let client = try OpenAIClient(OpenAIClient.Configuration(baseURLs: [url!], model: model!, apiKeyVariable: apiKeyVariable))
        return { texts in
            let batches = stride(from: 0, to: texts.count, by: Self.batchSize).map { Array(texts[$0..<min($0 + Self.batchSize, texts.count)]) }
            // In parallel (the client keeps its in-flight limit), in order.
            return try await withThrowingTaskGroup(of: (Int, [[Float]]).self) { group in
                for (i, batch) in batches.enumerated() { group.addTask { (i, try await client.embed(batch)) } }
                var parts = [[[Float]]](repeating: [], count: batches.count)
                for try await (i, vectors) in group {
                    guard vectors.count == batches[i].count else {
                        throw TeacherError.badResponse(url: client.configuration.baseURLs[0].absoluteString,
                                                       reason: "\(vectors.count) embeddings for \(batches[i].count) inputs")
                    }
                    parts[i] = vectors
                }
                return parts.flatMap { $0 }
            }
        }
    }
}
