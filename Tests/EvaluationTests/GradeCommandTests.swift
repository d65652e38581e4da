import Foundation
import TestSupport
import XCTest

/// `bcsft grade`: the entry point evaluation/bench_grader.py calls.
final class GradeCommandTests: XCTestCase {
    func testGradesJSONLinesAndWritesOneVerdictPerLine() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("pairs.jsonl")
        try """
        {"pred": "The answer is $\\\\boxed{\\\\dfrac12}$.", "gold": "0.5"}
        {"pred": "[1,2)", "gold": "(1,2)"}
        {"pred": "<think>never finished", "gold": "3"}

        """.write(to: input, atomically: true, encoding: .utf8)
        let (status, out, err) = try runProcess(try bcsftExecutable(), ["grade", "--input", input.path])
        XCTAssertEqual(status, 0, err)
        let lines = out.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(lines.count, 3)
        XCTAssertEqual(lines.map { $0["correct"] as? Bool }, [true, false, false])
        XCTAssertEqual(lines[0]["extracted"] as? String, "\\dfrac12")
        XCTAssertTrue((lines[1]["reason"] as? String)?.contains("interval endpoints differ") == true)
        XCTAssertTrue(lines[2]["extracted"] is NSNull)
        XCTAssertEqual(Set(lines[2].keys), ["correct", "reason", "extracted"])
    }

    func testABadLineIsAnErrorNamingFileAndLine() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("bad.jsonl")
        try "{\"pred\": \"1\", \"gold\": \"1\"}\n{\"pred\": 1}\n".write(to: input, atomically: true, encoding: .utf8)
        let (status, _, err) = try runProcess(try bcsftExecutable(), ["grade", "--input", input.path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(err.contains("\(input.path):2:"), err)
    }
}
