import Behaviors
import Foundation
import TestSupport
import XCTest

/// Retrieval as the paper does it, through `bcsft solve` against scripted OpenAI-compatible
/// servers on loopback: what the chat server is sent, and which server is asked for embeddings.
final class BCIRetrievalTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    static let question = "Solve the quadratic equation x^2 - 7x + 12 = 0 by factoring; give the larger root."

    /// Nine Algebra behaviors, the three relevant to the question last by name and least used
    /// (so neither the alphabetical nor the most-used cut keeps them), and three Geometry ones,
    /// one of them relevant by its words.
    static let algebra = [
        ("behavior_a_common_denominator", "Add fractions over a common denominator.", 10),
        ("behavior_b_exponent_rules", "Multiplying powers with equal bases adds exponents.", 10),
        ("behavior_c_absolute_value", "Split an absolute value into two cases.", 10),
        ("behavior_d_inequality_flip", "Flip an inequality when multiplying with a negative number.", 0),
        ("behavior_e_slope", "Slope is rise over run.", 0),
        ("behavior_f_distribute", "Distribute multiplication over each term inside parentheses.", 0),
        ("behavior_x_factor_quadratic", "Factor a quadratic equation into two linear factors to find its roots.", 0),
        ("behavior_y_larger_root", "When asked for the larger root, compare the roots after solving.", 0),
        ("behavior_z_quadratic_formula", "Solve a quadratic equation with the quadratic formula when factoring fails.", 0),
    ]
    static let geometry = [
        ("behavior_g_triangle_angles", "The interior angles of a triangle sum to 180 degrees.", 0),
        ("behavior_h_circle_area", "A circle's area is pi times its radius squared.", 0),
        ("behavior_i_quadratic_area", "Write an area as a quadratic equation in the side length.", 0),
    ]

    func write(handbook entries: [(String, String, Int, String)], problems: [(String, String)]) throws -> (URL, URL) {
        let book = Handbook(entries.map { Behavior(name: $0.0, instruction: $0.1, topic: $0.3, createdBy: "test", uses: $0.2) })
        let handbook = dir.appendingPathComponent("handbook.jsonl")
        try book.save(handbook)
        let lines = try problems.enumerated().map { i, p in
            String(decoding: try JSONSerialization.data(withJSONObject: ["id": "p\(i)", "problem": p.0, "answer": "4", "subject": p.1], options: [.sortedKeys]), as: UTF8.self)
        }
        let url = dir.appendingPathComponent("problems.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return (handbook, url)
    }

    func solve(chat: ScriptedServer, _ args: [String], handbook: URL, problems: URL) throws -> (Int32, String) {
        let (status, _, err) = try runProcess(try bcsftExecutable(), [
            "solve", "--problems", problems.path, "--out", dir.appendingPathComponent("out.jsonl").path, "--handbook", handbook.path,
            "--backend", "openai", "--base-url", chat.url.absoluteString, "--model", "chat-model", "--no-cache",
        ] + args)
        return (status, err)
    }

    /// The BCI prompts the chat server was sent (its last user texts).
    func prompts(_ server: ScriptedServer) throws -> [String] {
        Array((try server.stats()["texts"] as? [String: Int] ?? [:]).keys)
    }

    func listed(_ prompt: String) -> Set<String> {
        Set(prompt.split(separator: "\n").compactMap { line in line.hasPrefix("behavior_") ? line.split(separator: ":").first.map(String.init) : nil })
    }

    func testTopicPromptsListEveryBehaviorOfTheQuestionsSubject() throws {
        let entries = Self.algebra.map { ($0.0, $0.1, $0.2, "Algebra") } + Self.geometry.map { ($0.0, $0.1, $0.2, "Geometry") }
        let (handbook, problems) = try write(handbook: entries, problems: [(Self.question, "algebra")])

        let chat = try ScriptedServer()
        let (status, err) = try solve(chat: chat, ["--retrieval", "topic"], handbook: handbook, problems: problems)
        XCTAssertEqual(status, 0, err)
        let sent = try prompts(chat)
        XCTAssertEqual(sent.count, 1)
        XCTAssertEqual(listed(sent[0]), Set(Self.algebra.map(\.0)), "every behavior of the subject, none of another")
        XCTAssertTrue(sent[0].contains(Self.question))

        // A cap keeps the most relevant to the question.
        let capped = try ScriptedServer()
        let (status3, err3) = try solve(chat: capped, ["--retrieval", "topic", "--k", "3"], handbook: handbook, problems: problems)
        XCTAssertEqual(status3, 0, err3)
        XCTAssertEqual(listed(try XCTUnwrap(try prompts(capped).first)),
                       ["behavior_x_factor_quadratic", "behavior_y_larger_root", "behavior_z_quadratic_formula"])
    }

    func testEmbeddingRetrievalAsksTheNamedEmbeddingServerNotTheChatServer() throws {
        // 70 behaviors: more than one request's worth (32 inputs each).
        let entries = (0..<70).map { ("behavior_step_\($0)", "Step \($0): " + String(repeating: "check ", count: $0 % 9 + 1), 0, "Algebra") }
        let (handbook, problems) = try write(handbook: entries, problems: [(Self.question, "Algebra"), ("What is 2 + 2?", "Prealgebra")])
        let chat = try ScriptedServer(), embeddings = try ScriptedServer()
        let (status, err) = try solve(chat: chat, ["--retrieval", "embedding", "--embed-base-url", embeddings.url.absoluteString, "--embed-model", "bge-m3", "--samples", "2"],
                                      handbook: handbook, problems: problems)
        XCTAssertEqual(status, 0, err)

        let e = try embeddings.stats(), c = try chat.stats()
        // The handbook in 3 requests, then each question once, not once per sample.
        XCTAssertEqual(e["paths"] as? [String: Int], ["/v1/embeddings": 3 + 2])
        XCTAssertEqual(e["models"] as? [String: Int], ["bge-m3": 5])
        XCTAssertEqual(c["paths"] as? [String: Int], ["/v1/chat/completions": 2 * 2], "the chat server is never asked for embeddings")
        // The paper's top 40.
        for prompt in try prompts(chat) { XCTAssertEqual(listed(prompt).count, 40) }
    }

    func testEmbeddingRetrievalWithoutAnEmbeddingServerStopsBeforeAskingAnyone() throws {
        let (handbook, problems) = try write(handbook: [("behavior_a", "Do a thing.", 0, "Algebra")], problems: [(Self.question, "Algebra")])
        let chat = try ScriptedServer()
        let (status, err) = try solve(chat: chat, ["--retrieval", "embedding"], handbook: handbook, problems: problems)
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(err.contains("embedding.base_url (--embed-base-url): missing: embedding retrieval needs an embedding server"), err)
        XCTAssertEqual(try chat.stats()["requests"] as? Int, 0)
    }
}
