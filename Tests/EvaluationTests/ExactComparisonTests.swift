import Evaluation
import XCTest

/// Values past floating point compare exactly, or are refused: never equal because both
/// overflowed to infinity or underflowed to zero, and integers of any length by their digits.
final class ExactComparisonTests: XCTestCase {
    let grader = Grader()

    func assertMatch(_ pred: String, _ gold: String, file: StaticString = #filePath, line: UInt = #line) {
        let v = grader.grade(pred: pred, gold: gold)
        XCTAssertTrue(v.correct, "\(pred) vs \(gold): \(v.reason)", file: file, line: line)
    }

    func assertNoMatch(_ pred: String, _ gold: String, file: StaticString = #filePath, line: UInt = #line) {
        let v = grader.grade(pred: pred, gold: gold)
        XCTAssertFalse(v.correct, "\(pred) vs \(gold): \(v.reason)", file: file, line: line)
    }

    func testPowersPastFloatingPointCompareExactly() {
        assertNoMatch("2^{1024}", "3^{1024}")
        assertNoMatch("10^{400}", "10^{401}")
        assertNoMatch("10^{-400}", "0")
        assertNoMatch("0", "10^{-400}")
        assertNoMatch("2^{1024}", "2^{1024} + 1")
        assertNoMatch(#"3 \cdot 2^{1024}"#, "2^{1025}")
        assertNoMatch("-10^{400}", "10^{400}")
        assertNoMatch("1e400", "1e401")
        assertMatch("4^{512}", "2^{1024}")
        assertMatch(#"10^{200} \cdot 10^{200}"#, "10^{400}")
        assertMatch(#"\frac{1}{10^{400}}"#, "10^{-400}")
        assertMatch(#"2 \cdot 2^{1024}"#, "2^{1025}")
        assertMatch(#"1.5\times10^{400}"#, #"\frac{3 \cdot 10^{400}}{2}"#)
        assertMatch("1e400", "10^{400}")
        // the largest power among MATH's answers
        assertMatch("4^{2475}", "2^{4950}")
        assertNoMatch("2^{4949}", "2^{4950}")
        assertMatch(#"3^{2007}"#, #"3 \cdot 3^{2006}"#)
        let v = grader.grade(pred: "10^{400}", gold: "10^{401}")
        XCTAssertTrue(v.reason.hasPrefix("numeric: 10^{400} != 10^{401}"), v.reason)
    }

    func testValuesTooLargeToHoldAreRefusedNotEqual() {
        for (pred, gold) in [("2^{10^9}", "2^{10^9+1}"), ("10^{99999999}", "10^{99999998}"), ("10^{-99999999}", "0"),
                             ("9^{9^{9^9}}", "9^{9^{9^8}}"), (#"e^{10^{6}}"#, #"e^{10^{6}+1}"#)] {
            let v = grader.grade(pred: pred, gold: gold)
            XCTAssertFalse(v.correct, "\(pred) vs \(gold): \(v.reason)")
            XCTAssertTrue(v.reason.contains("too large"), "\(pred) vs \(gold): \(v.reason)")
        }
    }

    func testLongIntegersCompareByDigits() {
        assertNoMatch("123456789012345678901", "123456789012345678902")
        assertNoMatch("-123456789012345678901", "-123456789012345678902")
        assertNoMatch("1" + String(repeating: "0", count: 40), "1" + String(repeating: "0", count: 39) + "1")
        assertMatch("123,456,789,012,345,678,901", "123456789012345678901")
        assertMatch("123456789012345678900 + 1", "123456789012345678901")
        assertMatch("2^{70}", "1180591620717411303424")
        assertNoMatch("2^{70}", "1180591620717411303425")
        assertMatch("0000000000000000000000000000042", "42")
    }
}
