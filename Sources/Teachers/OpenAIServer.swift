import Foundation
import Settings
#if canImport(Glibc)
import Glibc
#endif

/// A small OpenAI-compatible HTTP/1.1 server over any LanguageModel: `POST /v1/chat/completions`
/// (whole, or with `"stream": true` as server-sent events), `POST /v1/embeddings` (when an embedder is given), `GET /v1/models` and `GET /health`.
/// It backs `bcsft serve`, so the HTTP path (client, retries, cache) runs offline against
/// the scripted world or a local student. Loopback by default; one thread per connection,
/// keep-alive; not meant to face the internet.
///
/// No request can take it down or starve the others (`Limits`): request framing is parsed by
/// `HTTPRequestParser` within size limits, a connection must deliver each request within the
/// idle timeout, `n` and `max_tokens` are bounded (and by a model's context window), at most
/// `maxInFlight` requests compute at once while the rest wait in arrival order, and at most
/// `maxConnections` are open. Every refusal is an OpenAI-style JSON error naming the limit.
public final class OpenAIServer: @unchecked Sendable {
    public typealias Embedder = @Sendable ([String]) -> [[Float]]

    /// What one client may ask of the server, and how much is computed at once. Over a limit
    /// is an error naming it, never a silent clamp.
    public struct Limits: Sendable, Equatable {
        /// The size of one request's head (431 above it) and body (413 above it).
        public var http = HTTPLimits()
        /// Open connections; one more is answered 503 (with Retry-After) and closed.
        public var maxConnections = 64
        /// Requests computed at once (chat and embeddings); the rest wait in arrival order, so a
        /// slow request holds one slot and no more.
        public var maxInFlight = 16
        /// `n` of a chat request: choices, each a whole generation (400 above it).
        public var maxN = 16
        /// `max_tokens` of a chat request (400 above it). A model with a context window (a
        /// checkpoint) also refuses more than its window leaves after the prompt. Without
        /// max_tokens a request gets the smallest of 4096, this and what the window leaves.
        public var maxTokens = 32768
        /// Inputs of one embeddings request (400 above it).
        public var maxEmbeddingInputs = 2048
        /// Seconds a connection may take to deliver its next whole request, counted from when
        /// it opened or got its previous answer: an idle connection is closed, one that sent
        /// part of a request (a slow sender) is answered 408 and closed. Also the send timeout.
        public var idleTimeout: Double = 30

        public init() {}
    }

    let model: LanguageModel
    let embedder: Embedder?
    let host: String
    public let limits: Limits
    private var listener: Int32 = -1
    public private(set) var port: Int = 0
    private let requests = Counter()
    private let connections = Counter()
    private let gate: Gate

    public init(model: LanguageModel, embedder: Embedder? = nil, host: String = "127.0.0.1", port: Int = 0, limits: Limits = Limits()) throws {
        self.model = model
        self.embedder = embedder
        self.host = host
        self.port = port
        self.limits = limits
        gate = Gate(slots: max(1, limits.maxInFlight))
        try bind()
    }

    /// Requests answered so far.
    public var served: Int { requests.value }

