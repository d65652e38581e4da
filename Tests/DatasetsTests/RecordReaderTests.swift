import Common
import Datasets
import Foundation
import XCTest

final class RecordReaderTests: XCTestCase {
    func testBothShapesIdsAndStreamingAcrossChunkBoundaries() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("r.jsonl")
        let text = #"{"id": 7, "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello ☕"}]}"# + "\r\n"
            + "\n   \n"
            + #"{"prompt": "p", "response": "r", "system": "s"}"# + "\n"
            + #"{"id": "x", "prompt": "only", "response": "last line has no newline"}"#
        try text.write(to: url, atomically: true, encoding: .utf8)
        for chunk in [3, 7, 1 << 20] {
            var lines: [Int] = []
            var recs: [SFTRecord] = []
            var it = JSONLReader(url: url, chunkSize: chunk).makeIterator()
            while let (n, data) = it.next() {
                lines.append(n)
                recs.append(try SFTRecord.parse(data))
            }
            XCTAssertEqual(lines, [1, 4, 5], "chunk \(chunk): blank lines skipped, numbering kept")
            XCTAssertEqual(recs[0], SFTRecord(id: "7", messages: [.user("hi"), .assistant("hello ☕")]))
            XCTAssertEqual(recs[1].messages, [.system("s"), .user("p"), .assistant("r")])
            XCTAssertTrue(recs[1].id.hasPrefix("sha256:"), "records without id get a content hash")
            XCTAssertEqual(recs[2].id, "x")
            XCTAssertEqual(it.bytesRead, text.utf8.count)
        }
    }

    func testInvalidLineIsAnErrorNamingFileAndLine() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("bad.jsonl")
        let good = #"{"prompt": "a", "response": "b"}"#
        let cases: [(String, String)] = [
            (#"{"prompt": "a", "respon"#, "not valid JSON"),
            (#"{"messages": [{"role": "user", "content": "q"}, {"role": "bot", "content": "a"}]}"#, "messages[1].role: 'bot' is not one of system, user, assistant"),
            (#"{"messages": [{"role": "user", "content": 5}]}"#, "messages[0].content: missing or not a string"),
            (#"{"messages": []}"#, "field 'messages': empty"),
            (#"{"text": "x"}"#, "expected a 'messages' array or 'prompt' and 'response' fields"),
            (#"[1, 2]"#, "expected a JSON object"),
            (#"{"id": [1], "prompt": "a", "response": "b"}"#, "field 'id'"),
        ]
        for (bad, reason) in cases {
            try writeJSONL([good, good, bad, good], to: url)
            var it = RecordReader(url: url).makeIterator()
            XCTAssertThrowsError(try { while try it.nextRecord() != nil {} }()) { error in
                let message = error.localizedDescription
                XCTAssertTrue(message.hasPrefix("\(url.path):3: "), message)
                XCTAssertTrue(message.contains(reason), "expected '\(reason)' in: \(message)")
            }
            let skipping = RecordReader(url: url, skipInvalid: true)
            var it2 = skipping.makeIterator()
            var n = 0
            while try it2.nextRecord() != nil { n += 1 }
            XCTAssertEqual(n, 3, "the good records are all kept")
            XCTAssertEqual(skipping.stats.count, 1)
            XCTAssertTrue(skipping.stats.examples[0].contains(":3: "))
        }
    }

    func testMissingFileIsAnError() {
        var it = RecordReader(url: URL(fileURLWithPath: "/nonexistent/x.jsonl")).makeIterator()
        XCTAssertThrowsError(try it.nextRecord()) { error in
            XCTAssertTrue(error.localizedDescription.contains("/nonexistent/x.jsonl"), error.localizedDescription)
        }
    }
}
