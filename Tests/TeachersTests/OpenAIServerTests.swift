import Foundation
import Settings
import Teachers
import TestSupport
import XCTest

/// OpenAIServer in process over a stub model: connection and idle limits.
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
}
