import Behaviors
import Crypto
import Foundation
import Pipelines
import Settings
import Teachers
import TestSupport
import World
import XCTest

/// The pipelines run the paper's protocol: the strategist reads the reasoning trace, subsets
/// are stratified samples, critique-and-revise is one pass, vanilla and BCI prompts differ only
/// by the behaviors block.
final class PaperProtocolTests: XCTestCase {
    let prompts = try! PromptSet()

    /// Problems whose traces the reasoning-teacher fixture names by a marker; the last one is cut
    /// off while thinking.
    let problems = (1...4).map { Problem(id: "p\($0)", problem: "What is \($0) times \($0 + 6)?", answer: "42", subject: "Algebra") }
        + [Problem(id: "cut", problem: "CUTOFF: a problem too long to finish", answer: "1", subject: "Algebra")]

    func marker(_ p: Problem) -> String {
        "TRACE-" + SHA256Hex.prefix8(p.problem)
    }

    func client(_ server: ScriptedServer) throws -> OpenAIClient {
        var c = OpenAIClient.Configuration(baseURLs: [server.url], model: "reasoning-teacher")
        c.maxAttempts = 2
        return try OpenAIClient(c)
    }

    /// Over HTTP, with the trace in `reasoning_content` and in `<think>` tags: each problem's
    /// reflection and behavior requests carry that problem's own trace and no other; a trace cut
    /// off mid-thought is not reflected on, and is counted.
    func testTheStrategistReadsEachProblemsOwnTraceOverHTTP() async throws {
        for arguments in [[], ["--think"]] {
            let server = try ScriptedServer(script: "Tests/PipelinesTests/Fixtures/reasoning_teacher_server.py", arguments: arguments)
            var book = Handbook()
            let (records, summary, failure) = try await ExtractPipeline.run(
                problems: problems, strategist: try client(server), sampling: Sampling(temperature: 0, maxTokens: 1024), prompts: prompts,
                handbook: &book, maxInFlight: 3)
            XCTAssertNil(failure)
            let requests = try XCTUnwrap(server.debug("/debug/requests") as? [String])
            let reflections = requests.filter { $0.contains("Reflect on the solution") }
            let behaviorRequests = requests.filter { $0.contains("behaviors worth keeping") }
            XCTAssertEqual(reflections.count, 4, "\(arguments): the cut-off trace is not reflected on")
            XCTAssertEqual(behaviorRequests.count, 4, "\(arguments)")
            for p in problems.dropLast() {
                let own = { (r: String) in r.contains(p.problem) }
                for kind in [reflections, behaviorRequests] {
                    let mine = kind.filter(own)
                    XCTAssertEqual(mine.count, 1, "\(arguments) \(p.id)")
                    XCTAssertTrue(mine[0].contains(marker(p) + ": first I restate"), "\(arguments) \(p.id): the trace reaches the strategist")
                    XCTAssertTrue(mine[0].contains("\\boxed{42}"), "and the answer after it")
                    for other in problems where other.id != p.id {
                        XCTAssertFalse(mine[0].contains(marker(other)), "\(arguments) \(p.id) holds \(other.id)'s trace")
                    }
                }
            }
            XCTAssertEqual(summary.traces, 5)
            XCTAssertEqual(summary.skippedUnfinished, 1, "\(arguments)")
            XCTAssertEqual(records.map(\.problemID).sorted(), ["p1", "p2", "p3", "p4"])
            for r in records {
                XCTAssertEqual(r.reasoning?.hasPrefix(marker(problems.first { $0.id == r.problemID }!)), true, "the record keeps the trace")
                XCTAssertEqual(r.solution, "The answer is \\boxed{42}.")
            }
            XCTAssertEqual(Set(book.behaviors.map(\.name)), Set(problems.dropLast().map { "behavior_" + marker($0).lowercased().replacingOccurrences(of: "-", with: "_") }),
                           "each behavior comes from its own trace")

            // include_unfinished reflects on the unfinished trace as well.
            var all = Handbook()
            let (withCut, s2, _) = try await ExtractPipeline.run(
                problems: problems, strategist: try client(server), sampling: Sampling(temperature: 0, maxTokens: 1024), includeUnfinished: true,
                prompts: prompts, handbook: &all, maxInFlight: 3)
            XCTAssertEqual(withCut.count, 5)
            XCTAssertEqual(s2.skippedUnfinished, 0)
            XCTAssertTrue(try XCTUnwrap(server.debug("/debug/requests") as? [String])
                .contains { $0.contains("Reflect on the solution") && $0.contains(marker(problems[4])) })
        }
    }

