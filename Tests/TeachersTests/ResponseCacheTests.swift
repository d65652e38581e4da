import Crypto
import Foundation
import Settings
import TestSupport
import Teachers
import XCTest

final class ResponseCacheTests: XCTestCase {
    func testKeyCoversEverythingThatChangesTheOutput() {
        let m: [Message] = [.user("What is 2 + 2?")]
        let base = ResponseCache.key(model: "m", messages: m, sampling: Sampling(temperature: 0.6, seed: 1))
        XCTAssertEqual(base, ResponseCache.key(model: "m", messages: m, sampling: Sampling(temperature: 0.6, seed: 1)))
        for other in [
            ResponseCache.key(model: "m2", messages: m, sampling: Sampling(temperature: 0.6, seed: 1)),
            ResponseCache.key(model: "m", messages: [.user("What is 2 + 3?")], sampling: Sampling(temperature: 0.6, seed: 1)),
            ResponseCache.key(model: "m", messages: m, sampling: Sampling(temperature: 0.7, seed: 1)),
            ResponseCache.key(model: "m", messages: m, sampling: Sampling(temperature: 0.6, maxTokens: 2 * Sampling().maxTokens, seed: 1)),
            ResponseCache.key(model: "m", messages: m, sampling: Sampling(temperature: 0.6, seed: 2)),
            ResponseCache.key(model: "m", messages: m, sampling: Sampling(temperature: 0.6, seed: 1), sampleIndex: 1),
            ResponseCache.key(model: "m", messages: m, sampling: Sampling(temperature: 0.6, topK: 20, seed: 1)),
            ResponseCache.key(model: "m", messages: m, sampling: Sampling(temperature: 0.6, minP: 0.05, seed: 1)),
            ResponseCache.key(model: "m", messages: m, sampling: Sampling(temperature: 0.6, repetitionPenalty: 1.1, seed: 1)),
            ResponseCache.key(model: "m", messages: m, sampling: Sampling(temperature: 0.6, seed: 1, chatTemplateKwargs: ["enable_thinking": false])),
        ] {
            XCTAssertNotEqual(base, other)
        }
        // Each field's value counts, a template variable's too.
        func kwargs(_ k: [String: SettingValue]) -> String {
            ResponseCache.key(model: "m", messages: m, sampling: Sampling(temperature: 0.6, seed: 1, chatTemplateKwargs: k))
        }
        XCTAssertNotEqual(kwargs(["enable_thinking": false]), kwargs(["enable_thinking": true]))
        XCTAssertNotEqual(kwargs(["enable_thinking": false]), kwargs(["enable_thinking": "false"]))
        XCTAssertEqual(kwargs(["a": 1, "b": "x"]), kwargs(["b": "x", "a": 1]))
        XCTAssertNotEqual(ResponseCache.key(model: "m", messages: m, sampling: Sampling(minP: 0.05)), ResponseCache.key(model: "m", messages: m, sampling: Sampling(minP: 0.1)))
        XCTAssertNotEqual(ResponseCache.key(model: "m", messages: m, sampling: Sampling(repetitionPenalty: 1.1)),
                          ResponseCache.key(model: "m", messages: m, sampling: Sampling(repetitionPenalty: 1.2)))
    }

    /// A cache filled before min_p, repetition_penalty and chat_template_kwargs existed stays
    /// found: with them off, the key hashes the JSON it always did.
    func testKeysWithoutTheNewerFieldsAreUnchanged() {
        let m: [Message] = [.user("What is 2 + 2?")]
        let json = #"{"messages":[{"content":"What is 2 + 2?","role":"user"}],"model":"m","sample":0,"#
            + #""sampling":{"maxTokens":4096,"n":1,"seed":1,"stop":[],"temperature":0.6,"topP":0.95}}"#
        let expected = SHA256.hash(data: Data(json.utf8)).map { String(format: "%02x", $0) }.joined()
        XCTAssertEqual(ResponseCache.key(model: "m", messages: m, sampling: Sampling(temperature: 0.6, seed: 1)), expected)
        XCTAssertEqual(ResponseCache.key(model: "m", messages: m, sampling: Sampling(temperature: 0.6, minP: 0, repetitionPenalty: 1, seed: 1, chatTemplateKwargs: [:])),
                       expected, "the defaults are off, not new values")
    }

    func testCachedRunsCostNothingAndResumeAfterAnInterruption() async throws {
        let server = try ScriptedServer()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("cache.sqlite").path
        var config = OpenAIClient.Configuration(baseURLs: [server.url], model: "scripted-teacher")
        config.initialBackoff = 0.05
        let prompts = (0..<10).map { "problem \($0)" }

        // A first run "killed" after 4 requests: what finished is stored.
        do {
            let model = CachedModel(try OpenAIClient(config), cache: try ResponseCache(path: db))
            for p in prompts.prefix(4) { _ = try await model.complete([.user(p)], Sampling(seed: 7)) }
        }
        XCTAssertEqual(try server.stats()["requests"] as? Int, 4)

        // The rerun (a new process would reopen the same file) sends only the missing 6.
        let model = CachedModel(try OpenAIClient(config), cache: try ResponseCache(path: db))
        var answers: [String] = []
        try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for (i, p) in prompts.enumerated() {
                group.addTask { (i, try await model.complete([.user(p)], Sampling(seed: 7)).choices[0].content) }
            }
            var got = [String](repeating: "", count: prompts.count)
            for try await (i, a) in group { got[i] = a }
            answers = got
        }
        XCTAssertEqual(answers, prompts.map { "echo: \($0)" })
        XCTAssertEqual(try server.stats()["requests"] as? Int, 10, "4 + 6: nothing asked twice")
        XCTAssertEqual(model.stats.hits, 4)
        XCTAssertEqual(model.stats.misses, 6)
        XCTAssertEqual(model.cache.count, 10)

        // Another sampling setting is another request.
        _ = try await model.complete([.user("problem 0")], Sampling(temperature: 1.0, seed: 7))
        XCTAssertEqual(try server.stats()["requests"] as? Int, 11)
    }

    func testUnwritableLocationIsAClearError() {
        XCTAssertThrowsError(try ResponseCache(path: "/proc/no/such/cache.sqlite")) { error in
            XCTAssertTrue(error.localizedDescription.contains("/proc/no/such"), error.localizedDescription)
        }
    }
}
