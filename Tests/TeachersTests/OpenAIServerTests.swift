import Foundation
import Settings
import Teachers
import TestSupport
import XCTest

/// OpenAIServer in process over stub models: how many requests compute at once, connection
/// and idle limits, and the per-request limits a model's context window adds.
final class OpenAIServerTests: XCTestCase {
    /// Echoes the prompt; a prompt starting "slow" takes 2 s and "busy" 0.3 s. Records how many
    /// run at once and the sampling each got.
    final class StubModel: LanguageModel, @unchecked Sendable {
        let name = "stub"
        private let lock = NSLock()
        private var running = 0
        private(set) var peak = 0
        private(set) var samplings: [Sampling] = []

        func complete(_ messages: [Message], _ s: Sampling) async throws -> Completion {
            let prompt = messages.last?.content ?? ""
            lock.withLock {
                running += 1
                peak = max(peak, running)
                samplings.append(s)
            }
            defer { lock.withLock { running -= 1 } }
            let delay = prompt.hasPrefix("slow") ? 2.0 : prompt.hasPrefix("busy") ? 0.3 : 0
            if delay > 0 { try await Task.sleep(nanoseconds: UInt64(delay * 1e9)) }
            return Completion(choices: (0..<s.n).map { _ in Choice(content: prompt, reasoning: nil, finishReason: "stop") },
                              usage: Usage(promptTokens: 1, completionTokens: 1), model: name)
        }
    }

    /// A model with a 100-token window whose prompt tokens are the messages' words.
    final class WindowedModel: ContextWindowModel, @unchecked Sendable {
        let stub = StubModel()
        var name: String { "windowed" }
        func complete(_ messages: [Message], _ s: Sampling) async throws -> Completion { try await stub.complete(messages, s) }
        func contextUse(of messages: [Message]) throws -> (window: Int, promptTokens: Int) {
            (100, messages.reduce(0) { $0 + $1.content.split(separator: " ").count })
        }
    }

    func start(_ model: LanguageModel, embedder: OpenAIServer.Embedder? = nil, limits configure: (inout OpenAIServer.Limits) -> Void = { _ in }) throws -> OpenAIServer {
        var limits = OpenAIServer.Limits()
        configure(&limits)
        let server = try OpenAIServer(model: model, embedder: embedder, limits: limits)
        Thread { server.serve() }.start()
        addTeardownBlock { server.stop() }
        return server
    }

    static func chat(_ port: Int, _ prompt: String, _ extra: [String: Any] = [:], timeout: Double = 10) -> RawResponse? {
        guard let c = try? RawConnection(port: port, timeout: timeout) else { return nil }
        c.send(rawRequest("POST", "/v1/chat/completions", body: chatRequestBody(prompt, extra)))
        return c.readResponse()
    }

    /// `"stream": true` is answered as server-sent events on the same kept-alive connection,
    /// with the usage chunk only when stream_options asks for it.
    func testAStreamRequestIsAnsweredWithServerSentEvents() throws {
        let server = try start(StubModel())
        let c = try RawConnection(port: server.port)
        var events: [[String]] = []
        for includeUsage in [true, false] {
            c.send(rawRequest("POST", "/v1/chat/completions", body: chatRequestBody("hello there", ["n": 2, "stream": true,
                                                                                                   "stream_options": ["include_usage": includeUsage]])))
            let r = try XCTUnwrap(c.readResponse())
            XCTAssertEqual(r.status, 200)
            XCTAssertEqual(r.headers["content-type"], "text/event-stream")
            let text = String(decoding: r.body, as: UTF8.self)
            XCTAssertTrue(text.hasSuffix("data: [DONE]\n\n"), text)
            events.append(text.components(separatedBy: "\n\n").filter { !$0.isEmpty })
        }
        let chunks = events[0].dropLast().map { try? JSONSerialization.jsonObject(with: Data($0.dropFirst("data: ".count).utf8)) as? [String: Any] }
        let choices = chunks.flatMap { ($0?["choices"] as? [[String: Any]]) ?? [] }
        let content = (0..<2).map { i in choices.filter { $0["index"] as? Int == i }.compactMap { ($0["delta"] as? [String: Any])?["content"] as? String }.joined() }
        XCTAssertEqual(content, ["hello there", "hello there"])
        XCTAssertEqual(choices.compactMap { $0["finish_reason"] as? String }, ["stop", "stop"])
        let usage = try XCTUnwrap(chunks.last??["usage"] as? [String: Any], "the last chunk carries the usage")
        XCTAssertEqual(usage["completion_tokens"] as? Int, 1)
        XCTAssertEqual(events[1].count, events[0].count - 1, "no usage chunk unless asked for")
    }

