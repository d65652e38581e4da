import Datasets
import XCTest

final class PackerTests: XCTestCase {
    func doc(_ n: Int, _ tag: Int32) -> Document { Document(ids: [Int32](repeating: tag, count: n), mask: [UInt8](repeating: 1, count: n)) }

    func testBestFitByHand() {
        var p = BestFitPacker(seqLen: 10, padID: -1)
        XCTAssertTrue(p.add(doc(6, 1)).isEmpty)        // row A: 6, room 4
        XCTAssertTrue(p.add(doc(5, 2)).isEmpty)        // A cannot fit 5: row B: 5, room 5
        let a = p.add(doc(4, 3))                       // best fit is A (room 4): A is full
        XCTAssertEqual(a.count, 1)
        XCTAssertEqual(a[0].ids, [1, 1, 1, 1, 1, 1, 3, 3, 3, 3])
        XCTAssertEqual(a[0].documents.map { [$0.start, $0.length] }, [[0, 6], [6, 4]])
        XCTAssertTrue(p.add(doc(3, 4)).isEmpty)        // B: 5 + 3, room 2
        let rest = p.flush()
        XCTAssertEqual(rest.count, 1)
        XCTAssertEqual(rest[0].ids, [2, 2, 2, 2, 2, 4, 4, 4, -1, -1])
        XCTAssertEqual(rest[0].mask, [1, 1, 1, 1, 1, 1, 1, 1, 0, 0], "padding carries no loss")
        XCTAssertEqual(rest[0].documents.map { [$0.start, $0.length] }, [[0, 5], [5, 3]])
    }

    func testBoundedOpenRowsEmitTheFullestAndNeverSplitDocuments() {
        var p = BestFitPacker(seqLen: 16, padID: 0, maxOpenRows: 2)
        var rows: [PackedRow] = []
        let lengths = [9, 10, 11, 3, 12, 5, 7, 16, 1, 2, 8]
        for (i, n) in lengths.enumerated() { rows += p.add(doc(n, Int32(i + 1))) }
        rows += p.flush()
        var seen: [Int] = []
        for r in rows {
            XCTAssertEqual(r.ids.count, 16)
            var expectStart = 0
            for d in r.documents {
                XCTAssertEqual(d.start, expectStart, "documents are contiguous from 0")
                let tag = r.ids[d.start]
                XCTAssertTrue(r.ids[d.start..<(d.start + d.length)].allSatisfy { $0 == tag }, "one document per span")
                seen.append(d.length)
                expectStart += d.length
            }
            XCTAssertTrue(r.ids[expectStart...].allSatisfy { $0 == 0 })
        }
        XCTAssertEqual(seen.sorted(), lengths.sorted(), "every document appears exactly once, whole")
    }
}
