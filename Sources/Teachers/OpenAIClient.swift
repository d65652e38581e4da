import Foundation
import Settings
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

public enum TeacherError: LocalizedError, Equatable {
    case http(url: String, status: Int, body: String)
    case transport(url: String, reason: String)
    case badResponse(url: String, reason: String)
    case missingAPIKey(variable: String)
    /// The key cannot be sent as it is (a line break in it would split the header).
    case badAPIKey(variable: String, reason: String)
    /// A base URL with user:password in it (the key belongs in the variable api_key_env names).
    case credentialsInURL(String)
    case gaveUp(url: String, attempts: Int, last: String)
    case server(String)

    public var errorDescription: String? {
        switch self {
        case let .http(url, status, body): "\(url): HTTP \(status): \(body.prefix(300))"
        case let .transport(url, reason): "\(url): \(reason)"
        case let .badResponse(url, reason): "\(url): unexpected response: \(reason)"
        case let .server(reason): "bcsft serve: \(reason)"
        case let .missingAPIKey(v): "the API key variable \(v) named in the configuration is not set in the environment"
        case let .badAPIKey(v, reason): "the API key in \(v) \(reason)"
        case let .credentialsInURL(u): "the base URL \(u) holds credentials: put the key in an environment variable and name it in api_key_env"
        case let .gaveUp(url, attempts, last): "\(url): gave up after \(attempts) attempts; last error: \(last)"
        }
    }
}

/// A client for OpenAI-compatible servers (vLLM, SGLang, llama.cpp, Ollama, hosted APIs).
///
/// - Several base URLs are balanced by load: each request goes to the endpoint with the
///   fewest requests in flight, and at most `maxInFlight` run per endpoint.
/// - Retries: 429 and 503 honour `Retry-After`; other 5xx, timeouts and dropped connections
///   back off exponentially with jitter; 4xx other than 408/429 fail at once (they will not
///   get better).
/// - The API key is read from the environment variable the configuration names; it is sent
///   in the Authorization header and never written anywhere.
public final class OpenAIClient: LanguageModel, @unchecked Sendable {
    public struct Configuration: Sendable {
        public var baseURLs: [URL]
        public var model: String
        /// Name of the environment variable holding the key (nil: no key).
        public var apiKeyVariable: String?
        public var maxInFlight = 8
        public var timeout: TimeInterval = 600
        public var maxAttempts = 6
        public var initialBackoff: TimeInterval = 0.5
        public var maxBackoff: TimeInterval = 30
        public init(baseURLs: [URL], model: String, apiKeyVariable: String? = nil) {
            self.baseURLs = baseURLs
            self.model = model
            self.apiKeyVariable = apiKeyVariable
        }
    }

    public let configuration: Configuration
    public var name: String { configuration.model }
    let session: URLSession
    let apiKey: String?
    let slots: EndpointSlots

