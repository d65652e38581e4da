@testable import Evaluation
import Common
import Foundation
import TestSupport
import XCTest

/// Runs grouped into arms (seeds) and the difference over seeds and problems.
final class ArmComparisonTests: XCTestCase {
    /// One run: `correct(problem)` at each budget, one sample per problem.
    func run(_ arm: String, _ name: String, problems: [String], budgets: [Int] = [128], correct: (Int) -> Bool) throws -> ReportRun {
        let samples = budgets.flatMap { budget in
            problems.enumerated().map { i, p in sample(p, 0, correct: correct(i), tokens: 10 + i, budget: budget, arm: arm) }
        }
        return try ReportRun(label: arm, name: name, samples: samples)
    }

    let problems = (0..<40).map { "p\($0)" }

    /// Scrambled but deterministic correctness: a problem and seed index to right or wrong.
    func mixed(_ seed: Int, rate: Int) -> (Int) -> Bool { { i in (i * 7919 + seed * 104_729) % 100 < rate } }

    func testRunsWithOneLabelAreSeedsOfOneArmInFirstSeenOrder() throws {
        let runs = [try run("bc", "bc0", problems: problems) { _ in true }, try run("vanilla", "v0", problems: problems) { _ in false },
                    try run("bc", "bc1", problems: problems) { _ in false }]
        let arms = Arm.group(runs)
        XCTAssertEqual(arms.map(\.label), ["bc", "vanilla"])
        XCTAssertEqual(arms.map { $0.runs.map(\.name) }, [["bc0", "bc1"], ["v0"]])
        let c = try XCTUnwrap(try Report.armComparison(runs))
        XCTAssertEqual(c.runsA, ["bc0", "bc1"])
        XCTAssertEqual(c.budgets[0].seedsA, [1, 0])
        XCTAssertEqual(c.budgets[0].accuracyA, 0.5)
        XCTAssertEqual(c.budgets[0].difference.value, 0.5)
        // One run per arm: no comparison over seeds, the paired comparison as before.
        XCTAssertNil(try Report.armComparison(Array(runs.prefix(2))))
        XCTAssertNotNil(Report.pairedComparison(Array(runs.prefix(2))))
        XCTAssertNil(Report.pairedComparison([runs[0], runs[2]]), "two seeds of one arm are not two arms")
    }

    func testWithOneSeedPerArmTheIntervalIsThePairedProblemBootstrap() throws {
        let a = try run("bc", "a", problems: problems, correct: mixed(1, rate: 60))
        let b = try run("vanilla", "b", problems: problems, correct: mixed(2, rate: 45))
        let c = try ArmComparison(Arm(label: "bc", runs: [a]), Arm(label: "vanilla", runs: [b]))
        let paired = try PairedComparison(a.samples, b.samples, labels: ("bc", "vanilla"))
        XCTAssertEqual(c.budgets[0].difference.value, paired.accuracyDifference.value, accuracy: 1e-12)
        XCTAssertEqual(c.budgets[0].difference.ci.low, paired.accuracyDifference.ci.low, accuracy: 1e-9)
        XCTAssertEqual(c.budgets[0].difference.ci.high, paired.accuracyDifference.ci.high, accuracy: 1e-9)
        XCTAssertLessThan(c.budgets[0].difference.ci.low, c.budgets[0].difference.ci.high, "problems vary, so the interval has width")
    }

    func testSeedsThatDisagreeWidenTheIntervalWhereProblemsAgree() throws {
        // Arm A: seeds right on everything, on nothing, on everything; every problem is 2/3 right
        // over seeds, so a bootstrap over problems alone sees no spread at all.
        let seedsA = try [true, false, true].enumerated().map { i, right in try run("a", "a\(i)", problems: problems) { _ in right } }
        let seedsB = try (0..<3).map { i in try run("b", "b\(i)", problems: problems) { _ in false } }
        let problemOnly = try PairedComparison(seedsA.flatMap(\.samples).enumerated().map { i, s in var s = s; s.sample = i; return s },
                                               seedsB.flatMap(\.samples).enumerated().map { i, s in var s = s; s.sample = i; return s })
        XCTAssertEqual(problemOnly.accuracyDifference.ci.high - problemOnly.accuracyDifference.ci.low, 0, accuracy: 1e-12)

        let c = try ArmComparison(Arm(label: "a", runs: seedsA), Arm(label: "b", runs: seedsB))
        let d = c.budgets[0].difference
        XCTAssertEqual(d.value, 2.0 / 3, accuracy: 1e-12)
        XCTAssertGreaterThan(d.ci.high - d.ci.low, 0.5, "three seeds, one of them wholly wrong: the seed draw spreads the mean")
        XCTAssertTrue(d.ci.contains(0), "a draw of only the failing seed is likely enough to reach the 2.5% tail")

        // The same means from seeds that agree: narrower.
        let agreeing = try (0..<3).map { i in try run("a", "a\(i)", problems: problems) { p in p % 3 != 0 } }
        let narrow = try ArmComparison(Arm(label: "a", runs: agreeing), Arm(label: "b", runs: seedsB)).budgets[0].difference
        XCTAssertLessThan(narrow.ci.high - narrow.ci.low, d.ci.high - d.ci.low)
    }

