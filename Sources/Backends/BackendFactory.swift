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
            base = try LocalModel(checkpoint: checkpoint!, maxBatch: inFlight, device: try Device.resolve(device))
        case .scripted:
            base = ScriptedModel(seed: worldSeed)
        }
        guard let cache else { return base }
        try FileManager.default.createDirectory(at: cache.deletingLastPathComponent(), withIntermediateDirectories: true)
        return CachedModel(base, cache: try ResponseCache(path: cache.path))
    }

    /// Embeddings for embedding retrieval and merge_similar, where the kind has them.
    public func embedder() throws -> Embed? {
        switch resolvedKind {
        case .openai?:
            let client = try OpenAIClient(clientConfiguration(model: embeddingModel ?? model!))
            return { try await client.embed($0) }
        case .scripted?:
            return { $0.map(ScriptedEmbedding.embed) }
        case .local?, nil:
            return nil
        }
    }

    private func clientConfiguration(model: String) -> OpenAIClient.Configuration {
        var c = OpenAIClient.Configuration(baseURLs: urls, model: model, apiKeyVariable: apiKeyVariable)
        c.maxInFlight = inFlight
        c.timeout = timeout
        c.stream = stream
        return c
    }
}
