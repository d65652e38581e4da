import Behaviors
import Common
import Evaluation
import Foundation
import Pipelines
import TestSupport
import XCTest

/// `bcsft solve --record-uses` folds the responses' citations into the handbook's counts.
final class RecordUsesTests: XCTestCase {
    func testCitationsBecomeUsageCounts() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bcsft = try bcsftExecutable()
        func run(_ args: [String]) throws {
            let (status, _, err) = try runProcess(bcsft, args)
            XCTAssertEqual(status, 0, err)
        }
        let path = { (name: String) in dir.appendingPathComponent(name).path }
        try run(["world", "--out", path("w"), "--train", "30", "--test", "12"])
        try run(["extract", "--problems", path("w/train.jsonl"), "--handbook", path("hb.jsonl"), "--out", path("x.jsonl"), "--temperature", "0", "--backend", "scripted"])
        let before = try Handbook.load(dir.appendingPathComponent("hb.jsonl"))
        XCTAssertEqual(before.behaviors.map(\.uses).reduce(0, +), 0)
        try run(["solve", "--problems", path("w/test.jsonl"), "--handbook", path("hb.jsonl"), "--k", "3", "--out", path("s.jsonl"),
                 "--temperature", "0", "--record-uses", "--backend", "scripted"])
        let cited = try JSONLines.read(SolveRecord.self, from: dir.appendingPathComponent("s.jsonl")).flatMap(\.cited)
        XCTAssertGreaterThan(cited.count, 10)
        let after = try Handbook.load(dir.appendingPathComponent("hb.jsonl"))
        XCTAssertEqual(after.count, before.count)
        for b in after.behaviors { XCTAssertEqual(b.uses, cited.filter { $0 == b.name }.count, b.name) }
    }
}
