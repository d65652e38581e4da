import Datasets
import Foundation
import XCTest

/// `bcsft dataset build` and `tokenizer train` given what a careless or hostile user gives: a
/// folder it must not replace, leftovers of killed builds, records and files that are not what
/// they claim. Each case was reproduced before it was handled.
final class DatasetHardeningTests: XCTestCase {
    var dir: URL!
    var exe: String!
    var model: URL!
    var input: URL!

    override func setUpWithError() throws {
        dir = try temporaryDirectory()
        exe = try bcsftExecutable()
        model = dir.appendingPathComponent("t.model")
        try XCTUnwrap(try TestTokenizer.get().files["tokenizer.model"]).write(to: model)
        input = dir.appendingPathComponent("sft.jsonl")
        try writeJSONL(try records(6).map { try $0.jsonLine() }, to: input)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func build(records: URL? = nil, output: String, _ extra: [String] = []) throws -> (Int32, String, String) {
        try runProcess(exe, ["dataset", "build", "--records", (records ?? input).path, "--tokenizer", model.path, "--seq-len", "256",
                             "--output", output] + extra)
    }

    func testAFolderThatIsNotADatasetIsNeverReplaced() throws {
        // The folder holding the input, `.` in the issue's report: refused, untouched.
        let mine = dir.appendingPathComponent("mine")
        try FileManager.default.createDirectory(at: mine, withIntermediateDirectories: true)
        try "keep me".write(to: mine.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        var r = try build(output: mine.path)
        XCTAssertNotEqual(r.0, 0)
        XCTAssertTrue(r.2.contains("it exists and is not a dataset folder"), r.2)
        XCTAssertEqual(try String(contentsOf: mine.appendingPathComponent("notes.txt"), encoding: .utf8), "keep me")
        r = try build(output: "/")
        XCTAssertNotEqual(r.0, 0)
        XCTAssertTrue(r.2.contains("/: cannot write: it exists and is not a dataset folder"), r.2)
        // A dataset folder is ours: a second build replaces it.
        let ds = dir.appendingPathComponent("ds")
        XCTAssertEqual(try build(output: ds.path).0, 0)
        XCTAssertEqual(try build(output: ds.path).0, 0)
    }

    func testLeftoversOfKilledBuildsAreCleanedAndAMovedAsideFolderComesBack() throws {
        let ds = dir.appendingPathComponent("ds")
        XCTAssertEqual(try build(output: ds.path).0, 0)
        // What killed builds leave: a staging folder of a dead process, one of an older build
        // (no pid in its name), and the previous dataset moved aside just before a rename.
        let fm = FileManager.default
        for name in [".ds.writing-999999-abcd1234", ".ds.writing-0a1b2c3d"] {
            try fm.createDirectory(at: dir.appendingPathComponent(name), withIntermediateDirectories: true)
            try Data(count: 1 << 20).write(to: dir.appendingPathComponent(name).appendingPathComponent("train-00000.bin"))
        }
        try fm.moveItem(at: ds, to: dir.appendingPathComponent(".ds.old-12345678"))
        XCTAssertEqual(try build(output: ds.path).0, 0)
        let left = try fm.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".ds.") }
        XCTAssertEqual(left, [], "nothing of the killed builds remains")
        XCTAssertTrue(fm.fileExists(atPath: ds.appendingPathComponent("manifest.json").path))
    }

    func testOversizedRecordsDuplicateKeysAndNonFilesAreErrorsNamingTheLine() throws {
        // A 50 MB record: refused at its line at once, not tokenized until memory runs out.
        let big = dir.appendingPathComponent("big.jsonl")
        let huge = String(repeating: "x", count: 50 << 20)
        try (#"{"id": "a", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "ok"}]}"# + "\n"
            + #"{"id": "b", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": ""# + huge + #""}]}"# + "\n")
            .write(to: big, atomically: false, encoding: .utf8)
        var r = try build(records: big, output: dir.appendingPathComponent("d1").path)
        XCTAssertNotEqual(r.0, 0)
        XCTAssertTrue(r.2.contains("big.jsonl:2: the record is 50 MiB, over the 4 MiB a record may hold"), r.2)
        // A key written twice: Foundation would keep one of them silently.
        let dup = dir.appendingPathComponent("dup.jsonl")
        try writeJSONL([#"{"id": "a", "id": "b", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}"#], to: dup)
        r = try build(records: dup, output: dir.appendingPathComponent("d2").path)
        XCTAssertTrue(r.2.contains("dup.jsonl:1: key 'id' appears twice"), r.2)
        // A folder and a device given as the records file.
        r = try build(records: dir, output: dir.appendingPathComponent("d3").path)
        XCTAssertTrue(r.2.contains("is a folder, not a file"), r.2)
        r = try build(records: URL(fileURLWithPath: "/dev/urandom"), output: dir.appendingPathComponent("d4").path)
        XCTAssertTrue(r.2.contains("/dev/urandom: cannot read: is not a regular file"), r.2)
        r = try runProcess(exe, ["tokenizer", "train", "--corpus", "/dev/zero", "--vocab-size", "100", "--output", dir.appendingPathComponent("z.model").path])
        XCTAssertNotEqual(r.0, 0)
    }

    func testSizesAreCheckedBeforeAnythingIsAllocated() throws {
        let r = try runProcess(exe, ["dataset", "build", "--records", input.path, "--tokenizer", model.path, "--seq-len", "99999999999",
                                     "--output", dir.appendingPathComponent("d").path])
        XCTAssertNotEqual(r.0, 0)
        XCTAssertTrue(r.2.contains("seq_len (--seq-len): 99999999999 is above 1048576 tokens per row"), r.2)
    }

    func testAVocabularyTooSmallForTheCorpusSaysWhatToChange() throws {
        let text = dir.appendingPathComponent("cjk.txt")
        var g = SystemRandomNumberGenerator()
        let lines = (0..<300).map { _ in String((0..<40).map { _ in Character(UnicodeScalar(0x4E00 + Int.random(in: 0..<400, using: &g))!) }) }
        try lines.joined(separator: "\n").write(to: text, atomically: true, encoding: .utf8)
        let r = try runProcess(exe, ["tokenizer", "train", "--corpus", text.path, "--vocab-size", "300", "--output", dir.appendingPathComponent("c.model").path])
        XCTAssertNotEqual(r.0, 0)
        XCTAssertTrue(r.2.contains("vocab_size 300 is too small for this corpus") && r.2.contains("Raise vocab_size above"), r.2)
        XCTAssertFalse(r.2.contains("trainer_interface.cc"), "not SentencePiece's internal assertion: \(r.2)")
    }
}
