import Foundation
import Settings
@testable import Teachers
import TestSupport
import XCTest

/// Streamed chat completions (server-sent events) against the scripted server: the same
/// completion and cache entry as the whole reply, a cut stream retried, `auto` by budget.
final class StreamingTests: XCTestCase {
    func client(_ url: URL, stream: Streaming) throws -> OpenAIClient {
        var c = OpenAIClient.Configuration(baseURLs: [url], model: "scripted-teacher")
        c.maxAttempts = 4
        c.initialBackoff = 0.05
        c.stream = stream
        return try OpenAIClient(c)
    }

    func testStreamedAndWholeCompletionsAreEqual() async throws {
        let server = try ScriptedServer()
        let streamed = try client(server.url, stream: .on), whole = try client(server.url, stream: .off)
        // Plain echo (with characters of several bytes, cut across writes), a <think> span, a
        // reasoning field, and two choices.
        let cases: [(String, Int)] = [("What is 2 + 2? Ünïcödé ４", 1), ("THINK", 1), ("REASONING", 1), ("two choices", 2), ("THINK twice", 2)]
        for (prompt, n) in cases {
            let sampling = Sampling(maxTokens: 64, n: n)
            let a = try await streamed.complete([.user(prompt)], sampling)
            let b = try await whole.complete([.user(prompt)], sampling)
            XCTAssertEqual(a, b, prompt)
            XCTAssertEqual(a.choices.count, n, prompt)
            XCTAssertNotNil(a.usage, "the usage comes in the stream's last chunk")
            XCTAssertEqual(a.usage?.reasoningTokens, 2)
            XCTAssertTrue(a.choices.allSatisfy { $0.finishReason == "stop" }, prompt)
        }
        let think = try await streamed.complete([.user("THINK")], Sampling(maxTokens: 64))
        XCTAssertEqual(think.choices[0].content, "The answer is 4.", "the <think> span is split off the assembled content")
        XCTAssertEqual(think.choices[0].reasoning, "2 + 2 is 4.")
        let stats = try server.stats()
        XCTAssertEqual(stats["requests"] as? Int, 2 * cases.count + 1)
        XCTAssertEqual(stats["streamed"] as? Int, cases.count + 1, "stream on asks for a stream; off does not")
    }

    func testStreamedAndWholeShareOneCacheEntry() async throws {
        let server = try ScriptedServer()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = try ResponseCache(path: dir.appendingPathComponent("cache.sqlite").path)
        let prompt: [Message] = [.system("Be brief."), .user("REASONING for the cache")]
        let sampling = Sampling(maxTokens: 4096)
        let first = try await CachedModel(try client(server.url, stream: .on), cache: cache).complete(prompt, sampling)
        let wholeModel = CachedModel(try client(server.url, stream: .off), cache: cache)
        let second = try await wholeModel.complete(prompt, sampling)
        XCTAssertEqual(first, second)
        XCTAssertEqual(wholeModel.stats.hits, 1, "the whole-reply model found the streamed answer")
        XCTAssertEqual(cache.count, 1)
        let stats = try server.stats()
        XCTAssertEqual(stats["requests"] as? Int, 1, "the second asked nothing of the server")
        XCTAssertEqual(stats["streamed"] as? Int, 1)
    }

    func testACutStreamIsRetriedAndNeverAShortAnswer() async throws {
        let server = try ScriptedServer()
        let r = try await client(server.url, stream: .on).complete([.user("CUTSTREAM please")], Sampling())
        XCTAssertEqual(r.choices[0].content, "echo: CUTSTREAM please")
        XCTAssertEqual(r.choices[0].finishReason, "stop")
        XCTAssertEqual(try server.stats()["requests"] as? Int, 2, "the cut stream was asked again")
    }

    /// Neither is retried: the same request would get the same answer.
    func testAServerThatIgnoresStreamOrSendsA4xxErrorEventFailsAtOnce() async throws {
        let server = try ScriptedServer()
        let c = try client(server.url, stream: .on)
        do {
            _ = try await c.complete([.user("NOSTREAM")], Sampling())
            XCTFail("a whole reply to a stream request")
        } catch let TeacherError.badResponse(_, reason) {
            XCTAssertTrue(reason.contains("backend.stream"), reason)
        }
        do {
            _ = try await c.complete([.user("STREAMERROR")], Sampling())
            XCTFail("an error event")
        } catch let TeacherError.http(_, status, body) {
            XCTAssertEqual(status, 400)
            XCTAssertTrue(body.contains("scripted stream failure"), body)
        }
        XCTAssertEqual(try server.stats()["requests"] as? Int, 2)
        let whole = try await client(server.url, stream: .off).complete([.user("STREAMERROR")], Sampling())
        XCTAssertEqual(whole.choices[0].content, "echo: STREAMERROR")
    }

