import Foundation
import Settings
import TestSupport
import Teachers
import XCTest

final class OpenAIClientTests: XCTestCase {
    func client(_ urls: [URL], key: String? = nil, inFlight: Int = 8, attempts: Int = 4) throws -> OpenAIClient {
        var c = OpenAIClient.Configuration(baseURLs: urls, model: "scripted-teacher", apiKeyVariable: key)
        c.maxInFlight = inFlight
        c.maxAttempts = attempts
        c.initialBackoff = 0.05
        return try OpenAIClient(c)
    }

    func testCompletionUsageAndAPIKeyHeader() async throws {
        let server = try ScriptedServer()
        setenv("BCSFT_TEST_KEY", "secret-123", 1)
        defer { unsetenv("BCSFT_TEST_KEY") }
        let c = try client([server.url], key: "BCSFT_TEST_KEY")
        let r = try await c.complete([.system("Be brief."), .user("What is 2 + 2?")], Sampling(maxTokens: 64, n: 2))
        XCTAssertEqual(r.choices.count, 2)
        XCTAssertEqual(r.choices[0].content, "echo: What is 2 + 2?")
        XCTAssertEqual(r.choices[0].finishReason, "stop")
        XCTAssertEqual(r.usage, Usage(promptTokens: 5, completionTokens: 5, reasoningTokens: 2), "the scripted server counts words")
        XCTAssertEqual(r.model, "scripted-teacher")
        XCTAssertEqual(try server.stats()["auth"] as? [String], ["Bearer secret-123"])
    }

    func testReasoningFromThinkSpanOrField() async throws {
        let server = try ScriptedServer()
        let c = try client([server.url])
        for prompt in ["THINK", "REASONING"] {
            let r = try await c.complete([.user(prompt)], Sampling())
            XCTAssertEqual(r.choices[0].content, "The answer is 4.", prompt)
            XCTAssertEqual(r.choices[0].reasoning, "2 + 2 is 4.", prompt)
        }
        XCTAssertEqual(splitThinking("<think>unfinished thought").content, "", "budget ran out while thinking")
        XCTAssertEqual(splitThinking("thinking</think>answer").reasoning, "thinking")
    }

    func testRetriesHonourRetryAfterAnd5xxButNot4xx() async throws {
        let server = try ScriptedServer()
        let c = try client([server.url])
        let t0 = Date()
        let r = try await c.complete([.user("FAIL429 please")], Sampling())
        XCTAssertEqual(r.choices[0].content, "echo: FAIL429 please")
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(t0), 0.2, "waited Retry-After")
        _ = try await c.complete([.user("FAIL500 please")], Sampling())
        XCTAssertEqual(try server.stats()["requests"] as? Int, 4, "one retry each")
        do {
            _ = try await c.complete([.user("BAD400")], Sampling())
            XCTFail("400 must not be retried into success")
        } catch let TeacherError.http(_, status, body) {
            XCTAssertEqual(status, 400)
            XCTAssertTrue(body.contains("scripted bad request"))
        }
        XCTAssertEqual(try server.stats()["requests"] as? Int, 5, "a 400 is not retried")
    }

    func testInFlightLimitAndLoadBalancing() async throws {
        let a = try ScriptedServer(), b = try ScriptedServer()
        let c = try client([a.url, b.url], inFlight: 2)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<8 { group.addTask { _ = try await c.complete([.user("SLOW \(i)")], Sampling()) } }
            try await group.waitForAll()
        }
        let sa = try a.stats(), sb = try b.stats()
        XCTAssertEqual((sa["requests"] as! Int) + (sb["requests"] as! Int), 8)
        XCTAssertGreaterThanOrEqual(sa["requests"] as! Int, 2, "both endpoints used")
        XCTAssertGreaterThanOrEqual(sb["requests"] as! Int, 2, "both endpoints used")
        XCTAssertLessThanOrEqual(sa["max_concurrent"] as! Int, 2, "at most maxInFlight per endpoint")
        XCTAssertLessThanOrEqual(sb["max_concurrent"] as! Int, 2)
    }

    func testEmbeddingsKeepInputOrder() async throws {
        let server = try ScriptedServer()
        let v = try await client([server.url]).embed(["a", "bbb", "cc"])
        XCTAssertEqual(v, [[1, 0], [3, 1], [2, 2]])
    }

    func testDeadEndpointGivesUpWithTheLastError() async throws {
        let c = try client([URL(string: "http://127.0.0.1:9/v1")!], attempts: 3)
        do {
            _ = try await c.complete([.user("hi")], Sampling())
            XCTFail("nothing listens on port 9")
        } catch let TeacherError.gaveUp(url, attempts, _) {
            XCTAssertEqual(attempts, 3)
            XCTAssertTrue(url.contains("127.0.0.1:9"))
        }
    }

    func testMissingAPIKeyVariableIsNamed() {
        XCTAssertThrowsError(try client([URL(string: "http://127.0.0.1:1/v1")!], key: "BCSFT_NO_SUCH_KEY")) {
            XCTAssertTrue($0.localizedDescription.contains("BCSFT_NO_SUCH_KEY"), $0.localizedDescription)
        }
    }
}
