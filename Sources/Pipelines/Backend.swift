import Foundation
import Settings
import Teachers

/// Which model answers, as a recipe's `backend` setting and a command's backend flags give
/// it: an OpenAI-compatible server, the in-process student (a checkpoint), or the SCRIPTED
/// offline world. There is no default kind: the scripted world is chosen explicitly, never
/// fallen back to. The model itself is made by the `Backends` module (`Backend.make`).
/// Embeddings come from their own server (`EmbeddingSettings`), never from this one.
///
/// ```yaml
/// backend:
///   kind: openai                  # openai | local | scripted
///   base_url: ${TEACHER_URL}      # openai: one URL or a list (requests are balanced by load)
///   model: ${TEACHER_MODEL}       # openai
///   api_key_env: TEACHER_KEY      # openai: the variable's NAME, never the key
///   max_in_flight: 16             # requests in flight per server; a student's batch
///   timeout: 600                  # openai: seconds per request (for a stream: between its pieces)
///   stream: auto                  # openai: auto | on | off: chat completions as server-sent events
///   world_seed: 0                 # scripted
///   device: cuda                  # local: cpu, cuda or cuda:N
///   template: auto                # local: the chat template (auto: the checkpoint's own)
/// ```
public struct Backend: Settings {
    public enum Kind: String, Codable, Sendable, CaseIterable, SettingChoice { case openai, local, scripted }

    /// nil until chosen; a checkpoint (a stage's `checkpoint` input, `--checkpoint`) implies local.
    public var kind: Kind?
    public var baseURLs: [String] = []
    public var model: String?
    public var apiKeyVariable: String?
    /// Requests in flight per server; a local student's batch; problems the scripted world
    /// works on at once. nil: the kind's default (`inFlight`).
    public var maxInFlight: Int?
    public var timeout: Double = 600
    /// Whether chat completions are streamed: `auto` does when max_tokens is above
    /// `Streaming.autoThreshold` (2048).
    public var stream: Streaming = .auto
    public var worldSeed: UInt64 = 0
    /// Where a local checkpoint runs: cpu, cuda or cuda:N.
    public var device = "cpu"
    /// The chat template a local checkpoint's prompts are rendered with: `auto` is the one it
    /// was trained with (its chat_template.jinja); bcsft, llama2 or a .jinja file name another.
    public var template = "auto"
    /// The checkpoint a local backend runs: an input of the step, not a setting.
    public var checkpoint: URL?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case kind, model, timeout, device, template
        case stream
        case baseURL = "base_url", apiKeyVariable = "api_key_env", maxInFlight = "max_in_flight", worldSeed = "world_seed"
    }

    public init() {}
    public init(kind: Kind) { self.kind = kind }

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.update(&kind, .kind)
        // One URL or a list of them.
        if c.contains(.baseURL) {
            if let one = try? c.decode(String.self, forKey: .baseURL) { baseURLs = [one] } else { try c.update(&baseURLs, .baseURL) }
        }
        try c.update(&model, .model)
        try c.update(&apiKeyVariable, .apiKeyVariable)
        try c.update(&maxInFlight, .maxInFlight)
        try c.update(&timeout, .timeout)
        try c.update(&stream, .stream)
        try c.update(&worldSeed, .worldSeed)
        try c.update(&device, .device)
        try c.update(&template, .template)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(kind, forKey: .kind)
        try c.encode(baseURLs, forKey: .baseURL)
        try c.encodeIfPresent(model, forKey: .model)
        try c.encodeIfPresent(apiKeyVariable, forKey: .apiKeyVariable)
        try c.encodeIfPresent(maxInFlight, forKey: .maxInFlight)
        try c.encode(timeout, forKey: .timeout)
        try c.encode(stream, forKey: .stream)
        try c.encode(worldSeed, forKey: .worldSeed)
        try c.encode(device, forKey: .device)
        try c.encode(template, forKey: .template)
    }

    /// The kind in use: the one chosen, or local where only a checkpoint was given.
    public var resolvedKind: Kind? { kind ?? (checkpoint != nil ? .local : nil) }

    /// Requests in flight per server (a student's batch): `max_in_flight`, else 32 for a local
    /// student (batched generation is where CPU generation gets its throughput) and 8 otherwise.
    public var inFlight: Int { maxInFlight ?? (resolvedKind == .local ? 32 : 8) }

    /// Problems worked on at once: enough to keep every endpoint's slots busy.
    public var concurrency: Int { resolvedKind == .openai ? inFlight * max(1, baseURLs.count) : inFlight }

    public var urls: [URL] { baseURLs.compactMap(URL.init(string:)) }

    /// Errors name the key under `backend`.
    public func validate() throws {
        func bad(_ key: String, _ reason: String) -> SettingsError { .invalid("backend" + (key.isEmpty ? "" : "." + key), reason) }
        guard let kind = resolvedKind else {
            throw bad("", "missing: choose kind openai (a server), local (a checkpoint) or scripted (the SCRIPTED offline world)")
        }
        if let checkpoint, kind != .local { throw bad("kind", "'\(kind.rawValue)' cannot run the checkpoint \(checkpoint.path); use kind local") }
        if template != "auto", kind != .local { throw bad("template", "only a local checkpoint is rendered with a chat template here (a server applies its own)") }
        switch kind {
        case .openai:
            if baseURLs.isEmpty { throw bad("base_url", "missing: backend openai needs the server's URL") }
            if let u = baseURLs.first(where: { URL(string: $0)?.scheme == nil }) { throw bad("base_url", "'\(u)' is not a URL") }
            if baseURLs.contains(where: { URL(string: $0).map { $0.user != nil || $0.password != nil } ?? false }) {
                throw bad("base_url", "holds credentials (user:password@): put the key in an environment variable and name it in api_key_env")
            }
            if model == nil { throw bad("model", "missing: backend openai needs the model name the server serves") }
        case .local:
            if checkpoint == nil { throw bad("kind", "local needs a checkpoint folder (a stage's `checkpoint` input, or --checkpoint)") }
        case .scripted: break
        }
        if let n = maxInFlight, n < 1 { throw bad("max_in_flight", "must be at least 1") }
        if !(timeout > 0) { throw bad("timeout", "must be a positive number of seconds") }
    }
}
