import Datasets
import Foundation
import Tokenizers
import XCTest

final class BuilderTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func build(_ recs: [SFTRecord], seqLen: Int = 256, val: Double = 0, configure: (inout DatasetBuilder.Options) -> Void = { _ in }) throws -> (Manifest, URL) {
        let input = dir.appendingPathComponent("in-\(UUID().uuidString.prefix(6)).jsonl")
        try writeJSONL(try recs.map { try $0.jsonLine() }, to: input)
        let out = dir.appendingPathComponent("ds")
        var o = DatasetBuilder.Options(input: input, output: out, seqLen: seqLen)
        o.validationFraction = val
        configure(&o)
        return (try DatasetBuilder(o, tokenizer: try TestTokenizer.get()).build(), out)
    }

    func testRowsHoldWholeDocumentsWithBoundsMasksAndEOS() throws {
        let tok = try TestTokenizer.get()
        let recs = records(300)
        let (m, out) = try build(recs, val: 0.2)
        let data = try PackedDataset(directory: out, tokenizerSHA256: tok.sha256)
        var found: [String: [[Int32]]] = ["train": [], "val": []]
        for split in ["train", "val"] {
            XCTAssertEqual(data.rows(split), m.splits[split]!.rows)
            for i in 0..<data.rows(split) {
                let r = data.row(split, i)
                var next = 0
                for d in r.documents {
                    XCTAssertEqual(d.start, next, "bounds are contiguous")
                    let ids = Array(r.ids[d.start..<(d.start + d.length)]), mask = Array(r.mask[d.start..<(d.start + d.length)])
                    XCTAssertEqual(ids.first, tok.bosID, "each document starts at its BOS: none was split")
                    XCTAssertEqual(ids.last, tok.eosID)
                    XCTAssertEqual(mask.last, 1, "the closing EOS is trained")
                    found[split]!.append(ids)
                    next += d.length
                }
                XCTAssertTrue(r.ids[next...].allSatisfy { $0 == m.padID })
                XCTAssertTrue(r.mask[next...].allSatisfy { $0 == 0 }, "padding carries no loss")
            }
        }
        // Every record appears exactly once, in the split its id hashes to.
        for split in ["train", "val"] {
            let expected = try recs.filter { DatasetBuilder.isValidation(id: $0.id, fraction: 0.2) == (split == "val") }
                .map { try ChatEncoder(setting: "bcsft", tokenizer: tok, modelFolder: nil).encode($0.messages).ids }
            let got = found[split]!.map { $0.map(String.init).joined(separator: ",") }.sorted()
            let want = expected.map { $0.map(String.init).joined(separator: ",") }.sorted()
            XCTAssertEqual(got.count, want.count, split)
            XCTAssertTrue(got == want, "\(split): the documents in the shards differ from the encoded records")
        }
        XCTAssertEqual(m.stats.records, 300)
        XCTAssertEqual(m.stats.dropped, 0)
        XCTAssertGreaterThan(m.splits["val"]!.documents, 30)
        XCTAssertLessThan(m.splits["val"]!.documents, 90)
        XCTAssertGreaterThan(m.stats.packingEfficiency, 0.9)
        XCTAssertEqual(m.stats.lengthHistogram.reduce(0, +), 300)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("tokenizer.model").path))
    }

    func testInspectorSpansReproduceTheTextExactly() throws {
        let tok = try TestTokenizer.get()
        let answer = "Ünïcödé  spaces\tand tabs,\n new line, digits 12345 and ∑ symbols."
        let (_, out) = try build([SFTRecord(id: "u", messages: [.user("Say it."), .assistant(answer)])])
        let data = try PackedDataset(directory: out, tokenizerSHA256: tok.sha256)
        let r = data.row("train", 0)
        let view = try RowInspector(tokenizer: tok).view(split: "train", row: 0, ids: r.ids, mask: r.mask, documents: r.documents)
        let loss = view.documents[0].spans.filter(\.loss)
        XCTAssertEqual(loss.map(\.text), [answer + "</s>"])
        XCTAssertEqual(view.documents[0].spans.filter { !$0.loss }.map(\.text).joined(), "<s><|user|> Say it.<|end|><|assistant|>")
        XCTAssertEqual(try tok.decode(tok.encode(answer)), answer)
    }

    func testTokenizerMismatchIsAnError() throws {
        let (_, out) = try build(records(20))
        let other = try TestTokenizer.other()
        XCTAssertThrowsError(try PackedDataset(directory: out, tokenizerSHA256: other.sha256)) { error in
            guard case .tokenizerMismatch? = error as? DatasetError else { return XCTFail("\(error)") }
            XCTAssertTrue(error.localizedDescription.contains("different tokenizer"))
        }
        XCTAssertThrowsError(try ShardReader(url: out.appendingPathComponent("train-00000.bin"), tokenizerSHA256: other.sha256))
    }

    func testCorruptTruncatedAndForeignShardsAreErrors() throws {
        let (_, out) = try build(records(60))
        let shard = out.appendingPathComponent("train-00000.bin")
        let good = try Data(contentsOf: shard)
        func expect(_ data: Data, _ fragment: String, line: UInt = #line) throws {
            try data.write(to: shard)
            XCTAssertThrowsError(try ShardReader(url: shard, tokenizerSHA256: nil), line: line) { error in
                XCTAssertTrue(error.localizedDescription.contains(fragment), "\(error.localizedDescription)", line: line)
                XCTAssertTrue(error.localizedDescription.contains(shard.path), line: line)
            }
        }
        var flipped = good
        flipped[good.count / 2] ^= 0x5A
        try expect(flipped, "checksum mismatch")
        try expect(good.prefix(good.count - 100), "end marker missing")
        try expect(good.prefix(10), "too short")
        var foreign = good
        foreign[0] = UInt8(ascii: "X")
        try expect(foreign, "bad magic")
        try good.write(to: shard)
        XCTAssertNoThrow(try ShardReader(url: shard, tokenizerSHA256: nil))
        try Data("{".utf8).write(to: out.appendingPathComponent("manifest.json"))
        XCTAssertThrowsError(try PackedDataset(directory: out, tokenizerSHA256: nil)) { error in
            XCTAssertTrue(error.localizedDescription.contains("manifest"), error.localizedDescription)
        }
    }

    func testRecordWithoutLossTokensIsAnErrorOrCountedWhenSkipping() throws {
        var recs = records(5)
        recs.insert(SFTRecord(id: "q-only", messages: [.user("No answer here.")]), at: 3)
        XCTAssertThrowsError(try build(recs)) { error in
            XCTAssertTrue(error.localizedDescription.contains(":4: record q-only has no tokens to learn from"), error.localizedDescription)
        }
        let (m, _) = try build(recs) { $0.skipInvalid = true }
        XCTAssertEqual(m.stats.zeroLossSkipped, 1)
        XCTAssertEqual(m.splits["train"]!.documents, 5)
    }

    func testOverlongDocumentsAreDroppedOrTruncatedAndCounted() throws {
        let long = SFTRecord(id: "long", messages: [.user("Go."), .assistant(String(repeating: "step by step ", count: 60))])
        let recs = [long] + records(4)
        let (dropped, _) = try build(recs, seqLen: 128)
        XCTAssertEqual(dropped.stats.dropped, 1)
        XCTAssertEqual(dropped.splits["train"]!.documents, 4)
        let (truncated, out) = try build(recs, seqLen: 128) { $0.overlong = .truncate }
        XCTAssertEqual(truncated.stats.truncated, 1)
        XCTAssertEqual(truncated.splits["train"]!.documents, 5)
        let data = try PackedDataset(directory: out, tokenizerSHA256: nil)
        let lengths = (0..<data.rows("train")).flatMap { data.row("train", $0).documents.map(\.length) }
        XCTAssertTrue(lengths.contains(128), "the long document kept its first seq_len tokens")
    }

    func testSplitDependsOnlyOnRecordIDs() throws {
        let recs = records(200)
        let (a, _) = try build(recs, val: 0.25)
        let (b, _) = try build(recs.reversed(), val: 0.25)
        XCTAssertEqual(a.splits["val"]!.documents, b.splits["val"]!.documents)
        XCTAssertEqual(a.splits["val"]!.lossTokens, b.splits["val"]!.lossTokens)
        XCTAssertEqual(DatasetBuilder.isValidation(id: "r17", fraction: 0.25), DatasetBuilder.isValidation(id: "r17", fraction: 0.25))
        XCTAssertFalse(DatasetBuilder.isValidation(id: "anything", fraction: 0))
    }

    func testFailedBuildLeavesThePreviousDatasetIntact() throws {
        let (first, out) = try build(records(30))
        let bad = dir.appendingPathComponent("bad.jsonl")
        try writeJSONL([try records(1)[0].jsonLine(), "{not json"], to: bad)
        var o = DatasetBuilder.Options(input: bad, output: out, seqLen: 256)
        o.validationFraction = 0
        XCTAssertThrowsError(try DatasetBuilder(o, tokenizer: try TestTokenizer.get()).build()) { error in
            XCTAssertTrue(error.localizedDescription.contains("bad.jsonl:2:"), error.localizedDescription)
        }
        XCTAssertEqual(try Manifest.load(from: out), first)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "no staging folders left behind")
    }

    func testShardsRotateAndReadBackAcrossShards() throws {
        let (m, out) = try build(records(200), seqLen: 128) { $0.rowsPerShard = 10 }
        XCTAssertGreaterThan(m.splits["train"]!.shards.count, 2)
        let data = try PackedDataset(directory: out, tokenizerSHA256: nil)
        XCTAssertEqual(data.rows("train"), m.splits["train"]!.rows)
        XCTAssertEqual((0..<data.rows("train")).reduce(0) { $0 + data.row("train", $1).documents.count }, 200)
    }
}
