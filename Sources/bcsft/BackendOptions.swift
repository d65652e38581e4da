import ArgumentParser
import Backends
import Behaviors
import Foundation
import Pipelines
import Settings
import Teachers

/// The backend flags: which model answers (`backend` in a recipe stage), and where its
/// responses are cached (every finished request is kept, so a rerun or a resumed run never
/// sends it again).
struct BackendOptions: ParsableArguments {
    @Option(help: "openai (an OpenAI-compatible server), local (a checkpoint) or scripted (the SCRIPTED offline world). Required; --checkpoint implies local.")
    var backend: String?
    @Option(name: .customLong("base-url"), help: "Server base URL, e.g. http://127.0.0.1:8000/v1 (repeatable: requests are balanced by load).")
    var baseURLs: [String] = []
    @Option(help: "Model name sent to the server (openai).") var model: String?
    @Option(name: .customLong("api-key-env"), help: "Environment variable holding the API key (it is never written anywhere).")
    var apiKeyEnv: String?
    @Option(name: .customLong("max-in-flight"), help: "Requests in flight per server; a local student's batch (default: 32 for local, 8 otherwise).")
    var maxInFlight: Int?
    @Option(help: help("Seconds before a request is abandoned and retried (openai).", default: Backend().timeout)) var timeout: Double?
    @Option(help: help("Stream chat completions (server-sent events): auto does above \(Streaming.autoThreshold) max tokens; on or off (openai).",
                       default: Backend().stream))
    var stream: String?
    @Option(name: .customLong("world-seed"), help: help("Seed of the scripted world's teacher (scripted).", default: Backend().worldSeed))
    var worldSeed: UInt64?
    @Option(help: help("Where a local checkpoint runs: cpu, cuda or cuda:N (local).", default: Backend().device)) var device: String?
    @Option(help: "Checkpoint folder, or a trainer's output folder (its newest checkpoint), to run in process (local).") var checkpoint: String?
    @Option(help: help("The local checkpoint's chat template: auto (the one it was trained with), bcsft, llama2 or a .jinja file (local).", default: Backend().template))
    var template: String?
    @Option(help: "Response cache (SQLite). Default: the output file with .cache.sqlite appended.") var cache: String?
    @Flag(name: .customLong("no-cache"), help: "Send every request, keep nothing.") var noCache = false

    func fill(_ g: inout GivenSettings) {
        g.set("backend.kind", backend)
        g.set("backend.base_url", list: baseURLs)
        g.set("backend.model", model)
        g.set("backend.api_key_env", apiKeyEnv)
        g.set("backend.max_in_flight", maxInFlight)
        g.set("backend.timeout", timeout)
        g.set("backend.stream", stream)
        g.set("backend.world_seed", worldSeed)
        g.set("backend.device", device)
        g.set("backend.template", template)
        // A backend given by nothing but a checkpoint still needs its group to exist.
        if checkpoint != nil, !g.values.keys.contains("backend") { g.set("backend", [String: String]()) }
    }

    /// Fills what is not a setting: the checkpoint a local backend runs.
    func prepare(_ b: inout Backend) throws {
        b.checkpoint = checkpoint.map { URL(fileURLWithPath: $0) }
        do { try b.checkDevice() } catch let SettingsError.invalid(key, reason, _) { throw ValidationError("\(key) (--device): \(reason)") }
    }

    /// The model, wrapped in the response cache unless --no-cache.
    func make(_ b: Backend, output: URL) throws -> LanguageModel {
        try b.make(cache: noCache ? nil : URL(fileURLWithPath: cache ?? output.path + ".cache.sqlite"))
    }
}

/// The sampling flags (the keys of `Sampling`).
struct SamplingOptions: ParsableArguments {
    @Option(help: help("0 is greedy.", default: Sampling().temperature)) var temperature: Double?
    @Option(name: .customLong("top-p"), help: help("Nucleus sampling: the probability mass kept.", default: Sampling().topP)) var topP: Double?
    @Option(name: .customLong("top-k"), help: help("Keep the K most likely tokens; 0 keeps all.", default: Sampling().topK)) var topK: Int?
    @Option(name: .customLong("min-p"), help: help("Keep the tokens at least this fraction as likely as the most likely one; 0 keeps all.", default: Sampling().minP))
    var minP: Double?
    @Option(name: .customLong("repetition-penalty"),
            help: help("Penalize tokens already in the prompt or the output (logits divided by it where positive, multiplied where negative); 1 is off.",
                       default: Sampling().repetitionPenalty))
    var repetitionPenalty: Double?
    @Option(name: .customLong("max-tokens"), help: help("Output budget per response (thinking included).", default: Sampling().maxTokens))
    var maxTokens: Int?
    @Option(help: help("Base seed; sample i uses seed + i.", default: Sampling().seed)) var seed: Int?
    @Option(help: "A string that ends a response (repeatable).") var stop: [String] = []

    func fill(_ g: inout GivenSettings) {
        g.set("temperature", temperature)
        g.set("top_p", topP)
        g.set("top_k", topK)
        g.set("min_p", minP)
        g.set("repetition_penalty", repetitionPenalty)
        g.set("max_tokens", maxTokens)
        g.set("seed", seed)
        g.set("stop", list: stop)
    }
}

/// The flags every step that asks a model shares: the backend, the sampling and the prompt
/// templates (the keys of `ModelStepSettings` but the problems).
struct ModelOptions: ParsableArguments {
    @OptionGroup var backend: BackendOptions
    @OptionGroup var sampling: SamplingOptions
    @Option(name: .customLong("chat-template-kwargs"),
            help: "A variable the model's chat template reads, KEY=VALUE (repeatable), e.g. enable_thinking=false: sent to the server as chat_template_kwargs, or given to a local checkpoint's template.")
    var chatTemplateKwargs: [String] = []
    @Option(help: "Folder of prompt templates overriding data/prompts.") var prompts: String?

