import Evaluation
import XCTest

final class AnswerExtractionTests: XCTestCase {
    func extract(_ s: String) -> Extraction { AnswerExtractor.extract(from: s) }

    func testLastBoxWinsAndNestedBracesAreKept() {
        let e = extract(#"First \boxed{3}, but correcting: $\boxed{\frac{1}{\sqrt{2}}}$."#)
        XCTAssertEqual(e.status, .found)
        XCTAssertEqual(e.text, #"\frac{1}{\sqrt{2}}"#)
        XCTAssertEqual(e.source, "\\boxed")
    }

    func testEscapedBracesInsideABox() {
        XCTAssertEqual(extract(#"\boxed{\{1, 2\}}"#).text, #"\{1, 2\}"#)
    }

    func testBoxedWithoutBracesAndFbox() {
        XCTAssertEqual(extract(#"so $\boxed 5$ is it"#).text, "5")
        let f = extract(#"\fbox{42} done"#)
        XCTAssertEqual(f.text, "42")
        XCTAssertEqual(f.source, "\\fbox")
        // the later of \boxed and \fbox counts
        XCTAssertEqual(extract(#"\fbox{1} then \boxed{2} then \fbox{3}"#).text, "3")
    }

    func testThinkingSpanIsDropped() {
        XCTAssertEqual(extract(#"<think>maybe \boxed{3}</think>The answer is \boxed{4}."#).text, "4")
        // a lone closing tag: the template opened the span in the prompt
        XCTAssertEqual(extract(#"draft \boxed{1} ... </think> final \boxed{2}"#).text, "2")
    }

    func testUnclosedThinkOrBoxIsTruncation() {
        let think = extract(#"<think>let me try \boxed{3} and then"#)
        XCTAssertEqual(think.status, .truncated)
        XCTAssertNil(think.text)
        let box = extract(#"so the result is \boxed{\frac{1}{2"#)
        XCTAssertEqual(box.status, .truncated)
        XCTAssertTrue(box.source.contains("unclosed"), box.source)
    }

    func testAnswerLines() {
        XCTAssertEqual(extract("Work...\nThe answer is $12$.").text, "12")
        XCTAssertEqual(extract("Work...\n**Final Answer:** 7.5").text, "7.5")
        XCTAssertEqual(extract("Answer: x = 3\n").text, "x = 3")
        XCTAssertEqual(extract("Final answer:\n\n  -2\n").text, "-2")
        // Minerva's format: the math span, not the sentence after it
        XCTAssertEqual(extract("Final Answer: The final answer is $3, 5, 7$. I hope it is correct.").text, "3, 5, 7")
        XCTAssertEqual(extract(#"So the answer is \(\frac{1}{2}\)."#).text, #"\frac{1}{2}"#)
        XCTAssertEqual(extract("The answer is 5.5. Done.").text, "5.5")
        XCTAssertEqual(extract(#"The final answer is $\$18.90$. I hope it is correct."#).text, #"\$18.90"#)
        // the last phrase counts
        XCTAssertEqual(extract("Answer: 1\nWait, no. The final answer is 2").text, "2")
    }

    func testNoAnswer() {
        let e = extract("I computed many things but never concluded")
        XCTAssertEqual(e.status, .none)
        XCTAssertNil(e.text)
    }
}
