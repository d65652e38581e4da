import Evaluation
import XCTest

/// Cases come from failure modes reported against Math-Verify, the Qwen2.5-Math grader and
/// lm-eval's minerva_math: forms that must match, and near misses that must not.
final class GraderTests: XCTestCase {
    let grader = Grader()

    func assertMatch(_ pred: String, _ gold: String, _ grader: Grader? = nil, file: StaticString = #filePath, line: UInt = #line) {
        let v = (grader ?? self.grader).grade(pred: pred, gold: gold)
        XCTAssertTrue(v.correct, "\(pred) vs \(gold): \(v.reason)", file: file, line: line)
    }

    func assertNoMatch(_ pred: String, _ gold: String, _ grader: Grader? = nil, file: StaticString = #filePath, line: UInt = #line) {
        let v = (grader ?? self.grader).grade(pred: pred, gold: gold)
        XCTAssertFalse(v.correct, "\(pred) vs \(gold): \(v.reason)", file: file, line: line)
    }

    // MARK: equivalent forms

    func testFractionsDecimalsAndSlashes() {
        for pred in [#"\frac{1}{2}"#, "0.5", "1/2", #"\dfrac12"#, #"\tfrac{1}2"#, ".5", #"\frac 12"#, "2^{-1}", "0.50"] {
            assertMatch(pred, #"\frac{1}{2}"#)
        }
        assertMatch(#"\frac9{19}"#, #"\frac{9}{19}"#)
        assertMatch(#"\frac{270}7"#, #"\frac{270}{7}"#)
    }

    func testReasonsSayWhatMatched() {
        let v = grader.grade(pred: "1/2", gold: "0.5")
        XCTAssertEqual(v.reason, "numeric: 1/2 == 0.5")
        XCTAssertTrue(grader.grade(pred: "(1,2)", gold: "(1, 2)").reason.hasPrefix("string:"))
    }

    func testPercentModes() {
        assertMatch(#"10\%"#, "10")
        assertMatch("10", #"10\%"#)
        assertMatch("0.1", #"10\%"#)
        assertMatch("50%", #"50\%"#)
        let symbolOptional = Grader(GraderOptions(percent: .symbolOptional))
        assertMatch("50", #"50\%"#, symbolOptional)
        assertNoMatch("0.5", #"50\%"#, symbolOptional)
        let strict = Grader(GraderOptions(percent: .strict))
        assertMatch("0.5", #"50\%"#, strict)
        assertNoMatch("50", #"50\%"#, strict)
    }

    func testPrefixesUnitsDegreesMoney() {
        assertMatch("x=3", "3")
        assertMatch("3", "x = 3")
        assertMatch("y = -2x", "-2x")
        assertMatch(#"90^\circ"#, "90")
        assertMatch(#"90^{\circ}"#, "90°")
        assertMatch(#"5.4 \text{ cents}"#, "5.4")
        assertMatch(#"864 \mbox{ inches}^2"#, "864")
        assertMatch("15 cm^2", #"15\mbox{ cm}^2"#)
        assertMatch(#"\$18.90"#, "18.90")
        assertMatch(#"\frac{270}7\text{ degrees}"#, #"\frac{270}{7}"#)
        assertMatch("5.", "5")
    }

    func testThousandsSeparatorsAndScientificNotation() {
        assertMatch("1,000", "1000")
        assertMatch("1{,}000", "1000")
        assertMatch(#"10,\!080"#, "10080")
        assertMatch(#"11,\! 111,\! 111,\! 100"#, "11111111100")
        assertMatch(#"\$32,\!348"#, "32348")
        assertMatch(#"1.5\times10^{3}"#, "1500")
        assertMatch("1.5e3", "1500")
        assertMatch(".0000672", #"6.72\times 10^{-5}"#)
    }

    func testMixedNumbers() {
        assertMatch(#"137 \frac{1}{2}"#, "137.5")
        assertMatch(#"1\frac{4}{5}"#, #"\frac{9}{5}"#)
        assertMatch("3 1/2", "7/2")
    }

    func testTuplesIntervalsAndSets() {
        assertMatch("(1,2)", "(1, 2)")
        assertMatch(#"\left( 3, \frac{\pi}{2} \right)"#, #"(3,\pi/2)"#)
        assertMatch(#"\{1,2\}"#, #"\{2,1\}"#)
        assertMatch(#"(-\infty, 0]"#, #"(-\infty,0]"#)
        assertMatch(#"(0,9) \cup (9,36)"#, #"(9,36)\cup(0,9)"#)
        assertMatch(#"x \in [-2,7]"#, "[-2,7]")
        assertMatch(#"\left[ \frac{\pi^2}{8}, \frac{5 \pi^2}{4} \right]"#, #"[\pi^2/8, 5\pi^2/4]"#)
    }

    func testListsOfSolutionsInAnyOrder() {
        assertMatch("1,-2", "-2,1")
        assertMatch("7, 5, 3", "3, 5, 7")
        assertMatch("x = 1 or x = -2", "-2, 1")
        assertMatch(#"1+\sqrt{19}, 1-\sqrt{19}"#, #"1 \pm \sqrt{19}"#)
        assertMatch(#"-2, 1-\sqrt5, 1+\sqrt 5"#, #"\{1\pm\sqrt{5},-2\}"#)
    }

    func testMatricesWithSpacingDifferences() {
        assertMatch(#"\begin{pmatrix}1&2\\3&4\end{pmatrix}"#, #"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}"#)
        assertMatch(#"\begin{bmatrix} -1/3 \\ 0.6666666666666666666 \\ \frac53 \end{bmatrix}"#, #"\begin{pmatrix} -1/3 \\ 2/3 \\ 5/3 \end{pmatrix}"#)
        let v = grader.grade(pred: #"\begin{pmatrix} 1 & 0 \\ 0 & 1 \end{pmatrix}"#, gold: #"\begin{pmatrix} 1 & 0 \\ 0 & -1 \end{pmatrix}"#)
        XCTAssertFalse(v.correct)
        XCTAssertTrue(v.reason.contains("(2,2)"), v.reason)
    }

    func testRadicalsPiAndImplicitMultiplication() {
        assertMatch(#"2\sqrt{3}"#, #"\sqrt{12}"#)
        assertMatch(#"\frac{\pi}{2}"#, #"\pi/2"#)
        assertMatch(#"3\pi"#, #"\pi\cdot 3"#)
        assertMatch(#"\frac{\sqrt{3}}{3}"#, #"\frac{1}{\sqrt3}"#)
        assertMatch(#"\sqrt[3]{27}"#, "3")
        assertMatch("sqrt(2)/2", #"\frac{\sqrt{2}}{2}"#)
        assertMatch(#"11\sqrt2"#, #"11 \sqrt{2}"#)
        assertMatch("6-5i", "-5i + 6")
        assertMatch(#"e^{i\pi}"#, "-1")
    }

    func testExpressionsWithVariables() {
        assertMatch("(a+5)(b+2)", "ab + 2a + 5b + 10")
        assertMatch("2(k+1)", "2k+2")
        assertMatch(#"\frac{\cos x}{\sin x}"#, #"\cot x"#)
        assertMatch("(x-1)(x^4+x^2+1)", "x^5 - x^4 + x^3 - x^2 + x - 1")
        assertMatch("y=3+2x", "y = 2x + 3")
        assertMatch("a_{n} + 1", "1 + a_n")
        assertMatch("x_{12}^2", "x_{12} x_{12}")
        assertNoMatch("a_1", "a_2")
        assertMatch("-5x+7y-11z-4=0", "5x - 7y + 11z + 4 = 0")
    }

    func testLessCommonNotations() {
        assertMatch(#"0.\overline{3}"#, #"\frac13"#)
        assertMatch(#"0.1\overline{6}"#, #"\frac16"#)
        assertMatch("f(x) = 2x", "2x")
        assertMatch(#"\varnothing"#, #"\emptyset"#)
        assertMatch(#"\tan^{-1}(1)"#, #"\frac{\pi}{4}"#)
        assertMatch(#"\sin^2 x + \cos^2 x"#, "1")
        assertMatch(#"\binom{5}{2}"#, "10")
        assertMatch("5!", "120")
        assertMatch(#"\lfloor 2.5 \rfloor"#, "2")
        assertMatch("|-3|", "3")
        assertMatch("(1+i)^2", "2i")
        assertMatch(#"\sqrt{-4}"#, "2i")
        assertMatch(#"\langle 1, 2\rangle"#, "(1,2)")
        assertMatch("(1,2), (3,4)", "(3,4),(1,2)")
        assertMatch(#"\pm 2"#, "2, -2")
        assertNoMatch(#"\ln 2"#, #"\log(2)"#)
        assertNoMatch(#"30^{\circ}"#, #"\frac{\pi}{6}"#)
        assertNoMatch("5 apples", "5")
    }

    func testChoicesTextAndNumerals() {
        assertMatch(#"\text{(B)}"#, "B")
        assertMatch("(C)", #"\text{(C)}"#)
        assertMatch("East", #"\text{east}"#)
        assertMatch(#"52_{8}"#, "52_8")
        assertMatch("52", "52_8")
        assertNoMatch("A", #"\text{(B)}"#)
        assertNoMatch(#"\text{odd}"#, #"\text{even}"#)
        assertNoMatch("53_8", "52_8")
    }

    func testWholeResponsesAreExtractedFirst() {
        assertMatch("Adding them up, the total is $\\boxed{\\dfrac{1}{2}}$.", "0.5")
        assertMatch("<think>is it \\boxed{3}?</think>\nThe answer is 4.", "4")
        let truncated = grader.grade(pred: "<think>long reasoning that never ends", gold: "4")
        XCTAssertFalse(truncated.correct)
        XCTAssertEqual(truncated.extraction, .truncated)
        XCTAssertTrue(truncated.reason.hasPrefix("truncated"), truncated.reason)
        let none = grader.grade(pred: "Let me think step by step.\nFirst we add.\nThen we check.", gold: "4")
        XCTAssertFalse(none.correct)
        XCTAssertTrue(none.reason.hasPrefix("no answer found"), none.reason)
        XCTAssertNil(none.extracted)
    }

    // MARK: near misses

    func testNearMissesDoNotMatch() {
        assertNoMatch("[1,2)", "(1,2)")
        XCTAssertTrue(grader.grade(pred: "[1,2)", gold: "(1,2)").reason.contains("interval endpoints differ"))
        assertNoMatch("(1,2)", "(2,1)")
        assertNoMatch("1/2", "2")
        assertNoMatch("0.333", #"\frac{1}{3}"#)
        assertNoMatch(#"2\sqrt3"#, #"2\sqrt2"#)
        assertNoMatch("x^2", "2x")
        assertNoMatch(#"\{1,2\}"#, #"\{1,3\}"#)
        assertNoMatch(#"\{1,2\}"#, #"\{1,2,3\}"#)
        assertNoMatch("(1,2,3)", "(1,2)")
        assertNoMatch(#"(2,\infty)"#, #"(-\infty,2)"#)
        assertNoMatch("1, 2", "(1, 2)")
        assertNoMatch("-5", "5")
        assertNoMatch("1000", "100")
        assertNoMatch("1001", "1000")
        assertNoMatch("6+5i", "6-5i")
        assertNoMatch(#"\pi"#, "3.14")
        assertNoMatch("3R^2", "3r^2")
    }

    func testRoundedDecimalMode() {
        let rounded = Grader(GraderOptions(decimals: .rounded))
        assertMatch("0.333", #"\frac{1}{3}"#, rounded)
        assertNoMatch("0.334", #"\frac{1}{3}"#, rounded)
        assertMatch("1.41", #"\sqrt{2}"#, rounded)
        assertNoMatch("1.42", #"\sqrt{2}"#, rounded)
    }

    func testToleranceForInexactValues() {
        // 16 significant digits of √2 are within 1e-9; 6 are not (exact mode)
        assertMatch("1.414213562373095", #"\sqrt{2}"#)
        assertNoMatch("1.414214", #"\sqrt{2}"#)
    }

    func testVerdictsAreReproducible() {
        let a = grader.grade(pred: "x^3 + 1", gold: "x^3 + 1.0000001")
        let b = Grader().grade(pred: "x^3 + 1", gold: "x^3 + 1.0000001")
        XCTAssertEqual(a, b)
        XCTAssertFalse(a.correct, a.reason)
    }
}
