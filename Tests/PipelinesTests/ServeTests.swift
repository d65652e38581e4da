import Behaviors
import Foundation
import Pipelines
import Settings
import Teachers
import TestSupport
import World
import XCTest

/// `bcsft serve --scripted`: the offline world over real HTTP on loopback.
final class ServeTests: XCTestCase {
    func testScriptedWorldOverHTTPMatchesInProcess() async throws {
        let (p, url) = try startServe(["--scripted", "--world-seed", "4"])
        defer { p.terminate(); p.waitUntilExit() }
        XCTAssertEqual(url.host, "127.0.0.1")
        let client = try OpenAIClient(.init(baseURLs: [url], model: "scripted-teacher"))

        let (train, test) = World(seed: 9).splits(train: 20, test: 10)
        let problems = train.map { Problem(id: $0.id, problem: $0.problem, answer: $0.answer, subject: $0.subject) }
        let greedy = Sampling(temperature: 0, maxTokens: 300)
        var overHTTP = Handbook(), inProcess = Handbook()
        let (records, _, failure) = try await ExtractPipeline.run(problems: problems, strategist: client, sampling: greedy, prompts: try PromptSet(),
                                                                   handbook: &overHTTP, maxInFlight: 4)
        XCTAssertNil(failure)
        let (local, _, _) = try await ExtractPipeline.run(problems: problems, strategist: ScriptedModel(seed: 4), sampling: greedy,
                                                          prompts: try PromptSet(), handbook: &inProcess, maxInFlight: 4)
        XCTAssertEqual(records.map(\.solution), local.map(\.solution), "the server answers as the in-process world does")
        XCTAssertEqual(overHTTP.behaviors.map(\.name), inProcess.behaviors.map(\.name))

        // Embedding retrieval through /v1/embeddings.
        let selector = try await BehaviorSelector(handbook: overHTTP, method: .embedding, k: 3, embed: { try await client.embed($0) })
        let picked = try await selector.select(for: Problem(id: "t", problem: test[0].problem))
        XCTAssertEqual(picked.count, 3)
        XCTAssertGreaterThanOrEqual(picked[0].score, picked[2].score)

        let c = try await client.complete([.user("Problem: \(test[0].problem)")], Sampling(temperature: 0, maxTokens: 5))
        XCTAssertEqual(c.choices[0].finishReason, "length")
        XCTAssertEqual(c.usage?.completionTokens, 5)
    }

    /// bcsft clients stream long budgets by default: serve answers a stream with the same
    /// completion as a whole reply.
    func testServeStreamsTheSameCompletion() async throws {
        let (p, url) = try startServe(["--scripted", "--world-seed", "4"])
        defer { p.terminate(); p.waitUntilExit() }
        func client(_ stream: Streaming) throws -> OpenAIClient {
            var c = OpenAIClient.Configuration(baseURLs: [url], model: "scripted-teacher")
            c.stream = stream
            return try OpenAIClient(c)
        }
        let streamed = try client(.on), whole = try client(.off)
        let problem = World(seed: 9).splits(train: 1, test: 1).train[0].problem
        for s in [Sampling(temperature: 0, maxTokens: 300), Sampling(temperature: 0, maxTokens: 5), Sampling(temperature: 0.7, maxTokens: 300, n: 2, seed: 3)] {
            let a = try await streamed.complete([.user("Problem: \(problem)")], s)
            let b = try await whole.complete([.user("Problem: \(problem)")], s)
            XCTAssertEqual(a, b, "max_tokens \(s.maxTokens), n \(s.n)")
            XCTAssertEqual(a.choices.count, s.n)
            XCTAssertNotNil(a.usage)
            XCTAssertFalse(a.choices[0].content.isEmpty)
        }
    }
}
