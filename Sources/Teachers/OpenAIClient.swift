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
/// - Chat completions are streamed (server-sent events) as `Configuration.stream` says; a
///   stream cut off before its end is retried like a dropped connection, and a streamed
///   completion is the same as the whole one.
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
        /// Whether chat completions are streamed (`backend.stream`).
        public var stream: Streaming = .auto
        public init(baseURLs: [URL], model: String, apiKeyVariable: String? = nil) {
            self.baseURLs = baseURLs
            self.model = model
            self.apiKeyVariable = apiKeyVariable
        }
    }

    public let configuration: Configuration
    public var name: String { configuration.model }
    let session: URLSession
    /// Streamed replies are read as they arrive, through the session's delegate.
    let streamSession: URLSession
    let streams = StreamRouter()
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
        // FoundationNetworking restarts the request timeout whenever bytes arrive, so for a
        // stream it bounds the silence between pieces, not the whole generation.
        // Delegate calls one at a time: a StreamReceiver is not locked.
        let queue = OperationQueue()
        queue.name = "bcsft.OpenAIClient.streams"
        queue.maxConcurrentOperationCount = 1
        streamSession = URLSession(configuration: cfg, delegate: streams, delegateQueue: queue)
        slots = EndpointSlots(count: configuration.baseURLs.count, limit: configuration.maxInFlight)
    }

    // A session keeps its delegate until it is invalidated.
    deinit { streamSession.finishTasksAndInvalidate() }

    public func complete(_ messages: [Message], _ s: Sampling) async throws -> Completion {
        var body: [String: Any] = [
            "model": configuration.model, "messages": messages.map { ["role": $0.role, "content": $0.content] },
            "temperature": s.temperature, "top_p": s.topP, "max_tokens": s.maxTokens, "n": s.n,
        ]
        if !s.stop.isEmpty { body["stop"] = s.stop }
        if let seed = s.seed { body["seed"] = seed }
        // vLLM, SGLang and llama.cpp read top_k, min_p, repetition_penalty and (vLLM, SGLang)
        // chat_template_kwargs; OpenAI's own API knows none of them, so each is sent only when set.
        if s.topK > 0 { body["top_k"] = s.topK }
        if s.minP > 0 { body["min_p"] = s.minP }
        if s.repetitionPenalty != 1 { body["repetition_penalty"] = s.repetitionPenalty }
        if !s.chatTemplateKwargs.isEmpty { body["chat_template_kwargs"] = s.chatTemplateKwargs.mapValues(\.json) }
        let model = configuration.model
        var c: Completion
        if configuration.stream.streams(maxTokens: s.maxTokens) {
            body["stream"] = true
            body["stream_options"] = ["include_usage": true]
            c = try await post("chat/completions", body, exchange: events(model: model))
        } else {
            c = try await post("chat/completions", body, exchange: whole { data, url in try Self.parseCompletion(data, url: url, model: model) })
        }
        // What is stored (records, the response cache) never holds the key, even if echoed.
        c.choices = c.choices.map { Choice(content: redacted($0.content), reasoning: $0.reasoning.map(redacted), finishReason: $0.finishReason) }
        return c
    }

    /// Embeddings from `/v1/embeddings`, one vector per input, in order.
    public func embed(_ inputs: [String], model: String? = nil) async throws -> [[Float]] {
        try await post("embeddings", ["model": model ?? configuration.model, "input": inputs], exchange: whole { data, url in try Self.parseEmbeddings(data, url: url) })
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
        let usage = (o["usage"] as? [String: Any]).map(Usage.init(openAI:))
        return Completion(choices: parsed, usage: usage, model: o["model"] as? String ?? model)
    }

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

    /// One request's reply as the retry loop needs it: the response, and what its body became.
    typealias Exchange<T> = @Sendable (URLRequest, _ url: String) async throws -> (URLResponse, ReplyBody<T>)

    /// Reads the whole body, then parses a success with `parse`.
    func whole<T>(_ parse: @escaping @Sendable (Data, String) throws -> T) -> Exchange<T> {
        { [session] request, url in
            let (data, response) = try await session.data(for: request)
            guard let http = response as? HTTPURLResponse, (200..<300).contains(http.statusCode) else {
                return (response, .failed(status: (response as? HTTPURLResponse)?.statusCode ?? 0, text: data.prefix(500)))
            }
            do { return (response, .value(try parse(data, url))) } catch { return (response, .malformed(error)) }
        }
    }

    /// Reads a success as server-sent events, assembling the completion as they arrive.
    func events(model: String) -> Exchange<Completion> {
        { [streamSession, streams] request, url in
            let task = streamSession.dataTask(with: request)
            let receiver = StreamReceiver(url: url, model: model)
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    receiver.continuation = continuation
                    streams.add(receiver, for: task)
                    task.resume()
                }
            } onCancel: {
                task.cancel()
            }
        }
    }

    /// POSTs JSON to the least-loaded endpoint and reads the reply with `exchange`, retrying
    /// as the class comment says. A 2xx whose body does not parse, or a stream cut off before
    /// its end (by a proxy or a dying server), is retried like a dropped connection.
    func post<T>(_ path: String, _ body: [String: Any], exchange: Exchange<T>) async throws -> T {
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
                let (response, reply) = try await exchange(request, lastURL)
                await slots.release(endpoint)
                guard let http = response as? HTTPURLResponse else { throw TeacherError.badResponse(url: lastURL, reason: "not HTTP") }
                switch reply {
                case let .value(v):
                    return v
                case let .malformed(error):
                    lastError = redacted(error.localizedDescription)
                case let .refused(error):
                    throw error
                case let .failed(status, data):
                    let text = redacted(String(decoding: data, as: UTF8.self))
                    lastError = "HTTP \(status): \(text)"
                    let retryable = status == 408 || status == 429 || status >= 500
                    guard retryable else { throw TeacherError.http(url: lastURL, status: status, body: text) }
                    if [429, 503].contains(status), let ra = http.value(forHTTPHeaderField: "Retry-After"), let secs = Double(ra) {
                        wait = min(secs, configuration.maxBackoff)
                    }
                }
            } catch let e as TeacherError {
                throw e
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

/// What a reply's body became.
enum ReplyBody<T> {
    case value(T)
    /// A success whose body did not parse, or a stream cut off: retried.
    case malformed(Error)
    /// An error status (or an error event in a stream, standing for one) and the start of the
    /// body: retried or not by the status.
    case failed(status: Int, text: Data)
    /// A reply that asking again will not change.
    case refused(TeacherError)
}

/// Routes the streaming session's delegate calls to each task's receiver.
final class StreamRouter: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private var receivers: [Int: StreamReceiver] = [:]

    func add(_ receiver: StreamReceiver, for task: URLSessionTask) {
        lock.withLock { receivers[task.taskIdentifier] = receiver }
    }

    private func receiver(_ task: URLSessionTask, remove: Bool = false) -> StreamReceiver? {
        lock.withLock { remove ? receivers.removeValue(forKey: task.taskIdentifier) : receivers[task.taskIdentifier] }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        receiver(dataTask)?.received(response)
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard let r = receiver(dataTask), !r.received(data) else { return }
        dataTask.cancel()  // what came cannot be used; the rest is not worth reading
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        receiver(task, remove: true)?.completed(error)
    }
}