    func testTheIntervalIsReproducibleAndFollowsTheBootstrapSeed() throws {
        let arms = try [Arm(label: "a", runs: (0..<3).map { try run("a", "a\($0)", problems: problems, correct: mixed($0, rate: 55)) }),
                        Arm(label: "b", runs: (0..<3).map { try run("b", "b\($0)", problems: problems, correct: mixed($0 + 5, rate: 40)) })]
        let first = try ArmComparison(arms[0], arms[1]), again = try ArmComparison(arms[0], arms[1])
        XCTAssertEqual(first, again)
        let other = try ArmComparison(arms[0], arms[1], bootstrap: BootstrapOptions(seed: 99))
        XCTAssertNotEqual(first.budgets[0].difference.ci, other.budgets[0].difference.ci)
        XCTAssertEqual(first.budgets[0].difference.value, other.budgets[0].difference.value)
    }

    func testArmsOnDifferentProblemsAreAnErrorNamingTheRuns() throws {
        let a = try (0..<2).map { i in try run("bc", "eval_bc_s\(i)", problems: problems) { _ in true } }
        let b = try run("vanilla", "eval_vanilla_s0", problems: Array(problems.dropLast()) + ["other"]) { _ in true }
        XCTAssertThrowsError(try ArmComparison(Arm(label: "bc", runs: a), Arm(label: "vanilla", runs: [b]))) { error in
            guard case let .problemSetsDiffer(first, other, detail) = error as? EvaluationError else { return XCTFail("\(error)") }
            XCTAssertEqual(first, "bc (eval_bc_s0)")
            XCTAssertEqual(other, "vanilla (eval_vanilla_s0)")
            XCTAssertTrue(detail.contains("2 problem(s) are in one run only"), detail)
        }
        let fewerBudgets = try run("vanilla", "v", problems: problems, budgets: [128, 256]) { _ in true }
        XCTAssertThrowsError(try ArmComparison(Arm(label: "bc", runs: a), Arm(label: "vanilla", runs: [fewerBudgets]))) { error in
            XCTAssertTrue(error.localizedDescription.contains("budgets 256 are in one run only"), error.localizedDescription)
        }
        // The report says so instead of leaving the comparison out.
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try Report.write(runs: a + [b], to: dir))
    }

    func testSeededReportShowsEachArmOverSeedsTheDifferenceAndAChart() throws {
        let runs = try (0..<3).map { try run("bc-sft", "eval_bc_s\($0)", problems: problems, budgets: [96, 256], correct: mixed($0, rate: 70)) }
            + (0..<3).map { try run("vanilla-sft", "eval_vanilla_s\($0)", problems: problems, budgets: [96, 256], correct: mixed($0 + 3, rate: 40)) }
        let md = Report.markdown(runs: runs)
        XCTAssertTrue(md.contains("## Arms over seeds"), md)
        let perSeed = runs.prefix(3).map { Report.percent($0.summary.budgets[0].accuracy) }.joined(separator: ", ")
        XCTAssertTrue(md.contains("| bc-sft | 3 | 96 |") && md.contains(perSeed), md)
        XCTAssertTrue(md.contains("## bc-sft − vanilla-sft over seeds and problems"), md)
        XCTAssertTrue(md.contains("covers both the training seed and the choice of problems"), md)
        XCTAssertTrue(md.contains("| bc-sft [eval_bc_s1] |"), "per-run tables name each seed")
        XCTAssertFalse(md.contains("Paired comparison"))
        let html = Report.html(runs: runs)
        XCTAssertTrue(html.contains("Accuracy by budget (line: mean over seeds; dots: each seed)"))
        // Two means drawn as lines; the seeds as dots only: 6 runs × 2 budgets + 2 arms × 2 means.
        let chart = try XCTUnwrap(html.components(separatedBy: "<figure>").first { $0.contains("dots: each seed") })
        XCTAssertEqual(chart.components(separatedBy: "<polyline").count - 1, 2)
        XCTAssertEqual(chart.components(separatedBy: "<circle cx").count - 1, 12 + 4 + 2, "markers and the two dot legends")
    }
}
