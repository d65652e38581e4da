import ArgumentParser
import Foundation
import Pipelines
import Teachers
import Behaviors
import World

/// Which model answers: an OpenAI-compatible server, the in-process student, or the scripted
/// offline world; and where its responses are cached (every finished request is kept, so a
/// rerun or a resumed run never sends it again).
struct BackendOptions: ParsableArguments {
    @Option(help: "openai (any OpenAI-compatible server), local (a checkpoint folder) or scripted (the offline world).")
    var backend: Backend.Kind = .scripted
    @Option(name: .customLong("base-url"), help: "Server base URL, e.g. http://127.0.0.1:8000/v1 (repeatable: requests are balanced by load).")
    var baseURLs: [String] = []
    @Option(help: "Model name sent to the server (openai).") var model: String?
    @Option(name: .customLong("api-key-env"), help: "Environment variable holding the API key (it is never written anywhere).")
    var apiKeyEnv: String?
    @Option(name: .customLong("max-in-flight"), help: "Requests in flight per server (and problems worked on at once).")
    var maxInFlight = 8
    @Option(help: "Seconds before a request is abandoned and retried (openai).") var timeout: Double = 600
    @Option(help: "Checkpoint folder (local).") var checkpoint: String?
    @Option(help: "Where a local checkpoint runs: cpu, cuda or cuda:N (local).") var device = "cpu"
    @Option(name: .customLong("world-seed"), help: "Seed of the scripted world's teacher (scripted).") var worldSeed: UInt64 = 0
    @Option(help: "Response cache (SQLite). Default: the output file with .cache.sqlite appended.") var cache: String?
    @Flag(name: .customLong("no-cache"), help: "Send every request, keep nothing.") var noCache = false

    var spec: Backend {
        var b = Backend(kind: backend)
        b.baseURLs = baseURLs.compactMap { URL(string: $0) }
        b.model = model
        b.apiKeyVariable = apiKeyEnv
        b.maxInFlight = maxInFlight
        b.timeout = timeout
        b.checkpoint = checkpoint.map { URL(fileURLWithPath: $0) }
        b.device = device
        b.worldSeed = worldSeed
        return b
    }

    func validate() throws {
        for u in baseURLs where URL(string: u)?.scheme == nil { throw ValidationError("--base-url '\(u)' is not a URL") }
        if let p = spec.problem(option: { "--" + $0 }) { throw ValidationError(p) }
    }

    /// Problems worked on at once: enough to keep every endpoint's slots busy.
    var concurrency: Int { spec.concurrency }

    /// The model, wrapped in the response cache unless --no-cache.
    func make(output: URL) throws -> LanguageModel {
        if backend == .local { try configureRuntime() }
        return try spec.make(cache: noCache ? nil : URL(fileURLWithPath: cache ?? output.path + ".cache.sqlite"))
    }

    /// Embeddings for embedding retrieval, where the backend has them.
    func embedder(model embeddingModel: String?) throws -> Embed? {
        var b = spec
        b.embeddingModel = embeddingModel
        return try b.embedder()
    }
}

/// Sampling settings shared by the pipelines.
struct SamplingOptions: ParsableArguments {
    @Option(help: "0 is greedy.") var temperature = 0.6
    @Option(name: .customLong("top-p")) var topP = 0.95
    @Option(name: .customLong("max-tokens"), help: "Output budget per response (thinking included).") var maxTokens = 4096
    @Option(help: "Base seed; sample i uses seed + i.") var seed = 0

    var sampling: Sampling { Sampling(temperature: temperature, topP: topP, maxTokens: maxTokens, n: 1, seed: seed) }

    func validate() throws {
        guard temperature >= 0 else { throw ValidationError("--temperature must be >= 0") }
        guard topP > 0, topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
    }
}

/// A comma-separated list of budgets ("2048,4096") as positive integers.
func parseBudgets(_ text: String) throws -> [Int] {
    try text.split(separator: ",").map { s in
        guard let b = Int(s.trimmingCharacters(in: .whitespaces)), b > 0 else { throw ValidationError("--budgets: '\(s)' is not a positive integer") }
        return b
    }
}

/// Handbook and retrieval settings for behavior-conditioned commands.
struct RetrievalOptions: ParsableArguments {
    @Option(help: "Behavior handbook (JSONL) from bcsft extract; given, responses are behavior-conditioned.") var handbook: String?
    @Option(help: "topic, bm25 or embedding.") var retrieval: RetrievalMethod = .bm25
    @Option(help: "Behaviors per problem.") var k = 5
    @Option(name: .customLong("embedding-model"), help: "Embedding model name for --retrieval embedding (openai).") var embeddingModel: String?

    @Flag(name: .customLong("record-uses"), help: "Add the responses' behavior citations to the handbook's usage counts (rewrites --handbook atomically).")
    var recordUses = false

    func validate() throws {
        if recordUses, handbook == nil { throw ValidationError("--record-uses needs --handbook") }
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

    func selector(_ backend: BackendOptions) async throws -> BehaviorSelector? {
        guard let handbook else { return nil }
        let h = try Handbook.load(URL(fileURLWithPath: handbook))
        return try await BehaviorSelector(handbook: h, method: retrieval, k: k, embed: try backend.embedder(model: embeddingModel))
    }
}

extension RetrievalMethod: ExpressibleByArgument {}
extension Backend.Kind: ExpressibleByArgument {}

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
