import Behaviors
import Settings
import Teachers
import XCTest
@testable import World

final class WorldTests: XCTestCase {
    func testSplitsAreSeededDisjointAndParseBack() {
        let w = World(seed: 3)
        let (train, test) = w.splits(train: 400, test: 100)
        XCTAssertEqual(train.count, 400)
        XCTAssertEqual(test.count, 100)
        XCTAssertTrue(Set(train.map(\.problem)).isDisjoint(with: test.map(\.problem)))
        XCTAssertEqual(w.splits(train: 400, test: 100).train.map(\.problem), train.map(\.problem))
        XCTAssertNotEqual(World(seed: 4).splits(train: 400, test: 100).train.map(\.problem), train.map(\.problem))
        for p in train + test {
            guard let q = World.parse(p.problem) else { return XCTFail("cannot parse \(p.problem)") }
            XCTAssertEqual(q.family.name, p.family)
            XCTAssertEqual(String(q.family.solve(q.values).last!), p.answer, p.problem)
        }
        XCTAssertEqual(Set(train.map(\.family)).count, Family.all.count)
        XCTAssertNil(World.parse("What is 2 + 2?"))
    }

    func testProceduresRecurAcrossFamilies() {
        var families: [Procedure: Set<String>] = [:]
        for f in Family.all { for s in f.plan { families[s.procedure, default: []].insert(f.name) } }
        XCTAssertEqual(Set(families.keys), Set(Procedure.allCases))
        for (p, fs) in families { XCTAssertGreaterThanOrEqual(fs.count, 2, "\(p) appears in one family only") }
    }

    func testTokensCountAndTruncate() {
        XCTAssertEqual(ScriptedTokens.count("12 + 3 = 15."), 8)
        let (cut, truncated) = ScriptedTokens.truncate("The answer is 42.", to: 4)
        XCTAssertEqual(cut, "The answer is 4")
        XCTAssertTrue(truncated)
        XCTAssertFalse(ScriptedTokens.truncate("short", to: 4).truncated)
    }

    func testArithmeticCheckFindsTheWrongStep() {
        XCTAssertNil(ArithmeticCheck.firstError(in: "3 × 4 = 12 and 12 + 5 = 17."))
        XCTAssertEqual(ArithmeticCheck.firstError(in: "3 × 4 = 12 and 12 − 5 = 8.")?.right, 7)
    }
}

final class ScriptedModelTests: XCTestCase {
    let problem = "A rectangle card is 3 cm long and 2 cm wide. What is its perimeter plus its area?"

    func ask(_ m: ScriptedModel, _ prompt: String, _ s: Sampling = Sampling(temperature: 0, maxTokens: 4096)) async throws -> Choice {
        try await m.complete([.user(prompt)], s).choices[0]
    }

    func testVanillaReDerivesAndBCICitesWithFewerTokens() async throws {
        let exact = ScriptedModel(derivedErrorRate: 0, citedErrorRate: 0)
        let vanilla = try await ask(exact, "Solve the following problem.\n\nProblem: \(problem)")
        XCTAssertTrue(vanilla.content.contains("\\boxed{16}"), vanilla.content)
        XCTAssertTrue(vanilla.content.contains("goes along the four sides"))
        let bci = try await ask(exact, """
        These behaviors may help with the problem below, one per line as name: instruction.
        behavior_rectangle_perimeter: \(Procedure.rectanglePerimeter.instruction)
        behavior_area_rule: \(Procedure.rectangleArea.instruction)

        Problem: \(problem)
        """)
        XCTAssertTrue(bci.content.contains("By behavior_rectangle_perimeter"), bci.content)
        XCTAssertTrue(bci.content.contains("By behavior_area_rule"), "a behavior is recognised by its instruction under any name")
        XCTAssertTrue(bci.content.contains("\\boxed{16}"))
        XCTAssertLessThan(ScriptedTokens.count(bci.content), ScriptedTokens.count(vanilla.content))
    }

    func testErrorsAreSeededAtTheStatedRate() async throws {
        let m = ScriptedModel(derivedErrorRate: 0.2, citedErrorRate: 0)
        let (train, _) = World(seed: 1).splits(train: 300, test: 0)
        var wrong = 0, steps = 0
        for p in train {
            let c = try await ask(m, "Problem: \(p.problem)")
            let again = try await ask(m, "Problem: \(p.problem)")
            XCTAssertEqual(c.content, again.content, "greedy is deterministic")
            if !c.content.contains("\\boxed{\(p.answer)}") { wrong += 1 }
            steps += Int(p.level.dropFirst(6))!
        }
        // P(no slip) over 2-3 steps at 0.2 per step: 0.64 or 0.51; some slips cancel out.
        let rate = Double(wrong) / Double(train.count)
        XCTAssertGreaterThan(rate, 0.25)
        XCTAssertLessThan(rate, 0.55)
        XCTAssertGreaterThan(steps, 600)
    }

    func testStrategistReflectsExtractsAndTheParserReadsIt() async throws {
        let m = ScriptedModel(derivedErrorRate: 0, citedErrorRate: 0)
        let solution = try await ask(m, "Problem: \(problem)").content
        let reflection = try await ask(m, "Reflect on the solution along three dimensions.\n\nProblem: \(problem)\n\nSolution:\n\(solution)").content
        XCTAssertTrue(reflection.contains("every arithmetic step checks out"))
        var names = Set<String>()
        for seed in 0..<20 {   // every output style the strategist uses must parse
            let m = ScriptedModel(seed: UInt64(seed))
            let raw = try await ask(m, "write down the behaviors worth keeping.\n\nProblem: \(problem)\n\nSolution:\n\(solution)\n\nReflection:\n\(reflection)").content
            let parsed = BehaviorParser.parse(raw)
            XCTAssertNotEqual(parsed.format, .unparseable, raw)
            names.formUnion(parsed.behaviors.map { Behavior.canonicalName($0.name) })
        }
        XCTAssertTrue(names.isSuperset(of: ["behavior_rectangle_perimeter", "behavior_rectangle_area", "behavior_combine_parts"]), "\(names)")
    }

    func testCritiqueFindsASlipAndReviseRedoesIt() async throws {
        let wrong = "Let me work. 3 + 2 = 5, so 5 + 5 = 10. 3 × 2 = 7 square cm. 10 + 7 = 17. The answer is \\boxed{17}."
        let critique = try await ask(ScriptedModel(), "Critique the solution.\n\nProblem: \(problem)\n\nAttempt:\n\(wrong)").content
        XCTAssertTrue(critique.contains("3 × 2 = 7 is wrong"), critique)
        let revised = try await ask(ScriptedModel(derivedErrorRate: 0), "Write an improved solution.\n\nProblem: \(problem)\n\nAttempt:\n\(wrong)\n\nCritique:\n\(critique)").content
        XCTAssertTrue(revised.contains("\\boxed{16}"), revised)
    }

    func testBudgetTruncatesAndReportsLength() async throws {
        let c = try await ScriptedModel().complete([.user("Problem: \(problem)")], Sampling(temperature: 0, maxTokens: 10))
        XCTAssertEqual(c.choices[0].finishReason, "length")
        XCTAssertEqual(c.usage?.completionTokens, 10)
        XCTAssertFalse(c.choices[0].content.contains("boxed"))
    }
}