    func testAtMostMaxInFlightComputeAtOnceAndOthersAreNotHeldBehindASlowOne() throws {
        let model = StubModel()
        let server = try start(model, limits: { $0.maxInFlight = 2 })
        let statuses = LockedArray<Int>()
        DispatchQueue.concurrentPerform(iterations: 6) { i in statuses.append(Self.chat(server.port, "busy \(i)")?.status ?? 0) }
        XCTAssertEqual(statuses.values, Array(repeating: 200, count: 6))
        XCTAssertEqual(model.peak, 2, "two slots, six requests")

        // A slow request holds one slot; requests after it go through the other without waiting for it.
        let slow = Thread { _ = Self.chat(server.port, "slow") }
        slow.start()
        Thread.sleep(forTimeInterval: 0.2)
        for i in 0..<5 {
            let start = Date()
            XCTAssertEqual(Self.chat(server.port, "fast \(i)")?.status, 200)
            XCTAssertLessThan(Date().timeIntervalSince(start), 1)
        }
    }

    func testConnectionsOverTheLimitAreAnswered503() throws {
        let server = try start(StubModel(), limits: { $0.maxConnections = 2 })
        var held = [RawConnection]()
        for _ in 0..<2 {
            let c = try RawConnection(port: server.port, timeout: 5)
            c.send(rawRequest("GET", "/health"))
            XCTAssertEqual(c.readResponse()?.status, 200)
            held.append(c)
        }
        let third = try RawConnection(port: server.port, timeout: 5)
        third.send(rawRequest("GET", "/health"))
        let r = try XCTUnwrap(third.readResponse())
        XCTAssertEqual(r.status, 503)
        XCTAssertEqual(r.headers["retry-after"], "1")
        XCTAssertTrue(r.errorMessage.contains("too many connections"), r.errorMessage)
        // A closed connection frees its place.
        held.removeFirst()
        var status: Int?
        for _ in 0..<50 where status != 200 {
            Thread.sleep(forTimeInterval: 0.05)
            let c = try RawConnection(port: server.port, timeout: 5)
            c.send(rawRequest("GET", "/health"))
            status = c.readResponse()?.status
        }
        XCTAssertEqual(status, 200)
    }

    /// Any split of a request into segments is one request: here a body over 4 KiB whose last
    /// byte comes alone (the head is not searched for again once seen).
    func testARequestArrivingInPiecesIsAnswered() throws {
        let server = try start(StubModel())
        let whole = rawRequest("POST", "/v1/chat/completions", body: chatRequestBody(String(repeating: "long ", count: 1200)))
        for cut in [1, 2, 40, whole.count - 1] {
            let c = try RawConnection(port: server.port, timeout: 5)
            c.send(Array(whole[..<cut]))
            Thread.sleep(forTimeInterval: 0.05)
            c.send(Array(whole[cut...]))
            XCTAssertEqual(c.readResponse()?.status, 200, "split at \(cut) of \(whole.count)")
        }
        let c = try RawConnection(port: server.port, timeout: 5)
        c.send(Array("\r\n\r\n".utf8))
        Thread.sleep(forTimeInterval: 0.05)
        c.send(whole)
        XCTAssertEqual(c.readResponse()?.status, 200, "after blank lines")
    }

    func testIdleAndSlowConnectionsAreClosed() throws {
        let server = try start(StubModel(), limits: { $0.idleTimeout = 0.5 })
        let start = Date()
        let idle = try RawConnection(port: server.port, timeout: 5)
        XCTAssertTrue(idle.closedByPeer(), "a silent connection is closed")
        XCTAssertNil(idle.readResponse(), "without an answer: it asked nothing")
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)

        // One byte at a time, each well within the timeout: the request as a whole is not.
        let slow = try RawConnection(port: server.port, timeout: 5)
        let begun = Date()
        var answer: RawResponse?
        for byte in rawRequest("GET", "/health") {
            guard slow.send([byte]) else { break }
            var pfd = pollfd(fd: slow.fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 100) > 0 { answer = slow.readResponse(); break }
        }
        XCTAssertEqual(answer?.status, 408)
        XCTAssertLessThan(Date().timeIntervalSince(begun), 2)

