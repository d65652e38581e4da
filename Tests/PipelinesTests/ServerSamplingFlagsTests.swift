import Foundation
import Pipelines
import Settings
import TestSupport
import XCTest

/// Evaluating a student behind an OpenAI-compatible server (vLLM): the sampling fields such a
/// server reads beside OpenAI's (top_k, min_p, repetition_penalty, chat_template_kwargs) travel
/// from a command's flags and a stage's settings into every request, and only when given.
final class ServerSamplingFlagsTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func problems() throws -> URL {
        let url = dir.appendingPathComponent("problems.jsonl")
        try (#"{"id": "p0", "problem": "What is 2 + 2?", "answer": "4"}"# + "\n" + #"{"id": "p1", "problem": "What is 3 + 3?", "answer": "6"}"# + "\n")
            .write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func eval(_ server: ScriptedServer, _ flags: [String], out: String) throws -> (Int32, String) {
        let (status, _, err) = try runProcess(try bcsftExecutable(), [
            "eval", "--problems", try problems().path, "--out", dir.appendingPathComponent(out).path,
            "--backend", "openai", "--base-url", server.url.absoluteString, "--model", "student", "--no-cache", "--max-tokens", "64",
        ] + flags)
        return (status, err)
    }

    func testEvalFlagsReachEveryRequestOnlyWhenGiven() throws {
        let server = try ScriptedServer()
        var (status, err) = try eval(server, [], out: "plain")
        XCTAssertEqual(status, 0, err)
        (status, err) = try eval(server, ["--top-k", "20", "--min-p", "0.05", "--repetition-penalty", "1.1",
                                          "--chat-template-kwargs", "enable_thinking=false", "--chat-template-kwargs", "effort=low"], out: "set")
        XCTAssertEqual(status, 0, err)
        let bodies = try XCTUnwrap(server.stats()["bodies"] as? [[String: Any]])
        XCTAssertEqual(bodies.count, 4)
        let extra = ["top_k", "min_p", "repetition_penalty", "chat_template_kwargs"]
        XCTAssertEqual(bodies.prefix(2).flatMap { body in extra.filter { body[$0] != nil } }, [], "nothing beyond OpenAI's fields by default")
        for body in bodies.suffix(2) {
            XCTAssertEqual(body["top_k"] as? Int, 20)
            XCTAssertEqual(body["min_p"] as? Double, 0.05)
            XCTAssertEqual(body["repetition_penalty"] as? Double, 1.1)
            let kwargs = try JSONDecoder().decode([String: SettingValue].self, from: JSONSerialization.data(withJSONObject: try XCTUnwrap(body["chat_template_kwargs"])))
            XCTAssertEqual(kwargs, ["enable_thinking": false, "effort": "low"])
        }
    }

    func testBadValuesNameTheFlag() throws {
        let server = try ScriptedServer()
        for (flags, fragment) in [(["--chat-template-kwargs", "enable_thinking"], "--chat-template-kwargs 'enable_thinking': expected KEY=VALUE"),
                                  (["--min-p", "1"], "min_p (--min-p): must lie in [0, 1)"),
                                  (["--repetition-penalty", "0"], "repetition_penalty (--repetition-penalty): must be > 0")] {
            let (status, err) = try eval(server, flags, out: "bad")
            XCTAssertNotEqual(status, 0, "\(flags)")
            XCTAssertTrue(err.contains(fragment), "\(flags): \(err.prefix(400))")
        }
        XCTAssertEqual(try server.stats()["requests"] as? Int, 0, "refused before any request")
    }

    /// A stage writes the same settings as a map (`chat_template_kwargs: {enable_thinking: false}`).
    func testAStageTakesThemAsSettings() throws {
        let s = try EvalSettings.decode(["backend": ["kind": "openai", "base_url": "http://127.0.0.1:8000/v1", "model": "student"],
                                         "min_p": 0.05, "repetition_penalty": 1.1, "chat_template_kwargs": ["enable_thinking": false]])
        XCTAssertEqual(s.sampling.minP, 0.05)
        XCTAssertEqual(s.sampling.repetitionPenalty, 1.1)
        XCTAssertEqual(s.sampling.chatTemplateKwargs, ["enable_thinking": .bool(false)])
        for settings in [SolveSettings.keys, ExtractSettings.keys, ImproveSettings.keys, GenerateSettings.keys, EvalSettings.keys] {
            XCTAssertTrue(Set(["min_p", "repetition_penalty", "chat_template_kwargs"]).isSubset(of: settings), "\(settings)")
        }
    }
}
