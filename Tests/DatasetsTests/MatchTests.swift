import Datasets
import Foundation
import Tokenizers
import XCTest

/// `match`: two SFT arms built against each other keep only the questions both have.
final class MatchTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// A generate-style record: its question named by meta.problem_id, the prompt differing per arm.
    func line(_ problem: Int, sample: Int = 0, arm: String) -> String {
        let prompt = arm == "bc" ? "Behaviors: add. Question \(problem): what is \(problem) + 1?" : "Question \(problem): what is \(problem) + 1?"
        return #"{"id":"q\#(problem)#\#(sample)","messages":[{"role":"user","content":"\#(prompt)"},"#
            + #"{"role":"assistant","content":"\#(problem) + 1 = \#(problem + 1). The answer is \\boxed{\#(problem + 1)}."}],"#
            + #""meta":{"problem_id":"world/train/\#(problem)","sample":\#(sample)}}"#
    }

    func file(_ name: String, _ lines: [String]) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try writeJSONL(lines, to: url)
        return url
    }

    func build(_ input: URL, match: [URL], name: String) throws -> Manifest {
        var o = DatasetBuilder.Options(input: input, output: dir.appendingPathComponent(name), seqLen: 128)
        o.match = match
        return try DatasetBuilder(o, tokenizer: try TestTokenizer.get()).build()
    }

    func testTwoArmsBuiltAgainstEachOtherHoldExactlyTheSharedQuestions() throws {
        // Vanilla lost questions 3 and 4 (say, cut off at max_tokens); BC lost 7 and has two samples of 0.
        let vanillaLines = (0..<10).filter { ![3, 4].contains($0) }.map { line($0, arm: "vanilla") }
        let bcLines = (0..<10).filter { $0 != 7 }.map { line($0, arm: "bc") } + [line(0, sample: 1, arm: "bc")]
        let vanilla = try file("vanilla.jsonl", vanillaLines), bc = try file("bc.jsonl", bcLines)

        let v = try build(vanilla, match: [bc], name: "data_vanilla")
        let b = try build(bc, match: [vanilla], name: "data_bc")
        XCTAssertEqual(v.match, Manifest.Match(files: [bc.path], droppedRecords: 1, droppedQuestions: 1, keptQuestions: 7))
        XCTAssertEqual(b.match, Manifest.Match(files: [vanilla.path], droppedRecords: 2, droppedQuestions: 2, keptQuestions: 7))
        XCTAssertEqual(v.stats.records, 8, "records read, the dropped ones included")

        // Each is the dataset of its records over the intersection, built without match.
        let shared: Set<Int> = [0, 1, 2, 5, 6, 8, 9]
        let vExpected = try build(try file("v-shared.jsonl", shared.sorted().map { line($0, arm: "vanilla") }), match: [], name: "v-expected")
        let bExpected = try build(try file("b-shared.jsonl", shared.sorted().map { line($0, arm: "bc") } + [line(0, sample: 1, arm: "bc")]),
                                  match: [], name: "b-expected")
        XCTAssertEqual(v.splits["train"]!.documents, 7)
        XCTAssertEqual(b.splits["train"]!.documents, 8)
        XCTAssertEqual(v.splits["train"]!.tokens, vExpected.splits["train"]!.tokens)
        XCTAssertEqual(b.splits["train"]!.tokens, bExpected.splits["train"]!.tokens)
        XCTAssertNil(vExpected.match, "no match files: no match counts")
        // The counts survive a reload of the folder (train reads the manifest).
        XCTAssertEqual(try Manifest.load(from: dir.appendingPathComponent("data_bc")).match, b.match)
    }

    /// A question whose answer one arm cannot fit in seq_len (dropped as overlong there) is
    /// dropped from the other arm too: the two datasets hold the same questions after every filter.
    func testAQuestionTooLongForOneArmLeavesBoth() throws {
        let long = #"{"id":"q5#0","messages":[{"role":"user","content":"Question 5: what is 5 + 1?"},{"role":"assistant","content":""#
            + String(repeating: "5 + 1 is six. ", count: 60) + #"\boxed{6}"}],"meta":{"problem_id":"world/train/5","sample":0}}"#
        let vanilla = try file("vanilla.jsonl", (0..<8).map { $0 == 5 ? long : line($0, arm: "vanilla") })
        let bc = try file("bc.jsonl", (0..<8).map { line($0, arm: "bc") })
        let v = try build(vanilla, match: [bc], name: "data_vanilla")
        let b = try build(bc, match: [vanilla], name: "data_bc")
        XCTAssertEqual(v.stats.dropped, 1, "vanilla's long answer is dropped as overlong")
        XCTAssertEqual(b.match?.droppedQuestions, 1, "so BC drops that question too")
        XCTAssertEqual(v.splits["train"]!.documents, 7)
        XCTAssertEqual(b.splits["train"]!.documents, 7)
    }

    func testWithoutAProblemIDTheUserTurnNamesTheQuestion() throws {
        let a = try file("a.jsonl", [#"{"prompt":"What is 2 + 2?","response":"4"}"#, #"{"prompt":"What is 3 + 3?","response":"6"}"#])
        let b = try file("b.jsonl", [#"{"messages":[{"role":"user","content":"What is 3 + 3?"},{"role":"assistant","content":"It is 6."}]}"#])
        let m = try build(a, match: [b], name: "a")
        XCTAssertEqual(m.match?.droppedRecords, 1)
        XCTAssertEqual(m.match?.keptQuestions, 1)
    }

    func testAnUnreadableOrBadMatchFileIsAnErrorNamingIt() throws {
        let input = try file("in.jsonl", [line(1, arm: "vanilla")])
        let missing = dir.appendingPathComponent("no-such-arm.jsonl")
        XCTAssertThrowsError(try build(input, match: [missing], name: "x")) { error in
            XCTAssertTrue(error.localizedDescription.contains(missing.path), error.localizedDescription)
        }
        XCTAssertThrowsError(try build(input, match: [dir], name: "x")) { error in
            XCTAssertTrue(error.localizedDescription.contains("is a folder"), error.localizedDescription)
        }
        let bad = try file("bad.jsonl", [line(1, arm: "bc"), "{not json"])
        XCTAssertThrowsError(try build(input, match: [bad], name: "x")) { error in
            XCTAssertTrue(error.localizedDescription.hasPrefix("\(bad.path):2: (match file) "), error.localizedDescription)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("x").path), "nothing written")
    }
}