    /// `samples` traces per problem: each is reflected on, with its own seed.
    func testExtractReadsSeveralTracesPerProblem() async throws {
        let world = World(seed: 3).splits(train: 12, test: 0).train
            .map { Problem(id: $0.id, problem: $0.problem, answer: $0.answer, subject: $0.subject, level: $0.level) }
        let model = RecordingModel(ScriptedModel(seed: 1, derivedErrorRate: 0.3))
        var book = Handbook()
        let (records, summary, failure) = try await ExtractPipeline.run(
            problems: world, strategist: model, sampling: Sampling(temperature: 0.7, maxTokens: 400), samples: 3, prompts: prompts,
            handbook: &book, maxInFlight: 4)
        XCTAssertNil(failure)
        XCTAssertEqual(records.count, 36)
        XCTAssertEqual(summary.traces, 36)
        XCTAssertEqual(summary.problems, 12)
        XCTAssertEqual(Set(records.map { "\($0.problemID)#\($0.sample)" }).count, 36)
        let seeds = model.calls.filter { ScriptedModel.task(of: $0.prompt) == .solution }.map { $0.sampling.seed ?? -1 }
        XCTAssertEqual(Set(seeds), [0, 1, 2], "trace i is drawn with seed + i")
    }

    func testASampleIsStratifiedSeededAndInFileOrder() throws {
        // Seven subjects of unequal size, ordered by subject as MATH train is.
        let sizes = [("Algebra", 280), ("Counting & Probability", 120), ("Geometry", 130), ("Intermediate Algebra", 210),
                     ("Number Theory", 135), ("Prealgebra", 200), ("Precalculus", 125)]
        var all: [Problem] = []
        for (subject, n) in sizes {
            for i in 0..<n { all.append(Problem(id: "\(subject)/\(i)", problem: "q", subject: subject, level: String(1 + i % 5))) }
        }
        var selection = ProblemSelection()
        let drawn = selection.draw(70, from: all)
        XCTAssertEqual(drawn.count, 70)
        let counts = Dictionary(grouping: drawn, by: { $0.subject! }).mapValues(\.count)
        XCTAssertEqual(Set(counts.keys), Set(sizes.map(\.0)), "every subject is in the sample")
        for (subject, n) in sizes {
            XCTAssertEqual(Double(counts[subject]!), 70 * Double(n) / Double(all.count), accuracy: 1, subject)
        }
        let index = Dictionary(uniqueKeysWithValues: all.enumerated().map { ($1.id, $0) })
        XCTAssertEqual(drawn.map { index[$0.id]! }, drawn.map { index[$0.id]! }.sorted(), "file order is kept")
        XCTAssertEqual(selection.draw(70, from: all).map(\.id), drawn.map(\.id), "the same seed draws the same sample")
        selection.sampleSeed = 1
        XCTAssertNotEqual(selection.draw(70, from: all).map(\.id), drawn.map(\.id))
        selection.stratify = .level
        XCTAssertEqual(Set(selection.draw(10, from: all).map(\.level)), ["1", "2", "3", "4", "5"])
        XCTAssertEqual(selection.draw(5000, from: all).count, all.count, "a sample as large as the file is the file")
        // The first N of a file ordered by subject are one subject: what `limit` gives.
        XCTAssertEqual(Set(all.prefix(70).map(\.subject)), ["Algebra"])

        selection.sample = 70
        XCTAssertNoThrow(try selection.validate())
        selection.limit = 5
        XCTAssertThrowsError(try selection.validate()) { XCTAssertTrue("\($0)".contains("sample"), "\($0)") }
    }

