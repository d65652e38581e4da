@testable import Evaluation
import Common
import XCTest

func sample(_ problem: String, _ index: Int, correct: Bool, tokens: Int, budget: Int = 1000, subject: String? = nil,
            level: String? = nil, truncated: Bool = false, arm: String? = nil) -> EvalSample {
    EvalSample(problemID: problem, subject: subject, level: level, budget: budget, sample: index, response: "\\boxed{1}",
               extracted: "1", extraction: .found, gold: correct ? "1" : "2", correct: correct,
               reason: correct ? "string" : "numeric", outputTokens: tokens, truncated: truncated, arm: arm)
}

final class MetricsTests: XCTestCase {
    // MARK: pass@k

    /// 1 − (subsets of k with no correct sample) / (all subsets of k), by enumeration.
    func combinatorialPassAtK(n: Int, c: Int, k: Int) -> Double {
        var total = 0, hit = 0
        for mask in 0..<(1 << n) where mask.nonzeroBitCount == k {
            total += 1
            if (0..<c).contains(where: { mask & (1 << $0) != 0 }) { hit += 1 }  // samples 0..<c are the correct ones
        }
        return Double(hit) / Double(total)
    }

    func testPassAtKMatchesTheCombinatorialDefinition() {
        XCTAssertEqual(PassAtK.estimate(n: 5, c: 2, k: 2), 0.7, accuracy: 1e-12)  // 1 − C(3,2)/C(5,2) = 1 − 3/10
        XCTAssertEqual(PassAtK.estimate(n: 4, c: 1, k: 1), 0.25, accuracy: 1e-12)
        XCTAssertEqual(PassAtK.estimate(n: 3, c: 0, k: 2), 0)
        XCTAssertEqual(PassAtK.estimate(n: 4, c: 3, k: 2), 1)
        for n in 1...8 {
            for c in 0...n {
                for k in 1...n {
                    XCTAssertEqual(PassAtK.estimate(n: n, c: c, k: k), combinatorialPassAtK(n: n, c: c, k: k), accuracy: 1e-12, "n=\(n) c=\(c) k=\(k)")
                }
            }
        }
    }

    func testPassAtKStaysFiniteForLargeN() {
        // C(1000, 500) overflows a Double; the product form does not need it.
        let p = PassAtK.estimate(n: 1000, c: 3, k: 500)
        XCTAssertEqual(p, 1 - (500.0 * 499 * 498) / (1000.0 * 999 * 998), accuracy: 1e-12)
        XCTAssertEqual(PassAtK.reportedKs(samplesPerProblem: 6), [1, 2, 4, 6])
        XCTAssertEqual(PassAtK.reportedKs(samplesPerProblem: 8), [1, 2, 4, 8])
    }

    // MARK: descriptive statistics

    func testMedianAndP90Definitions() {
        XCTAssertEqual(Statistics.median([3, 1, 2]), 2)
        XCTAssertEqual(Statistics.median([4, 1, 3, 2]), 2.5)  // mean of the two middle values
        // type 7: position 0.9·(10 − 1) = 8.1 in 1...10 sorted → 9 + 0.1·(10 − 9)
        XCTAssertEqual(Statistics.quantile((1...10).map(Double.init), 0.9), 9.1, accuracy: 1e-12)
        XCTAssertEqual(Statistics.standardDeviation([1, 0.5])!, 0.125.squareRoot(), accuracy: 1e-12)  // ((0.25)² + (0.25)²) / (2 − 1)
        XCTAssertNil(Statistics.standardDeviation([1]))
    }

    // MARK: summary