/// One streamed request: its response, the completion assembled so far, and the caller
/// waiting for the end. Called only from the session's delegate queue, one call at a time.
final class StreamReceiver: @unchecked Sendable {
    var continuation: CheckedContinuation<(URLResponse, ReplyBody<Completion>), Error>?
    private var assembler: ChatStreamAssembler
    private var response: URLResponse?
    /// The reply is an event stream (a 2xx of text/event-stream); else its body's start is kept.
    private var isStream = false
    private var head = Data()
    private var failure: ReplyBody<Completion>?

    init(url: String, model: String) {
        assembler = ChatStreamAssembler(url: url, model: model)
    }

    func received(_ response: URLResponse) {
        self.response = response
        let http = response as? HTTPURLResponse
        let type = http?.value(forHTTPHeaderField: "Content-Type") ?? ""
        isStream = (200..<300).contains(http?.statusCode ?? 0) && type.lowercased().hasPrefix("text/event-stream")
    }

    /// Takes bytes of the body; false when they make the reply unusable (then it is over).
    func received(_ data: Data) -> Bool {
        guard failure == nil else { return false }
        guard isStream else {
            head.append(data.prefix(max(0, 500 - head.count)))
            return true
        }
        do {
            try assembler.feed(data)
            return true
        } catch let e as ChatStreamAssembler.ErrorEvent {
            failure = .failed(status: e.status, text: Data(e.text.utf8))
        } catch {
            failure = .malformed(error)
        }
        return false
    }

    func completed(_ error: Error?) {
        guard let continuation else { return }
        self.continuation = nil
        guard let response else {
            continuation.resume(throwing: error ?? URLError(.badServerResponse))
            return
        }
        if let failure { return continuation.resume(returning: (response, failure)) }
        // A connection lost part-way is retried as any dropped connection is.
        if let error { return continuation.resume(throwing: error) }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard isStream else {
            guard (200..<300).contains(status) else { return continuation.resume(returning: (response, .failed(status: status, text: head))) }
            let type = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type") ?? "none"
            return continuation.resume(returning: (response, .refused(.badResponse(
                url: assembler.url, reason: "a stream was asked for but the reply's Content-Type is \(type); set backend.stream to off for this server"))))
        }
        do { continuation.resume(returning: (response, .value(try assembler.finish()))) } catch { continuation.resume(returning: (response, .malformed(error))) }
    }
}

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
