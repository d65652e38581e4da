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

    /// top_k, min_p, repetition_penalty and chat_template_kwargs are vLLM's and SGLang's, not
    /// OpenAI's: a request carries each only when it is set, with the value and JSON type given.
    func testServerSamplingFieldsAreSentOnlyWhenSet() async throws {
        let server = try ScriptedServer()
        let c = try client([server.url])
        let extra = ["top_k", "min_p", "repetition_penalty", "chat_template_kwargs"]
        for stream in [false, true] {
            _ = try await c.complete([.user("plain \(stream)")], Sampling(maxTokens: stream ? 4096 : 64))
            _ = try await c.complete([.user("set \(stream)")], Sampling(topK: 20, minP: 0.05, repetitionPenalty: 1.1, maxTokens: stream ? 4096 : 64,
                                                                        chatTemplateKwargs: ["enable_thinking": false, "effort": "low", "budget": 3, "scale": 0.5]))
        }
        let bodies = try XCTUnwrap(server.stats()["bodies"] as? [[String: Any]])
        XCTAssertEqual(bodies.count, 4)
        for (i, body) in bodies.enumerated() {
            XCTAssertEqual(body["stream"] as? Bool ?? false, i >= 2, "the streamed and the whole request alike")
            XCTAssertEqual(body["temperature"] as? Double, 0.6)
            guard i % 2 == 1 else {
                XCTAssertEqual(extra.filter { body[$0] != nil }, [], "defaults are not sent")
                continue
            }
            XCTAssertEqual(body["top_k"] as? Int, 20)
            XCTAssertEqual(body["min_p"] as? Double, 0.05)
            XCTAssertEqual(body["repetition_penalty"] as? Double, 1.1)
            // Read back as JSON types: false stays a boolean, 3 an integer.
            let kwargs = try JSONDecoder().decode([String: SettingValue].self, from: JSONSerialization.data(withJSONObject: try XCTUnwrap(body["chat_template_kwargs"])))
            XCTAssertEqual(kwargs, ["enable_thinking": false, "effort": "low", "budget": 3, "scale": 0.5])
        }
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