    /// The example over the real MATH train file: a stratified sample of 70 gives a
    /// handbook with behaviors of all seven subjects, and the same seed the same problems.
    func testExtractSampleOverMATHTrainCoversEverySubject() throws {
        let math = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/data/benchmarks/math_train.jsonl")
        guard FileManager.default.fileExists(atPath: math.path) else {
            throw XCTSkip("\(math.path) is absent (it lives in ../shared beside the checkout)")
        }
        let server = try ScriptedServer(script: "Tests/PipelinesTests/Fixtures/reasoning_teacher_server.py")
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var problemSets: [[String]] = []
        for run in 0..<2 {
            let out = dir.appendingPathComponent("records\(run).jsonl"), book = dir.appendingPathComponent("handbook\(run).jsonl")
            let (status, _, err) = try runProcess(try bcsftExecutable(), [
                "extract", "--problems", math.path, "--sample", "70", "--sample-seed", "3", "--stratify", "subject",
                "--handbook", book.path, "--out", out.path, "--backend", "openai", "--base-url", server.url.absoluteString,
                "--model", "reasoning-teacher", "--max-tokens", "1024", "--no-cache"])
            XCTAssertEqual(status, 0, err)
            let topics = Set(try Handbook.load(book).behaviors.compactMap(\.topic))
            XCTAssertEqual(topics.count, 7, "\(topics)")
            let ids = try String(contentsOf: out, encoding: .utf8).split(separator: "\n").map {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
            }.map { $0["problem_id"] as! String }
            XCTAssertEqual(ids.count, 70)
            problemSets.append(ids.sorted())
        }
        XCTAssertEqual(problemSets[0], problemSets[1], "the same seed gives the same sample")
    }

    /// Vanilla and BCI requests share their instruction text word for word; an empty retrieval
    /// sends the vanilla prompt and is counted as a fallback.
    func testPromptsAreControlledAndAnEmptyRetrievalFallsBackToVanilla() async throws {
        let vanilla = try prompts.solve("Find x if 2x = 6.")
        let behaviors = [Behavior(name: "behavior_isolate", instruction: "Move terms to isolate the unknown.", createdBy: "s")]
        let bci = try prompts.solve("Find x if 2x = 6.", behaviors: behaviors)
        XCTAssertTrue(bci.hasSuffix("\n\n" + vanilla), "the BCI prompt is the behaviors block, then the vanilla prompt")
        let block = String(bci.dropLast(vanilla.count + 2))
        XCTAssertTrue(block.contains("behavior_isolate: Move terms to isolate the unknown."))
        XCTAssertFalse(block.contains("Find x"), "the block holds no instruction about the problem")
        XCTAssertEqual(try prompts.solve("Find x if 2x = 6.", behaviors: []), vanilla)

        var book = Handbook()
        _ = book.add(Behavior(name: "behavior_triangle_area", instruction: "Half base times height.", topic: "Geometry", createdBy: "s"))
        let selector = try await BehaviorSelector(handbook: book, method: .topic, k: 5)
        let geometry = Problem(id: "g", problem: "A triangle has base 4 and height 3. Its area?", answer: "6", subject: "Geometry")
        let algebra = Problem(id: "a", problem: "Find x if 2x = 6.", answer: "3", subject: "Algebra")
        let model = RecordingModel(ScriptedModel(seed: 1))
        let (records, failure) = await SolvePipeline.run(problems: [geometry, algebra], model: model, sampling: Sampling(temperature: 0),
                                                         samples: 1, prompts: prompts, selector: selector, maxInFlight: 1)
        XCTAssertNil(failure)
        let mode = Dictionary(uniqueKeysWithValues: records.map { ($0.problemID, $0.mode) })
        XCTAssertEqual(mode, ["g": "bci", "a": "vanilla_fallback"])
        XCTAssertEqual(SolvePipeline.modeCounts(records), ["bci": 1, "vanilla_fallback": 1])
        XCTAssertTrue(model.calls.map(\.prompt).contains(vanilla), "the algebra problem got the vanilla prompt")
    }