        // Between requests the same timeout applies; meanwhile others are served.
        let kept = try RawConnection(port: server.port, timeout: 5)
        kept.send(rawRequest("GET", "/health"))
        XCTAssertEqual(kept.readResponse()?.status, 200)
        XCTAssertEqual(Self.chat(server.port, "hello")?.status, 200)
        XCTAssertTrue(kept.closedByPeer())
    }

    func testAContextWindowBoundsMaxTokens() throws {
        let model = WindowedModel()
        let server = try start(model)
        let ten = Array(repeating: "word", count: 10).joined(separator: " ")
        let r = try XCTUnwrap(Self.chat(server.port, ten, ["max_tokens": 91]))
        XCTAssertEqual(r.status, 400)
        XCTAssertTrue(r.errorMessage.contains("from 1 to 90") && r.errorMessage.contains("max_position_embeddings 100"), r.errorMessage)
        XCTAssertEqual(Self.chat(server.port, ten, ["max_tokens": 90])?.status, 200)
        XCTAssertEqual(Self.chat(server.port, ten)?.status, 200)
        XCTAssertEqual(model.stub.samplings.map(\.maxTokens), [90, 90], "without max_tokens: what the window leaves")
        let full = try XCTUnwrap(Self.chat(server.port, Array(repeating: "word", count: 100).joined(separator: " ")))
        XCTAssertEqual(full.status, 400)
        XCTAssertTrue(full.errorMessage.contains("no room"), full.errorMessage)
    }

    func testRequestFieldsAreChecked() throws {
        let model = StubModel()
        let server = try start(model, embedder: { $0.map { _ in [1, 2] } }, limits: {
            $0.maxN = 3
            $0.maxTokens = 100
            $0.maxEmbeddingInputs = 3
        })
        for (extra, param) in [(["n": "3"], "n"), (["n": 2.5], "n"), (["n": 1e30], "n"), (["n": 4], "n"), (["n": 0], "n"),
                               (["max_tokens": 101], "max_tokens"), (["max_tokens": -1e300], "max_tokens"), (["max_completion_tokens": 101], "max_completion_tokens"),
                               (["temperature": -1], "temperature"), (["top_p": 0], "top_p")] as [([String: Any], String)] {
            let r = try XCTUnwrap(Self.chat(server.port, "hi", extra))
            XCTAssertEqual(r.status, 400, "\(extra)")
            XCTAssertEqual((r.json?["error"] as? [String: Any])?["param"] as? String, param, r.errorMessage)
        }
        XCTAssertEqual(Self.chat(server.port, "hi", ["n": 3, "max_tokens": 100, "top_k": -1])?.status, 200)
        XCTAssertEqual(model.samplings.map(\.n), [3])

        // Bodies that are not the JSON asked for, however deep.
        let c = try RawConnection(port: server.port, timeout: 10)
        for body in [String(repeating: "[", count: 200_000), String(repeating: "{\"a\":", count: 100_000), "{\"messages\": 5}", "\u{0}\u{ff}"] {
            c.send(rawRequest("POST", "/v1/chat/completions", body: Data(body.utf8)))
            XCTAssertEqual(c.readResponse()?.status, 400)
        }
        c.send(rawRequest("POST", "/v1/embeddings", body: Data(#"{"input": ["a", "b", "c", "d"]}"#.utf8)))
        let e = try XCTUnwrap(c.readResponse())
        XCTAssertEqual(e.status, 400)
        XCTAssertTrue(e.errorMessage.contains("at most 3"), e.errorMessage)
        c.send(rawRequest("POST", "/v1/embeddings", body: Data(#"{"input": ["a", "b", "c"]}"#.utf8)))
        XCTAssertEqual(c.readResponse()?.status, 200)
        c.send(rawRequest("DELETE", "/v1/models"))
        XCTAssertEqual(c.readResponse()?.status, 404)
    }

    /// What the OpenAI client sends beside OpenAI's fields reaches the model behind `bcsft serve`
    /// as it was given, and out-of-range values are refused naming the field.
    func testServerSamplingFieldsReachTheModel() async throws {
        let model = StubModel()
        let server = try start(model)
        let client = try OpenAIClient(OpenAIClient.Configuration(baseURLs: [URL(string: "http://127.0.0.1:\(server.port)/v1")!], model: "stub"))
        let sent = Sampling(topK: 20, minP: 0.05, repetitionPenalty: 1.1, maxTokens: 64, seed: 3, chatTemplateKwargs: ["enable_thinking": false, "effort": "low"])
        _ = try await client.complete([.user("hi")], sent)
        _ = try await client.complete([.user("hi")], Sampling(maxTokens: 64, seed: 3))
        XCTAssertEqual(model.samplings, [sent, Sampling(maxTokens: 64, seed: 3)])

        for (extra, param) in [(["min_p": 1], "min_p"), (["repetition_penalty": 0], "repetition_penalty"), (["chat_template_kwargs": 5], "chat_template_kwargs"),
                               (["chat_template_kwargs": ["tools": [1, 2]]], "chat_template_kwargs.tools")] as [([String: Any], String)] {
            let r = try XCTUnwrap(Self.chat(server.port, "hi", extra))
            XCTAssertEqual(r.status, 400, "\(extra)")
            XCTAssertEqual((r.json?["error"] as? [String: Any])?["param"] as? String, param, r.errorMessage)
        }
    }
}
