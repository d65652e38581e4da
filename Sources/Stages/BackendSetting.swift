import Foundation
import Pipelines
import Recipes

/// Reads a stage's `backend` setting:
///
/// ```yaml
/// backend:
///   kind: openai                  # openai | local | scripted (default scripted)
///   base_url: ${TEACHER_URL}      # openai: one URL or a list
///   model: ${TEACHER_MODEL}       # openai
///   api_key_env: TEACHER_KEY      # openai: the variable's NAME, never the key
///   max_in_flight: 16
///   timeout: 600
///   embedding_model: bge-m3       # openai, for embedding retrieval
///   world_seed: 0                 # scripted
///   device: cuda                  # local: cpu (default), cuda or cuda:N
/// ```
/// A local backend takes its checkpoint from the stage's `model` input.
enum BackendSetting {
    static let keys: Set<String> = ["kind", "base_url", "model", "api_key_env", "max_in_flight", "timeout", "embedding_model", "world_seed", "device"]

    static func read(_ settings: StageSettings, checkpoint: URL? = nil) throws -> Backend {
        guard let raw = settings["backend"] else { return Backend(kind: checkpoint == nil ? .scripted : .local).with(checkpoint: checkpoint) }
        guard case let .map(m) = raw else { throw settings.error("backend", "expected a mapping (kind, base_url, model, ...)") }
        if let unknown = m.keys.sorted().first(where: { !keys.contains($0) }) {
            throw settings.error("backend", "unknown key '\(unknown)' (known: \(keys.sorted().joined(separator: ", ")))")
        }
        func text(_ k: String) throws -> String? {
            guard let v = m[k] else { return nil }
            guard let s = v.scalarText, !s.isEmpty else { throw settings.error("backend", "'\(k)' must be a non-empty scalar") }
            return s
        }
        var b = Backend()
        if let k = try text("kind") {
            guard let kind = Backend.Kind(rawValue: k) else { throw settings.error("backend", "kind '\(k)' is not one of openai, local, scripted") }
            b.kind = kind
        }
        switch m["base_url"] {
        case nil: break
        case let .list(xs)?: b.baseURLs = xs.compactMap { $0.scalarText.flatMap(URL.init(string:)) }
        case let v?: b.baseURLs = v.scalarText.flatMap(URL.init(string:)).map { [$0] } ?? []
        }
        b.model = try text("model")
        // An empty variable name means no key (recipes write `${KEY_ENV:-}`).
        b.apiKeyVariable = m["api_key_env"]?.scalarText.flatMap { $0.isEmpty ? nil : $0 }
        b.embeddingModel = try text("embedding_model")
        if let n = try text("max_in_flight") {
            guard let v = Int(n), v >= 1 else { throw settings.error("backend", "max_in_flight must be a positive integer") }
            b.maxInFlight = v
        }
        if let t = try text("timeout") {
            guard let v = Double(t), v > 0 else { throw settings.error("backend", "timeout must be a positive number of seconds") }
            b.timeout = v
        }
        if let s = try text("world_seed") {
            guard let v = UInt64(s) else { throw settings.error("backend", "world_seed must be a non-negative integer") }
            b.worldSeed = v
        }
        if let d = try text("device") { b.device = d }
        b.checkpoint = checkpoint
        if let p = b.problem(option: { "backend." + $0.replacingOccurrences(of: "-", with: "_") }) {
            throw settings.error("backend", p + (b.kind == .local ? " (give the stage a `model` input)" : ""))
        }
        return b
    }

    /// The response cache all stages of a run share (keys cover model, messages and sampling,
    /// so sharing is safe): changing a downstream setting never re-asks the teacher.
    static func cache(_ context: StageContext) -> URL {
        context.workdir.appendingPathComponent(".cache/responses.sqlite")
    }
}

extension Backend {
    func with(checkpoint: URL?) -> Backend {
        var b = self
        b.checkpoint = checkpoint
        return b
    }
}
