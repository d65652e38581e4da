import Foundation
import Settings
#if canImport(Glibc)
import Glibc
#endif

/// A small OpenAI-compatible HTTP/1.1 server over any LanguageModel: `POST /v1/chat/completions`,
/// `POST /v1/embeddings` (when an embedder is given), `GET /v1/models` and `GET /health`.
/// It backs `bcsft serve`, so the HTTP path (client, retries, cache) runs offline against
/// the scripted world or a local student. Loopback by default; one thread per connection,
/// keep-alive; not meant to face the internet.
public final class OpenAIServer: @unchecked Sendable {
    public typealias Embedder = @Sendable ([String]) -> [[Float]]

    let model: LanguageModel
    let embedder: Embedder?
    let host: String
    private var listener: Int32 = -1
    public private(set) var port: Int = 0
    private let requests = Counter()

    public init(model: LanguageModel, embedder: Embedder? = nil, host: String = "127.0.0.1", port: Int = 0) throws {
        self.model = model
        self.embedder = embedder
        self.host = host
        self.port = port
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

    /// Accepts connections forever (call from a thread of its own, or as the program's last act).
    public func serve() {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 { if errno == EINTR { continue } else { return } }
            let t = Thread { [self] in self.handle(fd) }
            t.start()
        }
    }

    // MARK: connections

    private func handle(_ fd: Int32) {
        defer { close(fd) }
        var buffer = [UInt8]()
        while let (method, path, headers, body) = readRequest(fd, &buffer) {
            let (status, object) = route(method, path, body)
            let payload = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
            let keepAlive = headers["connection"]?.lowercased() != "close"
            var head = "HTTP/1.1 \(status) \(status == 200 ? "OK" : "Error")\r\nContent-Type: application/json\r\n"
            head += "Content-Length: \(payload.count)\r\nConnection: \(keepAlive ? "keep-alive" : "close")\r\n\r\n"
            guard write(fd, Array(head.utf8) + Array(payload)) else { return }
            if !keepAlive { return }
        }
    }

    private func write(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    /// Reads one request (request line, headers, Content-Length body); nil at end of stream.
    private func readRequest(_ fd: Int32, _ buffer: inout [UInt8]) -> (String, String, [String: String], Data)? {
        let separator: [UInt8] = [13, 10, 13, 10]
        var headerEnd: Int?
        while true {
            if buffer.count >= 4, let i = (0...(buffer.count - 4)).first(where: { Array(buffer[$0..<$0 + 4]) == separator }) { headerEnd = i; break }
            guard fill(fd, &buffer), buffer.count < 1 << 20 else { return nil }
        }
        let head = String(decoding: buffer[..<headerEnd!], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for l in lines {
            guard let c = l.firstIndex(of: ":") else { continue }
            headers[l[..<c].lowercased()] = l[l.index(after: c)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        let start = headerEnd! + 4
        while buffer.count < start + length { guard fill(fd, &buffer) else { return nil } }
        let body = Data(buffer[start..<start + length])
        buffer.removeFirst(start + length)
        return (String(requestLine[0]), String(requestLine[1]), headers, body)
    }

    private func fill(_ fd: Int32, _ buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return false }
        buffer += chunk[..<n]
        return true
    }

    // MARK: routes

    private func route(_ method: String, _ path: String, _ body: Data) -> (Int, Any) {
        let p = path.split(separator: "?").first.map(String.init) ?? path
        switch (method, p) {
        case ("GET", "/health"): return (200, ["status": "ok"])
        case ("GET", "/v1/models"): return (200, ["object": "list", "data": [["id": model.name, "object": "model", "owned_by": "bcsft"]]])
        case ("POST", "/v1/chat/completions"): return chat(body)
        case ("POST", "/v1/embeddings"): return embeddings(body)
        default: return (404, error("no route \(method) \(p)"))
        }
    }

    private func error(_ message: String) -> [String: Any] { ["error": ["message": message, "type": "invalid_request_error"]] }

    private func chat(_ body: Data) -> (Int, Any) {
        guard let o = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
              let raw = o["messages"] as? [[String: Any]] else { return (400, error("body must be JSON with a messages array")) }
        var messages: [Message] = []
        for (i, m) in raw.enumerated() {
            guard let role = m["role"] as? String, let content = m["content"] as? String else {
                return (400, error("messages[\(i)] needs string role and content"))
            }
            messages.append(Message(role: role, content: content))
        }
        var s = Sampling()
        s.seed = nil
        if let t = o["temperature"] as? Double { s.temperature = t }
        if let p = o["top_p"] as? Double { s.topP = p }
        if let k = o["top_k"] as? Int { s.topK = max(0, k) }
        if let m = (o["max_tokens"] ?? o["max_completion_tokens"]) as? Int { s.maxTokens = m }
        if let n = o["n"] as? Int { s.n = n }
        if let seed = o["seed"] as? Int { s.seed = seed }
        if let stop = o["stop"] as? [String] { s.stop = stop } else if let stop = o["stop"] as? String { s.stop = [stop] }
        let box = ResultBox()
        let semaphore = DispatchSemaphore(value: 0)
        let model = self.model
        Task {
            do { box.result = .success(try await model.complete(messages, s)) } catch { box.result = .failure(error) }
            semaphore.signal()
        }
        semaphore.wait()
        requests.increment()
        switch box.result! {
        case let .failure(e): return (500, error(e.localizedDescription))
        case let .success(c):
            let choices: [[String: Any]] = c.choices.enumerated().map { i, ch in
                var msg: [String: Any] = ["role": "assistant", "content": ch.content]
                if let r = ch.reasoning { msg["reasoning_content"] = r }
                return ["index": i, "message": msg, "finish_reason": ch.finishReason ?? "stop"]
            }
            let u = c.usage ?? Usage(promptTokens: 0, completionTokens: 0)
            return (200, ["id": "chatcmpl-\(UUID().uuidString.prefix(8))", "object": "chat.completion", "created": Int(Date().timeIntervalSince1970),
                          "model": c.model, "choices": choices,
                          "usage": ["prompt_tokens": u.promptTokens, "completion_tokens": u.completionTokens, "total_tokens": u.promptTokens + u.completionTokens]])
        }
    }

    private func embeddings(_ body: Data) -> (Int, Any) {
        guard let embedder else { return (404, error("this server has no embedding model")) }
        guard let o = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return (400, error("body must be JSON")) }
        let inputs = (o["input"] as? [String]) ?? (o["input"] as? String).map { [$0] }
        guard let inputs else { return (400, error("input must be a string or an array of strings")) }
        requests.increment()
        let data = embedder(inputs).enumerated().map { i, v in ["object": "embedding", "index": i, "embedding": v.map(Double.init)] as [String: Any] }
        return (200, ["object": "list", "data": data, "model": model.name])
    }
}

private final class ResultBox: @unchecked Sendable { var result: Result<Completion, Error>? }

private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func increment() { lock.withLock { n += 1 } }
    var value: Int { lock.withLock { n } }
}