    func fill(_ g: inout GivenSettings) throws {
        backend.fill(&g)
        sampling.fill(&g)
        if !chatTemplateKwargs.isEmpty { g.set("chat_template_kwargs", try parseKeyValues(chatTemplateKwargs, flag: "--chat-template-kwargs")) }
        g.set("prompts", prompts)
    }

    /// The settings of a step from these flags and `more` (the step's own); the checkpoint
    /// flag fills the backend before the checks.
    func settings<S: ModelStepSettings>(_ type: S.Type, _ more: (inout GivenSettings) throws -> Void) throws -> S {
        var g = GivenSettings()
        try fill(&g)
        try more(&g)
        return try g.decode(S.self) { try backend.prepare(&$0.backend) }
    }
}

/// Repeated `KEY=VALUE` flags as a map setting: true and false are booleans, numbers numbers,
/// anything else text (as `--template-vars` reads them).
func parseKeyValues(_ pairs: [String], flag: String) throws -> [String: SettingValue] {
    var out: [String: SettingValue] = [:]
    for pair in pairs {
        guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else { throw ValidationError("\(flag) '\(pair)': expected KEY=VALUE") }
        let text = String(pair[pair.index(after: eq)...])
        out[String(pair[..<eq])] = text == "true" ? .bool(true) : text == "false" ? .bool(false)
            : Int(text).map(SettingValue.int) ?? Double(text).flatMap { $0.isFinite ? .double($0) : nil } ?? .string(text)
    }
    return out
}

/// `--budgets 2048,4096`: the list setting `budgets`.
func parseBudgets(_ text: String?) throws -> [Int]? {
    try text.map {
        try $0.split(separator: ",").map { s in
            guard let b = Int(s.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("budgets (--budgets): '\(s)' is not an integer") }
            return b
        }
    }
}

/// The handbook and retrieval flags of behavior-conditioned commands.
struct RetrievalOptions: ParsableArguments {
    @Option(help: "Behavior handbook (JSONL) from bcsft extract; given, responses are behavior-conditioned.") var handbook: String?
    @Option(help: help("topic, bm25 or embedding.", default: RetrievalSettings().method)) var retrieval: String?
    @Option(help: ArgumentHelp("Behaviors per problem, the most relevant kept (default: \(RetrievalOptions.kDefaults)).")) var k: Int?
    @OptionGroup var embedding: EmbeddingOptions

    /// The library's per-method defaults as the help states them.
    static var kDefaults: String {
        RetrievalMethod.allCases.map { m in "\(m.rawValue) " + (RetrievalSettings.defaultK(m).map(String.init) ?? "every behavior of the question's topic") }
            .joined(separator: ", ")
    }

    @Flag(name: .customLong("record-uses"), help: "Add the responses' behavior citations to the handbook's usage counts (rewrites --handbook atomically).")
    var recordUses = false

    func validate() throws {
        if recordUses, handbook == nil { throw ValidationError("--record-uses needs --handbook") }
    }

    func fill(_ g: inout GivenSettings) {
        g.set("retrieval", retrieval)
        g.set("k", k)
        embedding.fill(&g)
    }

    /// Folds citations into the handbook's `uses` counts when --record-uses is given.
    func record(citations: [[String]]) throws {
        guard recordUses, let handbook else { return }
        let url = URL(fileURLWithPath: handbook)
        var h = try Handbook.load(url)
        for c in citations { h.recordUses(c) }
        try h.save(url)
        print("recorded \(citations.map(\.count).reduce(0, +)) citations in \(handbook)")
    }

    func selector(_ r: RetrievalSettings, backend: Backend) async throws -> BehaviorSelector? {
        guard let handbook else { return nil }
        let h = try Handbook.load(URL(fileURLWithPath: handbook))
        return try await BehaviorSelector(handbook: h, retrieval: r, embed: r.method == .embedding ? try r.embedding.embedder(for: backend) : nil)
    }
}

/// The embedding server flags (the `embedding` group), for embedding retrieval and
/// --merge-similar. The chat backend is never asked for embeddings.
struct EmbeddingOptions: ParsableArguments {
    @Option(name: .customLong("embed-base-url"), help: "Embedding server base URL, any OpenAI-compatible /v1/embeddings (e.g. BGE-M3 behind vLLM or TEI: http://127.0.0.1:8001/v1).")
    var baseURL: String?
    @Option(name: .customLong("embed-model"), help: "Embedding model name the embedding server serves (e.g. BAAI/bge-m3).") var model: String?
    @Option(name: .customLong("embed-api-key-env"), help: "Environment variable holding the embedding server's API key.") var apiKeyEnv: String?

    func fill(_ g: inout GivenSettings) {
        g.set("embedding.base_url", baseURL)
        g.set("embedding.model", model)
        g.set("embedding.api_key_env", apiKeyEnv)
    }
}

/// A progress bar driven from the pipelines' concurrent callbacks.
final class ProgressSink: @unchecked Sendable {
    private let bar: ProgressBar
    private let lock = NSLock()
    init(_ label: String, total: Int) { bar = ProgressBar(label: label, total: total) }
    var callback: ConcurrentRunner.Progress {
        { [self] done, _ in lock.withLock { bar.update(done) } }
    }
    func finish() { bar.finish() }
}

/// Prints a summary as one line of sorted JSON on stdout.
func printJSON<T: Encodable>(_ value: T) throws {
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try enc.encode(value), as: UTF8.self))
}
