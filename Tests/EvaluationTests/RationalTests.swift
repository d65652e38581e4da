@testable import Evaluation
import XCTest

final class RationalTests: XCTestCase {
    func testLowestTermsAndSign() {
        let r = Rational(6, -8)!
        XCTAssertEqual(r.numerator, -3)
        XCTAssertEqual(r.denominator, 4)
        XCTAssertNil(Rational(1, 0))
    }

    func testArithmeticIsExact() {
        let third = Rational(1, 3)!, sixth = Rational(1, 6)!
        XCTAssertEqual(third.adding(sixth), Rational(1, 2))
        XCTAssertEqual(third.multiplied(by: Rational(3)!), .one)
        XCTAssertEqual(Rational(2, 3)!.power(-2), Rational(9, 4))
        XCTAssertEqual(Rational(27, 8)!.root(3), Rational(3, 2))
        XCTAssertNil(Rational(2)!.root(2))
        XCTAssertEqual(Rational(2, 3)!.rounded(toPlaces: 3), Rational(667, 1000))
    }

    func testOverflowGivesNilInsteadOfTrapping() {
        let big = Rational(Int.max / 2)!
        XCTAssertNil(big.multiplied(by: Rational(4)!))
        XCTAssertNil(Rational(10)!.power(40))
        XCTAssertNil(big.adding(big).flatMap { $0.adding(big) })
    }

    func testNumberParser() {
        XCTAssertEqual(NumberParser.parse("1,234,567"), Rational(1_234_567))
        XCTAssertEqual(NumberParser.parse("-0.125"), Rational(-1, 8))
        XCTAssertEqual(NumberParser.parse("2.5e-3"), Rational(1, 400))
        XCTAssertEqual(NumberParser.parse("-3 1/2"), Rational(-7, 2))
        XCTAssertEqual(NumberParser.parse("3/6"), Rational(1, 2))
        XCTAssertNil(NumberParser.parse("1,2"))
        XCTAssertNil(NumberParser.parse("12a"))
        // too long for 64 bits: the expression parser falls back to a Double
        XCTAssertNil(NumberParser.parse("123456789012345678901234"))
    }

    func testOverflowingExpressionsFallBackToDoubles() {
        let g = Grader()
        XCTAssertTrue(g.grade(pred: "2^{70}", gold: "1180591620717411303424").correct)
        XCTAssertTrue(g.grade(pred: "10^{30} + 1", gold: "10^{30}").correct, "equal within 1e-9 once inexact")
    }
}
