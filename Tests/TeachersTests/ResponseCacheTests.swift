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
        ] {
            XCTAssertNotEqual(base, other)
        }
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
