import CSQLite
import Crypto
import Foundation
import Settings

/// Every teacher request's result, stored as it arrives in an embedded SQLite database (WAL
/// journal, one row per request), so a rerun costs nothing and a run killed at any point
/// resumes where it stopped. The key hashes everything that changes the output: model,
/// rendered messages, every sampling parameter, seed and sample index.
public final class ResponseCache: @unchecked Sendable {
    public enum Error: LocalizedError, Equatable {
        case sqlite(path: String, message: String)
        public var errorDescription: String? {
            if case let .sqlite(path, message) = self { return "\(path): response cache: \(message)" }
            return nil
        }
    }

    public let path: String
    private var db: OpaquePointer?
    private let lock = NSLock()

    public init(path: String) throws {
        self.path = path
        do {
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw Error.sqlite(path: path, message: "cannot create its folder (\(error.localizedDescription))")
        }
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil) == SQLITE_OK else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(db)
            throw Error.sqlite(path: path, message: message)
        }
        try exec("PRAGMA journal_mode=WAL")
        try exec("PRAGMA synchronous=NORMAL")
        try exec("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value BLOB NOT NULL, created REAL NOT NULL)")
    }

    deinit { sqlite3_close(db) }

    /// The cache key of one request (hex sha256 of a canonical JSON of its inputs).
    public static func key(model: String, messages: [Message], sampling: Sampling, sampleIndex: Int = 0) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        // The key's JSON is a file format: cached responses (hours of a real teacher) must stay
        // found across versions, so sampling is spelled as it always was, and the fields added
        // since (top_k, min_p, repetition_penalty, chat_template_kwargs) only when set (a nil
        // field is left out of the JSON).
        struct SamplingKey: Encodable {
            let temperature: Double, topP: Double, maxTokens: Int, n: Int, stop: [String], seed: Int?, topK: Int?
            let minP: Double?, repetitionPenalty: Double?, chatTemplateKwargs: [String: SettingValue]?
        }
        struct Key: Encodable { let model: String; let messages: [Message]; let sampling: SamplingKey; let sample: Int }
        let s = SamplingKey(temperature: sampling.temperature, topP: sampling.topP, maxTokens: sampling.maxTokens, n: sampling.n,
                            stop: sampling.stop, seed: sampling.seed, topK: sampling.topK == 0 ? nil : sampling.topK,
                            minP: sampling.minP == 0 ? nil : sampling.minP,
                            repetitionPenalty: sampling.repetitionPenalty == 1 ? nil : sampling.repetitionPenalty,
                            chatTemplateKwargs: sampling.chatTemplateKwargs.isEmpty ? nil : sampling.chatTemplateKwargs)
        let data = (try? enc.encode(Key(model: model, messages: messages, sampling: s, sample: sampleIndex))) ?? Data()
        return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    public func get(_ key: String) throws -> Data? {
        try statement("SELECT value FROM responses WHERE key = ?", bind: { sqlite3_bind_text($0, 1, key, -1, Self.transient) }) { stmt in
            guard sqlite3_step(stmt) == SQLITE_ROW else { return nil }
            guard let p = sqlite3_column_blob(stmt, 0) else { return Data() }
            return Data(bytes: p, count: Int(sqlite3_column_bytes(stmt, 0)))
        }
    }

    /// Stores a result; the row is durable when this returns (a kill afterwards loses nothing).
    public func put(_ key: String, _ value: Data) throws {
        let sql = "INSERT OR REPLACE INTO responses (key, value, created) VALUES (?, ?, ?)"
        try statement(sql, bind: { stmt in
            sqlite3_bind_text(stmt, 1, key, -1, Self.transient)
            _ = value.withUnsafeBytes { sqlite3_bind_blob(stmt, 2, $0.baseAddress, Int32($0.count), Self.transient) }
            sqlite3_bind_double(stmt, 3, Date().timeIntervalSince1970)
        }) { stmt in
            guard sqlite3_step(stmt) == SQLITE_DONE else { throw Error.sqlite(path: path, message: String(cString: sqlite3_errmsg(db))) }
        }
    }

    public var count: Int {
        (try? statement("SELECT COUNT(*) FROM responses") { sqlite3_step($0) == SQLITE_ROW ? Int(sqlite3_column_int64($0, 0)) : 0 }) ?? 0
    }

    /// SQLITE_TRANSIENT: SQLite copies bound values before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Prepares `sql` under the lock, binds, runs `body` and finalizes the statement.
    private func statement<R>(_ sql: String, bind: (OpaquePointer?) -> Void = { _ in }, _ body: (OpaquePointer?) throws -> R) throws -> R {
        lock.lock()
        defer { lock.unlock() }
        var stmt: OpaquePointer?
        try check(sqlite3_prepare_v2(db, sql, -1, &stmt, nil))
        defer { sqlite3_finalize(stmt) }
        bind(stmt)
        return try body(stmt)
    }

    private func exec(_ sql: String) throws { try check(sqlite3_exec(db, sql, nil, nil, nil)) }

    private func check(_ rc: Int32) throws {
        guard rc == SQLITE_OK else { throw Error.sqlite(path: path, message: String(cString: sqlite3_errmsg(db))) }
    }
}

/// A LanguageModel that answers from the cache when it can and stores every new completion
/// before returning it. Wrap any backend with it to make runs free to repeat and resumable.
public final class CachedModel: LanguageModel, @unchecked Sendable {
    public let base: LanguageModel
    public let cache: ResponseCache
    public var name: String { base.name }
    private let counters = Counters()

    public init(_ base: LanguageModel, cache: ResponseCache) {
        self.base = base
        self.cache = cache
    }

    /// (served from the cache, sent to the backend) so far.
    public var stats: (hits: Int, misses: Int) { counters.value }

    public func complete(_ messages: [Message], _ sampling: Sampling) async throws -> Completion {
        let key = ResponseCache.key(model: base.name, messages: messages, sampling: sampling)
        if let data = try cache.get(key), let stored = try? JSONDecoder().decode(StoredCompletion.self, from: data) {
            counters.hit()
            return stored.completion
        }
        counters.miss()
        let c = try await base.complete(messages, sampling)
        try cache.put(key, try JSONEncoder().encode(StoredCompletion(c)))
        return c
    }

    final class Counters: @unchecked Sendable {
        private let lock = NSLock()
        private var h = 0, m = 0
        func hit() { lock.lock(); h += 1; lock.unlock() }
        func miss() { lock.lock(); m += 1; lock.unlock() }
        var value: (hits: Int, misses: Int) { lock.lock(); defer { lock.unlock() }; return (h, m) }
    }
}

/// Completion as stored in the cache.
struct StoredCompletion: Codable {
    struct StoredChoice: Codable { var content: String; var reasoning: String?; var finishReason: String? }
    var choices: [StoredChoice]
    var usage: Usage?
    var model: String

    init(_ c: Completion) {
        choices = c.choices.map { StoredChoice(content: $0.content, reasoning: $0.reasoning, finishReason: $0.finishReason) }
        usage = c.usage
        model = c.model
    }

    var completion: Completion {
        Completion(choices: choices.map { Choice(content: $0.content, reasoning: $0.reasoning, finishReason: $0.finishReason) },
                   usage: usage, model: model)
    }
}