    func testAutoStreamsAboveTheThresholdOnly() async throws {
        let server = try ScriptedServer()
        let c = try client(server.url, stream: .auto)
        _ = try await c.complete([.user("at the threshold")], Sampling(maxTokens: Streaming.autoThreshold))
        XCTAssertEqual(try server.stats()["streamed"] as? Int, 0)
        _ = try await c.complete([.user("above the threshold")], Sampling(maxTokens: Streaming.autoThreshold + 1))
        XCTAssertEqual(try server.stats()["streamed"] as? Int, 1)
        XCTAssertEqual(try server.stats()["requests"] as? Int, 2)
        XCTAssertTrue(Streaming.on.streams(maxTokens: 1))
        XCTAssertFalse(Streaming.off.streams(maxTokens: 1 << 20))
    }

    // MARK: the event-stream reader

    static let head = #"{"id":"x","object":"chat.completion.chunk","model":"m","choices":"#

    func assemble(_ text: String, pieces: Int = 1) throws -> Completion {
        var a = ChatStreamAssembler(url: "u", model: "fallback")
        let bytes = Array(text.utf8)
        let step = max(1, bytes.count / pieces)
        for start in stride(from: 0, to: bytes.count, by: step) { try a.feed(Data(bytes[start..<min(bytes.count, start + step)])) }
        return try a.finish()
    }

    func testReaderTakesReasoningFieldsCommentsAndAnySplit() throws {
        let text = """
        : keep-alive\r
        \r
        data: \(Self.head)[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}

        event: message
        data: \(Self.head)[{"index":0,"delta":{"reasoning":"thought é"},"finish_reason":null}]}

        data: \(Self.head)[{"index":0,"delta":{"content":"ans"}}]}

        data: \(Self.head)[{"index":0,"delta":{"content":"wer <think>kept</think>"},"finish_reason":"length"}]}

        data: \(Self.head)[],"usage":{"prompt_tokens":3,"completion_tokens":9,"completion_tokens_details":{"reasoning_tokens":4}}}

        data: [DONE]

        """
        let expected = Completion(choices: [Choice(content: "answer <think>kept</think>", reasoning: "thought é", finishReason: "length")],
                                  usage: Usage(promptTokens: 3, completionTokens: 9, reasoningTokens: 4), model: "m")
        for pieces in [1, 2, 7, text.utf8.count] {
            XCTAssertEqual(try assemble(text, pieces: pieces), expected, "\(pieces) pieces; a reasoning field keeps <think> in the content")
        }
    }

    func testReaderRefusesCutAndFailedStreams() throws {
        let started = "data: \(Self.head)[{\"index\":0,\"delta\":{\"content\":\"half\"},\"finish_reason\":null}]}\n\n"
        XCTAssertThrowsError(try assemble(started)) { XCTAssertTrue($0 is ChatStreamAssembler.Cut, "\($0)") }
        XCTAssertThrowsError(try assemble(started + "data: [DONE]\n\n"), "a choice without its finish_reason") {
            XCTAssertTrue($0 is ChatStreamAssembler.Cut, "\($0)")
        }
        XCTAssertThrowsError(try assemble(started + "data: {\"error\":{\"message\":\"bad n\",\"code\":400}}\n\n")) { e in
            XCTAssertEqual((e as? ChatStreamAssembler.ErrorEvent)?.status, 400, "an error event stands for its code")
        }
        XCTAssertThrowsError(try assemble("data: {\"error\":{\"message\":\"engine died\"}}\n\n")) { e in
            XCTAssertEqual((e as? ChatStreamAssembler.ErrorEvent)?.status, 500, "without a code it is a server error")
        }
        XCTAssertThrowsError(try assemble("data: {\"choices\": [\n\n"), "an event that is not JSON")
    }

    func testStreamSettingReadsYAMLBooleansAsTheirChoices() throws {
        struct Group: Decodable { var stream: Streaming }
        func read(_ yaml: String) throws -> Streaming {
            try SettingsDecoder().decode(Group.self, from: .map(["stream": YAMLTree.typedScalar(yaml)])).stream
        }
        XCTAssertEqual(try read("on"), .on, "YAML reads an unquoted on as true")
        XCTAssertEqual(try read("off"), .off)
        XCTAssertEqual(try read("auto"), .auto)
        XCTAssertThrowsError(try read("sometimes")) { XCTAssertTrue("\($0)".contains("auto, on, off"), "\($0)") }
    }
}