    /// Critique-and-revise is one request per first attempt and budget, (Q, R1) -> R2, and its
    /// critique is in the counted tokens; `samples` first attempts give pass@k.
    func testCritiqueAndReviseIsOnePassAndSamplesGivePassAtK() async throws {
        let test = World(seed: 5).splits(train: 0, test: 8).test
            .map { Problem(id: $0.id, problem: $0.problem, answer: $0.answer, subject: $0.subject, level: $0.level) }
        var settings = ImproveSettings()
        settings.sampling = Sampling(temperature: 0.7, maxTokens: 400)
        settings.budgets = [60, 400]
        settings.samples = 3
        settings.backend.maxInFlight = 4
        let exact: Verify = { response, gold in response.contains("\\boxed{\(gold)}") }
        let model = RecordingModel(ScriptedModel(seed: 1, derivedErrorRate: 0.3))
        let (records, points, failure) = await ImprovePipeline.run(problems: test, model: model, settings: settings, prompts: prompts, verify: exact)
        XCTAssertNil(failure)
        let tasks = model.calls.map { ScriptedModel.task(of: $0.prompt) }
        XCTAssertEqual(tasks.count(where: { $0 == .revise }), 8 * 3 * 2, "one request per first attempt and budget")
        XCTAssertEqual(tasks.count(where: { $0 == .critique }), 0, "no separate critique")
        XCTAssertEqual(tasks.count(where: { $0 == .solution }), 8 * 3, "3 first attempts per problem")
        XCTAssertEqual(records.count, 8 * 3 * 2 * 2)
        let revised = records.filter { $0.method == "critique_revise" && $0.budget == 400 }
        XCTAssertTrue(revised.allSatisfy { $0.response.contains("I checked") }, "the critique is part of R2, so its tokens are counted")
        for p in points {
            XCTAssertEqual(p.k, 3)
            XCTAssertGreaterThanOrEqual(p.passAtK!, p.accuracy!)
        }
        XCTAssertTrue(points.contains { $0.passAtK! > $0.accuracy! }, "pass@3 exceeds pass@1 somewhere with sloppy attempts")

        // The two-call variant counts the critique as feedback.
        settings.critiqueRevise = .twoCalls
        settings.samples = 1
        let two = RecordingModel(ScriptedModel(seed: 1, derivedErrorRate: 0.3))
        let (records2, _, _) = await ImprovePipeline.run(problems: test, model: two, settings: settings, prompts: prompts, verify: exact)
        XCTAssertEqual(two.calls.count(where: { ScriptedModel.task(of: $0.prompt) == .critique }), 8)
        XCTAssertTrue(records2.filter { $0.method == "critique_revise" }.allSatisfy { $0.feedbackTokens > 0 })
    }
}

/// A model that records every request it passes on.
final class RecordingModel: LanguageModel, @unchecked Sendable {
    struct Call { var prompt: String; var sampling: Sampling }
    let base: LanguageModel
    private let lock = NSLock()
    private var recorded: [Call] = []
    var name: String { base.name }
    var calls: [Call] { lock.withLock { recorded } }

    init(_ base: LanguageModel) { self.base = base }

    func complete(_ messages: [Message], _ sampling: Sampling) async throws -> Completion {
        lock.withLock { recorded.append(Call(prompt: messages.last?.content ?? "", sampling: sampling)) }
        return try await base.complete(messages, sampling)
    }
}

/// The fixture's marker: the first 8 hex digits of SHA-256 of the problem text.
enum SHA256Hex {
    static func prefix8(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).prefix(4).map { String(format: "%02x", $0) }.joined()
    }
}
