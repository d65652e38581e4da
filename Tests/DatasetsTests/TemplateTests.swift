import Datasets
import Foundation
import Tokenizers
import XCTest

final class TemplateTests: XCTestCase {
    let conversation: [ChatMessage] = [.system("Be brief."), .user("What is 7 × 8?"), .assistant("It is 56."),
                                       .user("And 9 × 9?"), .assistant("81.\n  Done.")]

    func testMaskCoversExactlyAssistantTurnsAndTheirEOS() throws {
        let tok = try TestTokenizer.get()
        let (ids, mask) = try ChatTemplate.default.encode(conversation, with: tok)
        XCTAssertEqual(ids.count, mask.count)
        XCTAssertEqual(ids.first, tok.bosID)
        XCTAssertEqual(mask.first, 0, "BOS carries no loss")
        // Loss-carrying runs, decoded: exactly the two answers, each followed by its EOS.
        var runs: [[Int32]] = [], cur: [Int32] = []
        for (id, m) in zip(ids, mask) {
            if m == 1 { cur.append(id) } else if !cur.isEmpty { runs.append(cur); cur = [] }
        }
        if !cur.isEmpty { runs.append(cur) }
        XCTAssertEqual(runs.count, 2)
        for (run, answer) in zip(runs, ["It is 56.", "81.\n  Done."]) {
            XCTAssertEqual(run.last, tok.eosID, "each assistant turn ends with a trained EOS")
            XCTAssertEqual(try tok.decode(Array(run.dropLast())), answer)
        }
        XCTAssertEqual(ids.last, tok.eosID)
        XCTAssertEqual(mask.last, 1)
        // Every marker is a single untrained piece.
        for marker in ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"] {
            let id = try XCTUnwrap(tok.id(forPiece: marker))
            for (i, x) in ids.enumerated() where x == id { XCTAssertEqual(mask[i], 0, marker) }
        }
        XCTAssertEqual(ids.filter { $0 == tok.id(forPiece: "<|user|>") }.count, 2)
        XCTAssertEqual(mask.reduce(0) { $0 + Int($1) }, runs.reduce(0) { $0 + $1.count })
    }

    func testGenerationPromptIsThePrefixOfTheTrainingRendering() throws {
        let tok = try TestTokenizer.get()
        let full = try ChatTemplate.default.encode(Array(conversation.prefix(3)), with: tok).ids
        let prompt = try ChatTemplate.default.encode(Array(conversation.prefix(2)), with: tok, addGenerationPrompt: true).ids
        XCTAssertEqual(Array(full.prefix(prompt.count)), prompt, "what the student sees at inference is what it was trained on")
        XCTAssertEqual(prompt.last, tok.id(forPiece: "<|assistant|>"))
    }

    func testLlama2RenderingByHand() throws {
        let segs = ChatTemplate(.llama2).render(conversation)
        XCTAssertEqual(segs, [
            .bos, .text("[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nWhat is 7 × 8? [/INST]", loss: false),
            .text(" It is 56. ", loss: true), .eos(loss: true),
            .bos, .text("[INST] And 9 × 9? [/INST]", loss: false),
            .text(" 81.\n  Done. ", loss: true), .eos(loss: true),
        ])
    }

    func testTemplateHashesDifferAndAreStable() {
        XCTAssertEqual(ChatTemplate.default.sha256, ChatTemplate(.bcsft).sha256)
        XCTAssertNotEqual(ChatTemplate(.bcsft).sha256, ChatTemplate(.llama2).sha256)
        XCTAssertEqual(ChatTemplate.default.sha256.count, 64)
        XCTAssertThrowsError(try ChatTemplate.named("chatml"))
    }

    func testMissingMarkerIsAClearError() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let plain = try SentencePieceTrainer(vocabularySize: 400).train(
            inputs: [repoRoot.appendingPathComponent("data/smoke/corpus.txt")], output: dir.appendingPathComponent("p.model"))
        XCTAssertThrowsError(try ChatTemplate.default.encode(conversation, with: plain)) { error in
            XCTAssertEqual(error as? DatasetError, .missingMarker(template: "bcsft", piece: "<|system|>"))
            XCTAssertTrue(error.localizedDescription.contains("train a SentencePiece tokenizer with template bcsft") && error.localizedDescription.contains("llama2 needs none"), error.localizedDescription)
        }
        XCTAssertNoThrow(try ChatTemplate(.llama2).encode(conversation, with: plain), "llama2 needs no markers")
    }
}