    func testSummaryOfAHandExample() throws {
        let samples = [
            sample("p1", 0, correct: true, tokens: 100, subject: "Algebra", level: "2"),
            sample("p1", 1, correct: false, tokens: 300, subject: "Algebra", level: "2", truncated: true),
            sample("p2", 0, correct: true, tokens: 200, subject: "Geometry", level: "10"),
            sample("p2", 1, correct: true, tokens: 400, subject: "Geometry", level: "10"),
        ]
        let s = try Summary(samples: samples)
        XCTAssertEqual(s.problems, 2)
        XCTAssertEqual(s.samplesPerProblem, 2)
        XCTAssertEqual(s.accuracy, 0.75)  // (1/2 + 2/2) / 2
        // per sample index: index 0 → 1.0, index 1 → 0.5; sd = sqrt(((0.25)² + (0.25)²) / 1)
        XCTAssertEqual(s.accuracyStd!, 0.125.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(s.passAtK.map(\.k), [1, 2])
        XCTAssertEqual(s.passAtK[0].value, 0.75, accuracy: 1e-12)
        XCTAssertEqual(s.passAtK[1].value, 1.0, accuracy: 1e-12)
        XCTAssertEqual(s.outputTokens.mean, 250)
        XCTAssertEqual(s.outputTokens.median, 250)
        XCTAssertEqual(s.outputTokens.p90, 370, accuracy: 1e-9)  // 300 + 0.7·100
        XCTAssertEqual(s.truncationRate, 0.25)
        XCTAssertEqual(s.bySubject.map(\.name), ["Algebra", "Geometry"])
        XCTAssertEqual(s.bySubject.map(\.accuracy), [0.5, 1.0])
        XCTAssertEqual(s.byLevel.map(\.name), ["2", "10"], "levels sort as numbers")
        XCTAssertEqual(s.budgets.count, 1)
        XCTAssertTrue(s.accuracyCI.low <= s.accuracy && s.accuracy <= s.accuracyCI.high)
        XCTAssertThrowsError(try Summary(samples: []))
    }

    func testBudgetPointsForCurves() throws {
        var samples: [EvalSample] = []
        for p in 0..<4 {
            samples.append(sample("p\(p)", 0, correct: p == 0, tokens: 2000, budget: 2048, truncated: true))
            samples.append(sample("p\(p)", 0, correct: p < 3, tokens: 3000 + p, budget: 4096))
        }
        let s = try Summary(samples: samples)
        XCTAssertEqual(s.budgets.map(\.budget), [2048, 4096])
        XCTAssertEqual(s.budgets.map(\.accuracy), [0.25, 0.75])
        XCTAssertEqual(s.budgets[1].outputTokens.mean, 3001.5)
        XCTAssertEqual(s.budgets.map(\.truncationRate), [1, 0])
        XCTAssertEqual(s.accuracy, 0.5)
    }

    func manyProblems(_ count: Int, seed: UInt64) -> [EvalSample] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).flatMap { p in
            (0..<4).map { i in sample("p\(p)", i, correct: rng.next() % 3 != 0, tokens: 100 + Int(rng.next() % 900)) }
        }
    }

    func testBootstrapIsReproducibleBySeedAndChangesWithIt() throws {
        let samples = manyProblems(40, seed: 7)
        let a = try Summary(samples: samples, bootstrap: BootstrapOptions(seed: 1))
        let b = try Summary(samples: samples, bootstrap: BootstrapOptions(seed: 1))
        let c = try Summary(samples: samples, bootstrap: BootstrapOptions(seed: 2))
        XCTAssertEqual(a.accuracyCI, b.accuracyCI)
        XCTAssertNotEqual(a.accuracyCI, c.accuracyCI)
        XCTAssertTrue(a.accuracyCI.contains(a.accuracy))
        XCTAssertLessThan(a.accuracyCI.high - a.accuracyCI.low, 0.4)
        XCTAssertGreaterThan(a.accuracyCI.high - a.accuracyCI.low, 0)
    }

    // MARK: paired comparison

    func testPairedComparisonOfAHandExample() throws {
        let a = [sample("p1", 0, correct: true, tokens: 100), sample("p2", 0, correct: true, tokens: 200), sample("p3", 0, correct: false, tokens: 300)]
        let b = [sample("p1", 0, correct: true, tokens: 150), sample("p2", 0, correct: false, tokens: 250), sample("p3", 0, correct: false, tokens: 500),
                 sample("p4", 0, correct: true, tokens: 10)]  // not in A: ignored
        let p = try PairedComparison(a, b, labels: ("bc", "vanilla"))
        XCTAssertEqual(p.sharedProblems, 3)
        XCTAssertEqual(p.accuracyA, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(p.accuracyB, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(p.accuracyDifference.value, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(p.tokenDifference.value, -100, accuracy: 1e-9)  // 200 − 300
        // per-problem differences are 0, 1, 0 and −50, −50, −200: resampled means stay inside
        XCTAssertTrue(p.accuracyDifference.ci.low >= 0 && p.accuracyDifference.ci.high <= 1)
        XCTAssertTrue(p.tokenDifference.ci.low >= -200 && p.tokenDifference.ci.high <= -50)
        XCTAssertTrue(p.tokenDifference.isSignificant)
        XCTAssertTrue(p.sentence.contains("bc uses 100 fewer output tokens"), p.sentence)
    }

    func testPairedSentenceNamesTheWinnerOrSaysTheIntervalIncludesZero() throws {
        let base = manyProblems(50, seed: 3)
        let better = base.map { s -> EvalSample in var t = s; t.correct = true; return t }
        let win = try PairedComparison(better, base, labels: ("bc-sft", "sft"))
        XCTAssertTrue(win.accuracyDifference.isSignificant)
        XCTAssertTrue(win.sentence.contains("bc-sft is more accurate than sft by"), win.sentence)
        let tie = try PairedComparison(base, base, labels: ("x", "y"))
        XCTAssertEqual(tie.accuracyDifference.value, 0)
        XCTAssertTrue(tie.sentence.contains("includes 0"), tie.sentence)
    }

    func testPairedComparisonNeedsSharedProblems() {
        let a = [sample("p1", 0, correct: true, tokens: 1)], b = [sample("p2", 0, correct: true, tokens: 1)]
        XCTAssertThrowsError(try PairedComparison(a, b, labels: ("a", "b"))) { error in
            XCTAssertEqual(error as? EvaluationError, .noSharedProblems(a: "a", b: "b"))
            XCTAssertTrue(error.localizedDescription.contains("share no"))
        }
        // same problem at a different budget is not shared either
        let c = [sample("p1", 0, correct: true, tokens: 1, budget: 2048)]
        XCTAssertThrowsError(try PairedComparison(a, c))
    }

    // MARK: formats

    func testSampleJSONKeysAreTheOnDiskFormat() throws {
        let line = try JSONLines.line(sample("p1", 3, correct: true, tokens: 12))
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        XCTAssertEqual(Set(object.keys), ["problem_id", "subject", "level", "budget", "sample", "response", "extracted", "extraction",
                                          "gold", "correct", "reason", "output_tokens", "truncated", "arm"])
        XCTAssertTrue(object["subject"] is NSNull, "absent optionals are written as null")
        let decoded = try JSONDecoder().decode(EvalSample.self, from: Data(#"{"problem_id":"x","budget":2048,"sample":0,"response":"r","extracted":null,"extraction":"truncated","gold":"1","correct":false,"reason":"truncated","output_tokens":2048,"truncated":true}"#.utf8))
        XCTAssertEqual(decoded.extraction, .truncated)
        XCTAssertNil(decoded.arm)
    }

    func testSummaryJSONUsesSnakeCaseAndRoundTrips() throws {
        let s = try Summary(samples: manyProblems(5, seed: 1))
        let data = try JSONEncoder().encode(s)
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        for key in ["accuracy", "accuracy_ci", "accuracy_std", "pass_at_k", "output_tokens", "truncation_rate", "no_answer_rate",
                    "by_subject", "by_level", "budgets", "samples_per_problem", "bootstrap"] {
            XCTAssertNotNil(object[key], key)
        }
        XCTAssertEqual(try JSONDecoder().decode(Summary.self, from: data), s)
    }

    func testGradingInitFillsTheVerdict() {
        let s = EvalSample(problemID: "p", budget: 100, sample: 0, response: "so \\boxed{\\frac12}", gold: "0.5",
                           outputTokens: 9, truncated: false, grader: Grader())
        XCTAssertTrue(s.correct)
        XCTAssertEqual(s.extracted, "\\frac12")
        XCTAssertEqual(s.extraction, .found)
    }
}