    private func bind() throws {
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw TeacherError.server("socket() failed: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else { throw TeacherError.server("'\(host)' is not an IPv4 address") }
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard ok == 0 else { throw TeacherError.server("cannot listen on \(host):\(port): \(String(cString: strerror(errno)))") }
        guard listen(listener, 128) == 0 else { throw TeacherError.server("listen() failed: \(String(cString: strerror(errno)))") }
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &len) } }
        port = Int(UInt16(bigEndian: bound.sin_port))
    }

    /// Accepts connections until `stop()` (call from a thread of its own, or as the program's last act).
    public func serve() {
        defer { close(listener) }
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                switch errno {
                case EINTR, ECONNABORTED, EPROTO: continue
                // Out of descriptors or memory for a moment: wait rather than stop serving.
                case EMFILE, ENFILE, ENOBUFS, ENOMEM: usleep(10_000); continue
                default: return
                }
            }
            guard connections.increment(below: max(1, limits.maxConnections)) else {
                refuse(fd)
                continue
            }
            let t = Thread { [self] in
                handle(fd)
                connections.decrement()
            }
            t.start()
        }
    }

    /// Stops accepting connections: `serve()` returns. Connections already open run to their end.
    public func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
    }

    // MARK: connections

    /// One more connection than `maxConnections`: 503 and closed, on the accepting thread
    /// (a fresh socket's send buffer takes the few bytes without blocking).
    private func refuse(_ fd: Int32) {
        _ = respond(fd, 503, errorBody("too many connections (this server's limit is \(limits.maxConnections)); retry shortly", type: "server_error"),
                    keepAlive: false, extraHeaders: ["Retry-After: 1"])
        shutdown(fd, Int32(SHUT_WR))
        var scratch = [UInt8](repeating: 0, count: 4096)
        // Drop what already arrived, so closing does not reset the connection under the answer.
        while (scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }) > 0 {}
        close(fd)
    }

    private func handle(_ fd: Int32) {
        defer { close(fd) }
        var tv = Self.socketTimeout(seconds: limits.idleTimeout)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8]()
        var scratch = [UInt8](repeating: 0, count: 65536)
        while true {
            let deadline = Self.now() + limits.idleTimeout
            var result: HTTPParseResult?
            // The head's end is looked for in new bytes only; a partial head is parsed again only
            // while small (to refuse garbage early) or once over the limit, so a client sending a
            // byte at a time costs linear work, not quadratic.
            var headSeen = false, searched = 0, needed = 1
            receiving: while true {
                if !buffer.isEmpty, buffer.count >= needed {
                    if !headSeen {
                        headSeen = HTTPRequestParser.headEnd(buffer, from: searched) != nil
                        searched = max(0, buffer.count - 3)
                    }
                    if headSeen || buffer.count <= 4096 || buffer.count > limits.http.maxHeadBytes {
                        let r = HTTPRequestParser.parse(buffer, limits: limits.http)
                        guard case let .incomplete(n) = r else {
                            result = r
                            break receiving
                        }
                        needed = n
                        // One more byte needed: either the head is still arriving (the end seen was
                        // blank lines before the request line) or the body is one byte short.
                        if n == buffer.count + 1, HTTPRequestParser.headLength(buffer) == nil { headSeen = false }
                    }
                }
                switch fill(fd, &buffer, &scratch, until: deadline) {
                case .data: continue
                case .closed: return
                case .timedOut:
                    // Silence between requests just closes; part of a request is answered.
                    if buffer.contains(where: { $0 != 13 && $0 != 10 }) {
                        _ = respond(fd, 408, errorBody("the request did not arrive within \(Self.format(limits.idleTimeout)) seconds"), keepAlive: false)
                    }
                    return
                }
            }
            switch result! {
            case let .error(status, message):
                _ = respond(fd, status, errorBody(message), keepAlive: false)
                linger(fd, &scratch)
                return
            case let .request(request, consumed):
                buffer.removeFirst(consumed)
                let sent = switch route(request) {
                case let .json(status, object): respond(fd, status, object, keepAlive: request.keepAlive)
                case let .events(payload): respond(fd, 200, payload: payload, type: "text/event-stream", keepAlive: request.keepAlive)
                }
                guard sent, request.keepAlive else { return }
            case .incomplete:
                return
            }
        }
    }

    private enum ReadOutcome { case data, closed, timedOut }

    /// Appends what arrives before `deadline` (monotonic seconds) to `buffer`.
    private func fill(_ fd: Int32, _ buffer: inout [UInt8], _ scratch: inout [UInt8], until deadline: Double) -> ReadOutcome {
        while true {
            let remaining = deadline - Self.now()
            if remaining <= 0 { return .timedOut }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(min(remaining * 1000, 60_000).rounded(.up)))
            if ready < 0 { if errno == EINTR { continue } else { return .closed } }
            if ready == 0 { continue }
            let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer.append(contentsOf: scratch[0..<n])
                return .data
            }
            if n < 0, errno == EINTR || errno == EAGAIN { continue }
            return .closed
        }
    }

    /// After an error answer: stop sending, and read and drop what the client still sends for
    /// up to a second (at most 16 MiB), so closing does not reset the connection before the
    /// client has read the answer.
    private func linger(_ fd: Int32, _ scratch: inout [UInt8]) {
        shutdown(fd, Int32(SHUT_WR))
        let deadline = Self.now() + 1
        var dropped = 0
        while dropped < 16 << 20 {
            let remaining = deadline - Self.now()
            if remaining <= 0 { return }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32((remaining * 1000).rounded(.up)))
            if ready < 0, errno == EINTR { continue }
            if ready <= 0 { return }
            let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return }
            dropped += n
        }
    }

    private func respond(_ fd: Int32, _ status: Int, _ object: Any, keepAlive: Bool, extraHeaders: [String] = []) -> Bool {
        respond(fd, status, payload: Self.json(object), type: "application/json", keepAlive: keepAlive, extraHeaders: extraHeaders)
    }

    private static func json(_ object: Any) -> Data {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    }

    private func respond(_ fd: Int32, _ status: Int, payload: Data, type: String, keepAlive: Bool, extraHeaders: [String] = []) -> Bool {
        var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\nContent-Type: \(type)\r\n"
        head += "Content-Length: \(payload.count)\r\nConnection: \(keepAlive ? "keep-alive" : "close")\r\n"
        for h in extraHeaders { head += h + "\r\n" }
        return write(fd, Array((head + "\r\n").utf8) + Array(payload))
    }

    private func write(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 408: "Request Timeout"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Error"
        }
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    static func socketTimeout(seconds: Double) -> timeval {
        let s = max(0.001, min(seconds, 86_400))
        return timeval(tv_sec: Int(s), tv_usec: Int((s - s.rounded(.down)) * 1e6))
    }

    static func format(_ seconds: Double) -> String { seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds) }

    // MARK: routes

    /// A route's answer: a JSON object, or a chat completion as server-sent events.
    private enum Answer {
        case json(Int, Any)
        case events(Data)
    }

    private func route(_ request: HTTPRequest) -> Answer {
        switch (request.method, request.path) {
        case ("GET", "/health"): return .json(200, ["status": "ok"])
        case ("GET", "/v1/models"): return .json(200, ["object": "list", "data": [["id": model.name, "object": "model", "owned_by": "bcsft"]]])
        case ("POST", "/v1/chat/completions"): return chat(Data(request.body))
        case ("POST", "/v1/embeddings"):
            let (status, object) = embeddings(Data(request.body))
            return .json(status, object)
        default: return .json(404, errorBody("no route \(request.method) \(HTTPRequestParser.clip(request.path))"))
        }
    }

    private func errorBody(_ message: String, param: String? = nil, type: String = "invalid_request_error") -> [String: Any] {
        var e: [String: Any] = ["message": message, "type": type]
        if let param { e["param"] = param }
        return ["error": e]
    }

    /// An integer field of a request: absent (or null), a JSON integer (or a float with an
    /// integral value), or anything else.
    private enum IntegerField { case absent, value(Int), invalid }

    private static func integer(_ o: [String: Any], _ key: String) -> IntegerField {
        guard let v = o[key], !(v is NSNull) else { return .absent }
        if let i = v as? Int { return .value(i) }
        if let d = v as? Double, d.isFinite, d == d.rounded() {
            // Past Int's range is past every limit; keep the sign without converting.
            return .value(abs(d) < 9e18 ? Int(d) : (d < 0 ? Int.min : Int.max))
        }
        return .invalid
    }

    private func chat(_ body: Data) -> Answer {
        guard let o = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
              let raw = o["messages"] as? [[String: Any]] else { return .json(400, errorBody("body must be JSON with a messages array", param: "messages")) }
        var messages: [Message] = []
        for (i, m) in raw.enumerated() {
            guard let role = m["role"] as? String, let content = m["content"] as? String else {
                return .json(400, errorBody("messages[\(i)] needs string role and content", param: "messages"))
            }
            messages.append(Message(role: role, content: content))
        }
        var s = Sampling()
        s.seed = nil
        if let t = o["temperature"] as? Double { s.temperature = t }
        if let p = o["top_p"] as? Double { s.topP = p }
        if let k = o["top_k"] as? Int { s.topK = max(0, k) }  // -1 (vLLM's "every token") is 0 here
        if let m = o["min_p"] as? Double { s.minP = m }
        if let r = o["repetition_penalty"] as? Double { s.repetitionPenalty = r }
        if let raw = o["chat_template_kwargs"], !(raw is NSNull) {
            // Read as settings values (JSONDecoder keeps booleans apart from numbers); a nested
            // value is refused by validate() below, naming its key.
            guard let kwargs = raw as? [String: Any], let data = try? JSONSerialization.data(withJSONObject: kwargs),
                  let values = try? JSONDecoder().decode([String: SettingValue].self, from: data) else {
                return .json(400, errorBody("'chat_template_kwargs' must be an object", param: "chat_template_kwargs"))
            }
            s.chatTemplateKwargs = values
        }
        if let seed = o["seed"] as? Int { s.seed = seed }
        if let stop = o["stop"] as? [String] { s.stop = stop } else if let stop = o["stop"] as? String { s.stop = [stop] }

        switch Self.integer(o, "n") {
        case .absent: break
        case let .value(n) where n >= 1 && n <= limits.maxN: s.n = n
        case .value, .invalid:
            return .json(400, errorBody("'n' must be an integer from 1 to \(limits.maxN) (this server's limit, bcsft serve --max-n), got \(Self.describe(o["n"]))",
                                   param: "n"))
        }
        // The most max_tokens may be: this server's limit, and for a model with a context window
        // (which sizes its cache by prompt + max_tokens) what the window leaves after the prompt.
        var tokenLimit = limits.maxTokens, limitReason = "this server's limit, bcsft serve --max-tokens-limit"
        if let windowed = model as? ContextWindowModel {
            let use: (window: Int, promptTokens: Int)
            do { use = try windowed.contextUse(of: messages) } catch { return .json(400, errorBody(error.localizedDescription, param: "messages")) }
            let left = use.window - use.promptTokens
            guard left >= 1 else {
                return .json(400, errorBody("the prompt's \(use.promptTokens) tokens leave no room in the model's \(use.window)-token context "
                                       + "(max_position_embeddings)", param: "messages"))
            }
            if left < tokenLimit {
                tokenLimit = left
                limitReason = "the model's context, max_position_embeddings \(use.window), minus the prompt's \(use.promptTokens) tokens"
            }
        }
        let tokensKey = o["max_tokens"] != nil || o["max_completion_tokens"] == nil ? "max_tokens" : "max_completion_tokens"
        switch Self.integer(o, tokensKey) {
        case .absent: s.maxTokens = min(Sampling().maxTokens, tokenLimit)
        case let .value(m) where m >= 1 && m <= tokenLimit: s.maxTokens = m
        case .value, .invalid:
            return .json(400, errorBody("'\(tokensKey)' must be an integer from 1 to \(tokenLimit) (\(limitReason)), got \(Self.describe(o[tokensKey]))",
                                   param: tokensKey))
        }
        do { try s.validate() } catch let SettingsError.invalid(key, reason, _) {
            return .json(400, errorBody("'\(key)' \(reason)", param: key))
        } catch {
            return .json(400, errorBody(error.localizedDescription))
        }

        let box = ResultBox()
        let semaphore = DispatchSemaphore(value: 0)
        let model = self.model
        gate.enter()
        Task {
            do { box.result = .success(try await model.complete(messages, s)) } catch { box.result = .failure(error) }
            semaphore.signal()
        }
        semaphore.wait()
        gate.leave()
        requests.increment()
        switch box.result! {
        case let .failure(e): return .json(500, errorBody(e.localizedDescription, type: "server_error"))
        case let .success(c):
            let id = "chatcmpl-\(UUID().uuidString.prefix(8))", created = Int(Date().timeIntervalSince1970)
            let u = c.usage ?? Usage(promptTokens: 0, completionTokens: 0)
            let usage = ["prompt_tokens": u.promptTokens, "completion_tokens": u.completionTokens, "total_tokens": u.promptTokens + u.completionTokens]
            guard o["stream"] as? Bool == true else {
                let choices: [[String: Any]] = c.choices.enumerated().map { i, ch in
                    var msg: [String: Any] = ["role": "assistant", "content": ch.content]
                    if let r = ch.reasoning { msg["reasoning_content"] = r }
                    return ["index": i, "message": msg, "finish_reason": ch.finishReason ?? "stop"]
                }
                return .json(200, ["id": id, "object": "chat.completion", "created": created, "model": c.model, "choices": choices, "usage": usage])
            }
            // The same answer as events: per choice its role, its reasoning and its content as one
            // delta each, and its finish; then the usage when asked for, and [DONE].
            var events = Data()
            func event(_ choices: [[String: Any]], usage: Any = NSNull()) {
                let chunk: [String: Any] = ["id": id, "object": "chat.completion.chunk", "created": created, "model": c.model, "choices": choices, "usage": usage]
                events.append(contentsOf: Array("data: ".utf8) + Self.json(chunk) + Array("\n\n".utf8))
            }
            for (i, ch) in c.choices.enumerated() {
                event([["index": i, "delta": ["role": "assistant", "content": ""], "finish_reason": NSNull()]])
                if let r = ch.reasoning { event([["index": i, "delta": ["reasoning_content": r], "finish_reason": NSNull()]]) }
                if !ch.content.isEmpty { event([["index": i, "delta": ["content": ch.content], "finish_reason": NSNull()]]) }
                event([["index": i, "delta": [String: Any](), "finish_reason": ch.finishReason ?? "stop"]])
            }
            if (o["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true { event([], usage: usage) }
            events.append(contentsOf: Array("data: [DONE]\n\n".utf8))
            return .events(events)
        }
    }

    /// A request's value for an error message.
    private static func describe(_ v: Any?) -> String {
        switch v {
        case let s as String: "'\(HTTPRequestParser.clip(s))'"
        case let d as Double where d.isFinite && d == d.rounded() && abs(d) < 9e18: String(Int(d))
        case let v?: HTTPRequestParser.clip("\(v)")
        case nil: "nothing"
        }
    }

    private func embeddings(_ body: Data) -> (Int, Any) {
        guard let embedder else { return (404, errorBody("this server has no embedding model")) }
        guard let o = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return (400, errorBody("body must be JSON")) }
        let inputs = (o["input"] as? [String]) ?? (o["input"] as? String).map { [$0] }
        guard let inputs else { return (400, errorBody("input must be a string or an array of strings", param: "input")) }
        guard inputs.count <= limits.maxEmbeddingInputs else {
            return (400, errorBody("'input' may hold at most \(limits.maxEmbeddingInputs) strings (this server's limit, bcsft serve --max-embedding-inputs), "
                                   + "got \(inputs.count)", param: "input"))
        }
        gate.enter()
        let vectors = embedder(inputs)
        gate.leave()
        requests.increment()
        let data = vectors.enumerated().map { i, v in ["object": "embedding", "index": i, "embedding": v.map(Double.init)] as [String: Any] }
        return (200, ["object": "list", "data": data, "model": model.name])
    }
}

private final class ResultBox: @unchecked Sendable { var result: Result<Completion, Error>? }

private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func increment() { lock.withLock { n += 1 } }
    /// Counts one more if that keeps the count below `limit`.
    func increment(below limit: Int) -> Bool {
        lock.withLock {
            guard n < limit else { return false }
            n += 1
            return true
        }
    }
    func decrement() { lock.withLock { n -= 1 } }
    var value: Int { lock.withLock { n } }
}

/// At most `slots` holders at once; the others wait and enter in the order they came (tickets),
/// so no request is passed over however many arrive after it.
private final class Gate: @unchecked Sendable {
    private let condition = NSCondition()
    private let slots: Int
    private var inside = 0
    private var nextTicket = 0
    private var nextToEnter = 0

    init(slots: Int) { self.slots = slots }

    func enter() {
        condition.lock()
        let ticket = nextTicket
        nextTicket += 1
        while ticket != nextToEnter || inside >= slots { condition.wait() }
        nextToEnter += 1
        inside += 1
        condition.broadcast()
        condition.unlock()
    }

    func leave() {
        condition.lock()
        inside -= 1
        condition.broadcast()
        condition.unlock()
    }
}