    public init(_ configuration: Configuration) throws {
        precondition(!configuration.baseURLs.isEmpty, "at least one base URL")
        self.configuration = configuration
        if let u = configuration.baseURLs.first(where: { $0.user != nil || $0.password != nil }) {
            throw TeacherError.credentialsInURL(Self.withoutCredentials(u))
        }
        if let v = configuration.apiKeyVariable {
            guard let key = ProcessInfo.processInfo.environment[v], !key.isEmpty else { throw TeacherError.missingAPIKey(variable: v) }
            // URLSession drops a header value with a line break in it without a word.
            guard !key.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                throw TeacherError.badAPIKey(variable: v, reason: "holds control characters (a line break?); a key is one line of printable text")
            }
            apiKey = key
        } else {
            apiKey = nil
        }
        let cfg = URLSessionConfiguration.ephemeral
        cfg.timeoutIntervalForRequest = configuration.timeout
        cfg.httpMaximumConnectionsPerHost = configuration.maxInFlight
        session = URLSession(configuration: cfg)
        slots = EndpointSlots(count: configuration.baseURLs.count, limit: configuration.maxInFlight)
    }

    public func complete(_ messages: [Message], _ s: Sampling) async throws -> Completion {
        var body: [String: Any] = [
            "model": configuration.model, "messages": messages.map { ["role": $0.role, "content": $0.content] },
            "temperature": s.temperature, "top_p": s.topP, "max_tokens": s.maxTokens, "n": s.n,
        ]
        if !s.stop.isEmpty { body["stop"] = s.stop }
        if let seed = s.seed { body["seed"] = seed }
        // vLLM, SGLang and llama.cpp read top_k; OpenAI's own API does not know it, so it is
        // sent only when set.
        if s.topK > 0 { body["top_k"] = s.topK }
        let model = configuration.model
        var c = try await post("chat/completions", body) { data, url in try Self.parseCompletion(data, url: url, model: model) }
        // What is stored (records, the response cache) never holds the key, even if echoed.
        c.choices = c.choices.map { Choice(content: redacted($0.content), reasoning: $0.reasoning.map(redacted), finishReason: $0.finishReason) }
        return c
    }

    /// Embeddings from `/v1/embeddings`, one vector per input, in order.
    public func embed(_ inputs: [String], model: String? = nil) async throws -> [[Float]] {
        try await post("embeddings", ["model": model ?? configuration.model, "input": inputs]) { data, url in try Self.parseEmbeddings(data, url: url) }
    }

    static func parseEmbeddings(_ data: Data, url: String) throws -> [[Float]] {
        guard let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let items = o["data"] as? [[String: Any]] else {
            throw TeacherError.badResponse(url: url, reason: "no data array")
        }
        let sorted = items.sorted { ($0["index"] as? Int ?? 0) < ($1["index"] as? Int ?? 0) }
        return try sorted.map { item in
            guard let v = item["embedding"] as? [Double] else { throw TeacherError.badResponse(url: url, reason: "embedding is not a number array") }
            return v.map(Float.init)
        }
    }

    static func parseCompletion(_ data: Data, url: String, model: String) throws -> Completion {
        guard let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TeacherError.badResponse(url: url, reason: "not JSON: \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
        guard let choices = o["choices"] as? [[String: Any]], !choices.isEmpty else { throw TeacherError.badResponse(url: url, reason: "no choices") }
        let parsed: [Choice] = choices.map { c in
            let msg = c["message"] as? [String: Any] ?? [:]
            let raw = msg["content"] as? String ?? ""
            var reasoning = (msg["reasoning_content"] as? String) ?? (msg["reasoning"] as? String)
            var content = raw
            if reasoning == nil {
                let split = splitThinking(raw)
                reasoning = split.reasoning
                content = split.content
            }
            return Choice(content: content, reasoning: reasoning, finishReason: c["finish_reason"] as? String)
        }
        var usage: Usage?
        if let u = o["usage"] as? [String: Any] {
            let details = u["completion_tokens_details"] as? [String: Any]
            usage = Usage(promptTokens: u["prompt_tokens"] as? Int ?? 0, completionTokens: u["completion_tokens"] as? Int ?? 0,
                          reasoningTokens: details?["reasoning_tokens"] as? Int)
        }
        return Completion(choices: parsed, usage: usage, model: o["model"] as? String ?? model)
    }

    /// POSTs JSON to the least-loaded endpoint and parses the reply, retrying as the class
    /// comment says. A 200 whose body does not parse (cut off by a proxy or a dying server)
    /// is retried like a dropped connection.
    /// Text from a server with the key taken out: a server that echoes the request (or its
    /// headers) in an error or a completion must not get the key into output, logs or records.
    func redacted(_ text: String) -> String {
        guard let apiKey, text.contains(apiKey) else { return text }
        return text.replacingOccurrences(of: apiKey, with: "[api key]")
    }

    /// A URL as it may be shown: without user and password.
    static func withoutCredentials(_ url: URL) -> String {
        guard var c = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return "(a URL)" }
        c.user = nil
        c.password = nil
        return c.string ?? "(a URL)"
    }

    func post<T>(_ path: String, _ body: [String: Any], parse: (Data, String) throws -> T) async throws -> T {
        let payload = try JSONSerialization.data(withJSONObject: body)
        var lastError = ""
        var lastURL = ""
        for attempt in 1...configuration.maxAttempts {
            let endpoint = await slots.acquire()
            let url = configuration.baseURLs[endpoint].appendingPathComponent(path)
            lastURL = url.absoluteString
            var request = URLRequest(url: url)
            request.httpMethod = "POST"
            request.httpBody = payload
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            if let apiKey { request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization") }
            var wait: TimeInterval?
            do {
                let (data, response) = try await session.data(for: request)
                await slots.release(endpoint)
                guard let http = response as? HTTPURLResponse else { throw TeacherError.badResponse(url: lastURL, reason: "not HTTP") }
                if (200..<300).contains(http.statusCode) {
                    do { return try parse(data, lastURL) } catch { throw Malformed(reason: redacted(error.localizedDescription)) }
                }
                let text = redacted(String(decoding: data.prefix(500), as: UTF8.self))
                lastError = "HTTP \(http.statusCode): \(text)"
                let retryable = http.statusCode == 408 || http.statusCode == 429 || http.statusCode >= 500
                guard retryable else { throw TeacherError.http(url: lastURL, status: http.statusCode, body: text) }
                if [429, 503].contains(http.statusCode), let ra = http.value(forHTTPHeaderField: "Retry-After"), let secs = Double(ra) {
                    wait = min(secs, configuration.maxBackoff)
                }
            } catch let e as TeacherError {
                throw e
            } catch let e as Malformed {
                lastError = e.reason
            } catch {
                await slots.release(endpoint)
                lastError = redacted(error.localizedDescription)
            }
            if attempt == configuration.maxAttempts { break }
            let backoff = wait ?? min(configuration.maxBackoff, configuration.initialBackoff * pow(2, Double(attempt - 1)))
            let jitter = wait == nil ? Double.random(in: 0...(backoff * 0.25)) : 0
            try await Task.sleep(nanoseconds: UInt64((backoff + jitter) * 1e9))
        }
        throw TeacherError.gaveUp(url: lastURL, attempts: configuration.maxAttempts, last: lastError)
    }
}

/// A successful status with a body that does not parse: retried.
private struct Malformed: Error { let reason: String }

/// Requests in flight per endpoint, with a cap; `acquire` picks the least-loaded endpoint and
/// waits while all are full.
actor EndpointSlots {
    private var inFlight: [Int]
    private let limit: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(count: Int, limit: Int) {
        inFlight = Array(repeating: 0, count: count)
        self.limit = max(1, limit)
    }

    func acquire() async -> Int {
        while true {
            if let i = inFlight.indices.min(by: { inFlight[$0] < inFlight[$1] }), inFlight[i] < limit {
                inFlight[i] += 1
                return i
            }
            await withCheckedContinuation { waiters.append($0) }
        }
    }

    func release(_ i: Int) {
        inFlight[i] -= 1
        if !waiters.isEmpty { waiters.removeFirst().resume() }
    }

    var load: [Int] { inFlight }
}
