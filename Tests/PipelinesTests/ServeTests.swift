import Behaviors
import Foundation
import Pipelines
import Teachers
import TestSupport
import World
import XCTest

/// `bcsft serve --scripted`: the offline world over real HTTP on loopback.
final class ServeTests: XCTestCase {
    func testScriptedWorldOverHTTPMatchesInProcess() async throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try bcsftExecutable())
        p.arguments = ["serve", "--scripted", "--port", "0", "--world-seed", "4"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        defer { p.terminate(); p.waitUntilExit() }
        var line = Data()
        while !line.contains(0x0A) {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { break }
            line.append(d)
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(text.hasPrefix("listening on http://127.0.0.1:"), text)
        let url = URL(string: String(text.dropFirst("listening on ".count)))!
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
}
