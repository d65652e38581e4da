import Behaviors
import Foundation
import Pipelines
import Settings
import Teachers
import TestSupport
import World
import XCTest

/// The behavior pipelines end to end on the scripted offline world (in process).
final class BehaviorPipelineTests: XCTestCase {
    let teacher = ScriptedModel(seed: 1)
    let greedy = Sampling(temperature: 0, maxTokens: 400)
    let exact: Verify = { response, gold in response.contains("\\boxed{\(gold)}") }

    func problems(_ split: [WorldProblem]) -> [Problem] {
        split.map { Problem(id: $0.id, problem: $0.problem, answer: $0.answer, subject: $0.subject, level: $0.level) }
    }

    func testExtractBuildsADeduplicatedHandbookWithProvenance() async throws {
        let train = problems(World(seed: 2).splits(train: 60, test: 0).train)
        var book = Handbook()
        let (records, summary, failure) = try await ExtractPipeline.run(problems: train, strategist: teacher, sampling: greedy,
                                                                         prompts: try PromptSet(), handbook: &book, maxInFlight: 4)
        XCTAssertNil(failure)
        XCTAssertEqual(records.count, 60)
        XCTAssertEqual(summary.formats.values.reduce(0, +), 60)
        XCTAssertGreaterThan(summary.merged, summary.added, "recurring procedures merge")
        let names = Set(book.behaviors.map(\.name))
        for p in Procedure.allCases { XCTAssertTrue(names.contains { $0.hasPrefix(p.behaviorName) }, "\(p) missing from \(names)") }
        let perimeter = book.behaviors.first { $0.name.hasPrefix("behavior_rectangle_perimeter") }!
        XCTAssertGreaterThan(perimeter.sources.count, 5)
        XCTAssertEqual(perimeter.createdBy, "scripted-teacher")
        XCTAssertTrue(perimeter.promptVersion!.hasPrefix("prompts-"))
    }

    func testBCIRetrievesCitesAndSavesTokens() async throws {
        let (train, test) = World(seed: 2).splits(train: 60, test: 40)
        var book = Handbook()
        _ = try await ExtractPipeline.run(problems: problems(train), strategist: teacher, sampling: greedy, prompts: try PromptSet(),
                                          handbook: &book, maxInFlight: 4)
        let prompts = try PromptSet()
        let (vanilla, f1) = await SolvePipeline.run(problems: problems(test), model: teacher, sampling: greedy, samples: 1, prompts: prompts,
                                                    selector: nil, maxInFlight: 4)
        for method in [RetrievalMethod.bm25, .topic] {
            let selector = try await BehaviorSelector(handbook: book, method: method, k: 7)
            let (bci, f2) = await SolvePipeline.run(problems: problems(test), model: teacher, sampling: greedy, samples: 1, prompts: prompts,
                                                    selector: selector, maxInFlight: 4)
            XCTAssertNil(f1)
            XCTAssertNil(f2)
            XCTAssertEqual(bci.count, 40)
            XCTAssertGreaterThan(bci.filter { !$0.cited.isEmpty }.count, 30, "\(method)")
            let mean = { (rs: [SolveRecord]) in Double(rs.map(\.outputTokens).reduce(0, +)) / Double(rs.count) }
            XCTAssertLessThan(mean(bci), mean(vanilla) * 0.9, "\(method): BCI uses fewer tokens")
        }
    }

    func testImproveComparesBothMethodsAtEveryBudget() async throws {
        let test = problems(World(seed: 5).splits(train: 0, test: 30).test)
        var settings = ImproveSettings()
        settings.sampling = greedy
        settings.budgets = [30, 300]
        settings.backend.maxInFlight = 4
        let (records, points, failure) = await ImprovePipeline.run(problems: test, model: ScriptedModel(seed: 1, derivedErrorRate: 0.2),
                                                                  settings: settings, prompts: try PromptSet(), verify: exact)
        XCTAssertNil(failure)
        XCTAssertEqual(records.count, 30 * 2 * 2)
        XCTAssertEqual(points.count, 4)
        let at = { (m: String, b: Int) in points.first { $0.method == m && $0.budget == b }! }
        XCTAssertLessThanOrEqual(at("behavior_guided", 30).meanTokens, 30)
        XCTAssertTrue(records.filter { $0.budget == 30 }.allSatisfy { $0.outputTokens <= 30 })
        XCTAssertLessThan(at("behavior_guided", 300).meanTokens, at("critique_revise", 300).meanTokens)
        XCTAssertGreaterThan(at("critique_revise", 300).accuracy!, at("critique_revise", 30).accuracy!)
    }

    func testGenerateBCRecordsHoldTheQuestionOnlyAndFilterByCorrectness() async throws {
        let (train, _) = World(seed: 2).splits(train: 40, test: 0)
        var book = Handbook()
        _ = try await ExtractPipeline.run(problems: problems(train), strategist: teacher, sampling: greedy, prompts: try PromptSet(),
                                          handbook: &book, maxInFlight: 4)
        var options = GenerateSettings()
        options.filterCorrect = true
        options.samples = 2
        options.sampling = Sampling(temperature: 0.7, maxTokens: 400)
        options.backend.maxInFlight = 4
        let sloppy = ScriptedModel(seed: 1, derivedErrorRate: 0.3, citedErrorRate: 0.3)
        let (records, summary, _) = try await GeneratePipeline.run(
            problems: problems(train), teacher: sloppy, settings: options,
            prompts: try PromptSet(), selector: try await BehaviorSelector(handbook: book, method: .bm25, k: 5), verify: exact)
        XCTAssertEqual(summary.requested, 80)
        XCTAssertGreaterThan(summary.droppedIncorrect, 5)
        XCTAssertEqual(summary.kept + summary.droppedIncorrect, 80)
        let questions = Set(train.map(\.problem))
        for r in records {
            XCTAssertEqual(r.messages.map(\.role), ["user", "assistant"])
            XCTAssertTrue(questions.contains(r.messages[0].content), "the user turn is the bare question")
            XCTAssertEqual(r.meta.correct, true)
            XCTAssertEqual(r.meta.mode, "bci")
        }
        XCTAssertEqual(Set(records.map(\.id)).count, records.count)
    }

    func testBadProblemsFileNamesTheLine() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("p.jsonl")
        try "{\"id\": \"a\", \"problem\": \"x\", \"level\": 3}\n\n{\"id\": \"b\"}\n".write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Problem.load(url)) { e in
            XCTAssertEqual(e.localizedDescription, "\(url.path):3: field 'problem': missing")
        }
        try "{\"id\": \"a\", \"problem\": \"x\"}\n{\"id\": \"a\", \"problem\": \"y\"}\n".write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Problem.load(url)) { e in XCTAssertTrue(e.localizedDescription.contains(":2: id 'a' already used on line 1")) }
    }
}
