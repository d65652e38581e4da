import Common
import Evaluation
import Foundation
import Pipelines
import Settings
import Teachers
import TestSupport
import XCTest

/// The generate pipeline against a real HTTP server on loopback that injects faults.
final class FaultToleranceTests: XCTestCase {
    func testEveryRecordCompletesExactlyOnceThroughInjectedFaults() async throws {
        let server = try ScriptedServer()
        var c = OpenAIClient.Configuration(baseURLs: [server.url], model: "scripted-teacher")
        c.timeout = 1.5
        c.maxAttempts = 5
        c.initialBackoff = 0.05
        c.maxInFlight = 4
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = CachedModel(try OpenAIClient(c), cache: try ResponseCache(path: dir.appendingPathComponent("cache.sqlite").path))
        let faults = ["FAIL429", "FAIL500", "TIMEOUT", "DROP", "TRUNC", "plain"]
        let problems = (0..<18).map { Problem(id: "p\($0)", problem: "question \($0) \(faults[$0 % faults.count])") }
        var settings = GenerateSettings()
        settings.sampling.temperature = 0
        settings.backend.maxInFlight = 4
        func run() async throws -> [GeneratedRecord] {
            let (records, _, failure) = try await GeneratePipeline.run(
                problems: problems, teacher: model, settings: settings, prompts: try PromptSet(), selector: nil, verify: nil)
            XCTAssertNil(failure)
            return records
        }
        let records = try await run()
        XCTAssertEqual(records.map(\.meta.problemID), problems.map(\.id), "every problem once, in order")
        for r in records { XCTAssertTrue(r.messages[1].content.hasPrefix("echo: "), r.messages[1].content) }
        let texts = try server.stats()["texts"] as! [String: Int]
        for p in problems {
            let sent = texts.first { $0.key.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix(p.problem) }?.value
            // A faulty request fails once and is retried; on a loaded machine a slow reply can
            // also time out and be retried, so these are lower bounds.
            XCTAssertGreaterThanOrEqual(sent ?? 0, p.problem.hasSuffix("plain") ? 1 : 2, "\(p.problem): one failure, then a retry")
        }
        let before = try server.stats()["requests"] as! Int
        let again = try await run()
        XCTAssertEqual(try server.stats()["requests"] as! Int, before, "a rerun is served from the cache")
        XCTAssertEqual(again.map(\.messages[1].content), records.map(\.messages[1].content))
    }

    func testKill9ThenRerunLosesNothingDuplicatesNothingAndResendsNothingFinished() throws {
        let server = try ScriptedServer()
        let bcsft = try bcsftExecutable()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let n = 24
        let problems = (0..<n).map { Problem(id: "q\($0)", problem: "SLOW question number \($0)") }
        try JSONLines.write(problems, to: dir.appendingPathComponent("problems.jsonl"))
        let out = dir.appendingPathComponent("out.jsonl")
        let secret = "sk-test-\(UUID().uuidString)"
        let args = ["generate", "--problems", dir.appendingPathComponent("problems.jsonl").path, "--out", out.path,
                    "--backend", "openai", "--base-url", server.url.absoluteString, "--model", "m", "--api-key-env", "BCSFT_TEST_KEY",
                    "--max-in-flight", "2", "--temperature", "0"]
        var env = ProcessInfo.processInfo.environment
        env["BCSFT_TEST_KEY"] = secret
        let p = try launch(bcsft, args, environment: env)
        // 24 requests of 0.3 s, 2 at a time, take 3.6 s; kill somewhere in the middle: once the
        // server has answered a few (however long the process took to start on a busy machine).
        let deadline = Date().addingTimeInterval(60)
        while (try server.stats()["requests"] as! Int) < 5, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        Thread.sleep(forTimeInterval: Double.random(in: 0.1...1.0))
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let cached = try ResponseCache(path: out.path + ".cache.sqlite").count
        let sentBefore = try server.stats()["requests"] as! Int
        XCTAssertGreaterThan(cached, 0)
        XCTAssertLessThan(cached, n, "killed before the end")
        let (status, _, err) = try runProcess(bcsft, args, environment: env)
        XCTAssertEqual(status, 0, err)
        let sentAfter = try server.stats()["requests"] as! Int
        XCTAssertEqual(sentAfter - sentBefore, n - cached, "only the unfinished requests are sent again")
        let ids = try JSONLines.read(GeneratedRecord.self, from: out).map(\.meta.problemID)
        XCTAssertEqual(ids, problems.map(\.id), "zero duplicates, zero missing")
        // The key went to the server and nowhere else.
        XCTAssertTrue((try server.stats()["auth"] as! [String?]).contains("Bearer \(secret)"))
        for file in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            let data = try Data(contentsOf: dir.appendingPathComponent(file))
            XCTAssertNil(data.range(of: Data(secret.utf8)), "\(file) holds the API key")
        }
    }
}
