import Foundation
import TestSupport
import Tokenizers
import XCTest

/// `bcsft tokenizer encode` against Python's sentencepiece on the same model and text.
final class ParityTests: XCTestCase {
    func testCLIEncodeMatchesPythonReferenceIDs() throws {
        let exe = try bcsftExecutable()
        let input = try Data(contentsOf: Fixture.dir.appendingPathComponent("parity.txt"))
        let (status, out, err) = try runProcess(exe, ["tokenizer", "encode", "--model", Fixture.referenceModel.path], input: input)
        XCTAssertEqual(status, 0, err)
        let got = out.components(separatedBy: "\n").dropLast().map { $0.split(separator: " ").map { Int32($0)! } }
        XCTAssertEqual(got, try Fixture.parityIDs())
    }

    func testFreshlyTrainedModelsMatchPythonSentencePiece() throws {
        guard let python = pythonWithSentencePiece() else {
            throw XCTSkip("Debian's python3-sentencepiece is not installed (scripts/setup installs it); live parity not checked")
        }
        let exe = try bcsftExecutable()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let corpus = repoRoot.appendingPathComponent("data/smoke/corpus.txt").path
        let parity = Fixture.dir.appendingPathComponent("parity.txt")
        let input = try Data(contentsOf: parity)
        for type in ["unigram", "bpe"] {
            let model = dir.appendingPathComponent("\(type).model").path
            let train = try runProcess(exe, ["tokenizer", "train", "--corpus", corpus, "--vocab-size", "480",
                                             "--model-type", type, "--output", model, "--user-symbols", "<|user|>"])
            XCTAssertEqual(train.0, 0, train.2)
            let ours = try runProcess(exe, ["tokenizer", "encode", "--model", model], input: input)
            XCTAssertEqual(ours.0, 0, ours.2)
            let script = """
            import sys, sentencepiece as spm
            sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
            for line in open(sys.argv[2], encoding="utf-8").read().split("\\n")[:-1]:
                print(" ".join(map(str, sp.encode(line))))
            """
            let theirs = try runProcess(python, ["-c", script, model, parity.path])
            XCTAssertEqual(theirs.0, 0, theirs.2)
            XCTAssertEqual(ours.1, theirs.1, "\(type): bcsft and python sentencepiece disagree")
            XCTAssertEqual(ours.1.components(separatedBy: "\n").count, try Fixture.parityLines().count + 1)
        }
    }

    func testCLIRejectsCorruptModelWithClearMessage() throws {
        let exe = try bcsftExecutable()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.model")
        try Data(repeating: 0xAB, count: 100).write(to: bad)
        let (status, _, err) = try runProcess(exe, ["tokenizer", "encode", "--model", bad.path], input: Data("hi\n".utf8))
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(err.contains("bad.model") && err.contains("not a loadable SentencePiece model"), err)
    }
}
