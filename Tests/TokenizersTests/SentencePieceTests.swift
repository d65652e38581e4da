import Foundation
import TestSupport
import Tokenizers
import XCTest

final class SentencePieceTests: XCTestCase {
    func testEncodeMatchesPythonReferenceIDs() throws {
        let tok = try SentencePieceTokenizer(contentsOf: Fixture.referenceModel)
        let lines = try Fixture.parityLines(), expected = try Fixture.parityIDs()
        XCTAssertEqual(lines.count, expected.count)
        for (line, ids) in zip(lines, expected) {
            XCTAssertEqual(try tok.encode(line), ids, "line: \(line.debugDescription)")
        }
        XCTAssertEqual(try tok.encode(batch: lines), expected, "batch encoding on every core keeps order and ids")
    }

    func testSpecialIDsPiecesAndUserSymbols() throws {
        let tok = try SentencePieceTokenizer(contentsOf: Fixture.referenceModel)
        XCTAssertEqual(tok.vocabularySize, 450)
        XCTAssertEqual([tok.unknownID, tok.bosID, tok.eosID, tok.padID], [0, 1, 2, 3])
        XCTAssertEqual(try tok.piece(forID: 1), "<s>")
        XCTAssertEqual(try tok.piece(forID: 2), "</s>")
        XCTAssertTrue(tok.isControl(1))
        XCTAssertFalse(tok.isControl(300))
        let user = try XCTUnwrap(tok.id(forPiece: "<|user|>"))
        XCTAssertTrue(try tok.encode("<|user|>hi").contains(user), "a user-defined symbol is one piece")
        XCTAssertNil(tok.id(forPiece: "definitely-not-a-piece"))
        XCTAssertEqual(tok.id(forPiece: "<unk>"), 0)
        XCTAssertThrowsError(try tok.piece(forID: 450))
        XCTAssertThrowsError(try tok.decode([5, 999])) { error in
            XCTAssertEqual(error as? TokenizerError, .unknownID(999, vocabularySize: 450))
        }
    }

    func testSHA256IsTheModelFilesHash() throws {
        let tok = try SentencePieceTokenizer(contentsOf: Fixture.referenceModel)
        let (status, out, _) = try runProcess("/usr/bin/sha256sum", [Fixture.referenceModel.path])
        XCTAssertEqual(status, 0)
        XCTAssertEqual(tok.sha256, String(out.prefix(64)))
    }

    func testMissingAndCorruptModelsGiveClearErrors() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("missing.model")
        XCTAssertThrowsError(try SentencePieceTokenizer(contentsOf: missing)) { error in
            XCTAssertTrue(error.localizedDescription.contains(missing.path), error.localizedDescription)
        }
        let garbage = dir.appendingPathComponent("garbage.model")
        try Data("not a sentencepiece model at all".utf8).write(to: garbage)
        XCTAssertThrowsError(try SentencePieceTokenizer(contentsOf: garbage)) { error in
            guard case let .cannotLoad(path, reason)? = error as? TokenizerError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, garbage.path)
            XCTAssertFalse(reason.isEmpty)
        }
        let truncated = dir.appendingPathComponent("truncated.model")
        let bytes = try Data(contentsOf: Fixture.referenceModel)
        try bytes.prefix(bytes.count / 3).write(to: truncated)
        XCTAssertThrowsError(try SentencePieceTokenizer(contentsOf: truncated)) { error in
            XCTAssertTrue(error.localizedDescription.contains("truncated.model"), error.localizedDescription)
        }
    }

    func testTrainUnigramAndBPEWithUserSymbolsAndExactRoundTrip() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let corpus = repoRoot.appendingPathComponent("data/smoke/corpus.txt")
        let lines = try Fixture.parityLines()
        for type in [SentencePieceTrainer.ModelType.unigram, .bpe] {
            var trainer = SentencePieceTrainer(vocabularySize: 500, modelType: type)
            trainer.userDefinedSymbols = ["<|user|>", "<|assistant|>"]
            let out = dir.appendingPathComponent("\(type.rawValue).model")
            let tok = try trainer.train(inputs: [corpus], output: out)
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.path))
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("\(type.rawValue).vocab").path))
            XCTAssertGreaterThan(tok.vocabularySize, 300)
            XCTAssertNotNil(tok.id(forPiece: "<|assistant|>"))
            for line in lines {
                XCTAssertEqual(try tok.decode(tok.encode(line)), line, "\(type) round trip of \(line.debugDescription)")
            }
            // Digits are split one by one, so numbers tokenize the same wherever they appear.
            for id in try tok.encode("total 2520 and 31415") {
                let piece = try tok.piece(forID: id)
                XCTAssertLessThanOrEqual(piece.filter(\.isNumber).count, 1, "\(type): piece \(piece) holds several digits")
            }
        }
        // Training leaves nothing behind but the model and its vocab.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(),
                       ["bpe.model", "bpe.vocab", "unigram.model", "unigram.vocab"])
    }

    func testTrainingRejectsBadOptions() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try SentencePieceTrainer(vocabularySize: 100).train(
            inputs: [dir.appendingPathComponent("none.txt")], output: dir.appendingPathComponent("m.model"))) { error in
            XCTAssertTrue(error.localizedDescription.contains("none.txt"), error.localizedDescription)
        }
        let input = dir.appendingPathComponent("in.txt")
        try "a b c\n".write(to: input, atomically: true, encoding: .utf8)
        var t = SentencePieceTrainer(vocabularySize: 100)
        t.userDefinedSymbols = ["a,b"]
        XCTAssertThrowsError(try t.train(inputs: [input], output: dir.appendingPathComponent("m.model")))
        t.userDefinedSymbols = []
        t.extraOptions = ["model_type": "nonsense"]
        XCTAssertThrowsError(try t.train(inputs: [input], output: dir.appendingPathComponent("m.model"))) { error in
            XCTAssertTrue(error.localizedDescription.contains("training failed"), error.localizedDescription)
        }
    }
}
