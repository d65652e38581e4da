import Evaluation
import Foundation
import XCTest

/// Untrusted text cannot drive the grader into the ground: what it refuses to parse is graded
/// wrong with a reason that says so, never a crash and never minutes of work.
final class GraderLimitsTests: XCTestCase {
    let grader = Grader()

    /// The verdict and the CPU seconds it took.
    func timed(_ pred: String, _ gold: String) -> (Verdict, Double) {
        let start = threadCPUSeconds()
        let v = grader.grade(pred: pred, gold: gold)
        return (v, threadCPUSeconds() - start)
    }

    func nested(_ depth: Int, _ open: String, _ close: String, around inner: String = "1") -> String {
        String(repeating: open, count: depth) + inner + String(repeating: close, count: depth)
    }

    // MARK: nesting and size (a cached model output must not crash every rerun of eval)

    func testDeepNestingInsideABoxIsRefusedNotACrash() {
        for (open, close) in [("(", ")"), ("{", "}"), ("[", "]"), (#"\{"#, #"\}"#), (#"\left("#, #"\right)"#)] {
            let (v, seconds) = timed(#"\boxed{"# + nested(20_000, open, close) + "}", "1")
            XCTAssertFalse(v.correct, open)
            XCTAssertTrue(v.reason.contains("not parsed"), "\(open): \(v.reason)")
            XCTAssertLessThan(seconds, 2, open)
        }
    }

    func testNestingPastTheLimitSaysSoForEitherSide() {
        let deep = #"\boxed{"# + nested(150, "(", ")") + "}"
        let v = grader.grade(pred: deep, gold: "1")
        XCTAssertFalse(v.correct)
        XCTAssertEqual(v.reason, "prediction nests deeper than 100 levels; not parsed")
        let g = grader.grade(pred: "1", gold: nested(150, "{", "}"))
        XCTAssertFalse(g.correct)
        XCTAssertEqual(g.reason, "gold nests deeper than 100 levels; not parsed")
        // nesting within the limit is still graded
        XCTAssertTrue(grader.grade(pred: nested(90, "(", ")"), gold: "1").correct)
    }

    func testNestingThatIsNotBracketsIsBoundedToo() {
        // bars, signs, function arguments and exponent towers recurse in the parser without a
        // bracket; long ones (a chain of 2,000 is deep too) are past the token limit
        for (count, reason) in [(300, "nests deeper than 100 levels"), (2_000, "tokens, over the 1000 the grader parses")] {
            var texts = [nested(count, "|", "|"), String(repeating: "-", count: count) + "1", String(repeating: #"\sin"#, count: count) + " x",
                         Array(repeating: "2", count: count).joined(separator: "^")]
            if count > 1_000 { texts.append(String(repeating: "1+", count: count) + "1") }
            for text in texts {
                let (v, seconds) = timed(#"\boxed{"# + text + "}", "1")
                XCTAssertFalse(v.correct, String(text.prefix(20)))
                XCTAssertTrue(v.reason.contains(reason), "\(text.prefix(20)): \(v.reason)")
                XCTAssertLessThan(seconds, 2, String(text.prefix(20)))
            }
        }
        // within the limits: a long sum is still graded
        XCTAssertTrue(grader.grade(pred: #"\boxed{"# + String(repeating: "1+", count: 400) + "1}", gold: "401").correct)
    }

    func testNestedFractionsAreRefusedQuickly() {
        var deep = "1"
        for _ in 0..<300 { deep = #"\frac{"# + deep + "}{2}" }
        let (v, seconds) = timed(#"\boxed{"# + deep + "}", #"\frac{1}{2}"#)
        XCTAssertFalse(v.correct)
        XCTAssertEqual(v.reason, "prediction nests deeper than 100 levels; not parsed")
        XCTAssertLessThan(seconds, 2)

        // wide: 2^15 leaves, about 300,000 characters
        var wide = "1"
        for _ in 0..<15 { wide = #"\frac{"# + wide + "}{" + wide + "}" }
        let (w, wideSeconds) = timed(#"\boxed{"# + wide + "}", "1")
        XCTAssertFalse(w.correct)
        XCTAssertTrue(w.reason.hasPrefix("prediction is "), w.reason)
        XCTAssertTrue(w.reason.hasSuffix("not parsed"), w.reason)
        XCTAssertLessThan(wideSeconds, 2)
    }

    func testLongAnswersAreNotParsed() {
        let long = String(repeating: "1+", count: 6_000) + "1"
        let v = grader.grade(pred: #"\boxed{"# + long + "}", gold: "6001")
        XCTAssertFalse(v.correct)
        XCTAssertEqual(v.reason, "prediction is 12001 bytes, over the 10000 the grader parses; not parsed")
        // sets are matched pairwise: a list of 150 elements is not parsed
        let list = (1...150).map(String.init).joined(separator: ", ")
        let l = grader.grade(pred: #"\boxed{\{"# + list + #"\}}"#, gold: list)
        XCTAssertFalse(l.correct)
        XCTAssertTrue(l.reason.hasPrefix("prediction has 149 separators"), l.reason)
        XCTAssertTrue(grader.grade(pred: #"\boxed{\{"# + (1...90).map(String.init).joined(separator: ", ") + #"\}}"#,
                                   gold: (1...90).reversed().map(String.init).joined(separator: ", ")).correct)
    }
}
