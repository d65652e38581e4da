import ChatTemplates
import Datasets
import Foundation
import Tokenizers
import XCTest

/// Rendering, tokenizing and masking conversations with a chat template and a tokenizer.
final class ChatEncoderTests: XCTestCase {
    let conversation: [ChatMessage] = [.system("Be brief."), .user("What is 7 × 8?"), .assistant("It is 56."),
                                       .user("And 9 × 9?"), .assistant("81.\n  Done.")]

    /// The loss-carrying runs of a mask, as id lists.
    func lossRuns(_ ids: [Int32], _ mask: [UInt8]) -> [[Int32]] {
        var runs: [[Int32]] = [], cur: [Int32] = []
        for (id, m) in zip(ids, mask) {
            if m == 1 { cur.append(id) } else if !cur.isEmpty { runs.append(cur); cur = [] }
        }
        if !cur.isEmpty { runs.append(cur) }
        return runs
    }

    func testBCSFTMaskCoversExactlyAssistantTurnsAndTheirEOS() throws {
        let tok = try TestTokenizer.get()
        let chat = try ChatEncoder(setting: "bcsft", tokenizer: tok, modelFolder: nil)
        let (ids, mask) = try chat.encode(conversation)
        XCTAssertEqual(ids.count, mask.count)
        XCTAssertEqual(ids.first, tok.bosID)
        XCTAssertEqual(mask.first, 0, "BOS carries no loss")
        let runs = lossRuns(ids, mask)
        XCTAssertEqual(runs.count, 2)
        for (run, answer) in zip(runs, ["It is 56.", "81.\n  Done."]) {
            XCTAssertEqual(run.last, tok.eosID, "each assistant turn ends with a trained EOS")
            XCTAssertEqual(try tok.decode(Array(run.dropLast())), answer)
        }
        XCTAssertEqual(ids.last, tok.eosID)
        XCTAssertEqual(mask.last, 1)
        for marker in ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"] {
            let id = try XCTUnwrap(tok.id(forPiece: marker))
            for (i, x) in ids.enumerated() where x == id { XCTAssertEqual(mask[i], 0, marker) }
        }
        XCTAssertEqual(ids.filter { $0 == tok.id(forPiece: "<|user|>") }.count, 2)
        XCTAssertEqual(chat.endOfTurnIDs, [tok.eosID!])
        // The text is split at the pieces, each segment encoded alone (HF's slow tokenizers do
        // the same): an answer encodes exactly as the same text on its own.
        XCTAssertEqual(Array(runs[0].dropLast()), try tok.encode("It is 56."))
    }

    func testGenerationPromptIsThePrefixOfTheTrainingRendering() throws {
        let tok = try TestTokenizer.get()
        for name in ["bcsft", "llama2"] {
            let chat = try ChatEncoder(setting: name, tokenizer: tok, modelFolder: nil)
            let full = try chat.encode(Array(conversation.prefix(3))).ids
            let prompt = try chat.promptIDs(Array(conversation.prefix(2)))
            XCTAssertEqual(Array(full.prefix(prompt.count)), prompt, "\(name): what the student sees at inference is what it was trained on")
        }
    }

    func testLlama2RenderingByHand() throws {
        let tok = try TestTokenizer.get()
        let chat = try ChatEncoder(setting: "llama2", tokenizer: tok, modelFolder: nil)
        XCTAssertEqual(try chat.render(conversation),
                       "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nWhat is 7 × 8? [/INST] It is 56. </s><s>[INST] And 9 × 9? [/INST] 81.\n  Done. </s>")
        let (ids, mask) = try chat.encode(conversation)
        let runs = lossRuns(ids, mask)
        XCTAssertEqual(runs.count, 2)
        // The answer's tokens (the first one carries the template's space) through EOS.
        for (run, answer) in zip(runs, ["It is 56.", "81.\n  Done."]) {
            XCTAssertEqual(run.last, tok.eosID)
            XCTAssertEqual(try tok.decode(Array(run.dropLast())).trimmingCharacters(in: .whitespaces), answer)
        }
        XCTAssertThrowsError(try chat.encode([.user("a"), .user("b")])) { XCTAssertTrue("\($0)".contains("alternate"), "\($0)") }
    }

    func testHashesFollowTemplateVariablesAndTokenizer() throws {
        let tok = try TestTokenizer.get()
        let a = try ChatEncoder(setting: "bcsft", tokenizer: tok, modelFolder: nil)
        XCTAssertEqual(a.sha256, try ChatEncoder(setting: "bcsft", tokenizer: tok, modelFolder: nil).sha256)
        XCTAssertNotEqual(a.sha256, try ChatEncoder(setting: "llama2", tokenizer: tok, modelFolder: nil).sha256)
        XCTAssertNotEqual(a.sha256, try ChatEncoder(template: a.template, tokenizer: tok, variables: ["enable_thinking": .bool(false)]).sha256)
        XCTAssertNotEqual(a.sha256, try ChatEncoder(setting: "bcsft", tokenizer: try TestTokenizer.other(), modelFolder: nil).sha256)
        XCTAssertEqual(a.sha256.count, 64)
        XCTAssertThrowsError(try ChatEncoder(setting: "chatml", tokenizer: tok, modelFolder: nil)) {
            XCTAssertTrue($0.localizedDescription.contains("'chatml' is not auto"), $0.localizedDescription)
        }
    }

    func testMissingMarkerIsAClearError() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let plain = try SentencePieceTrainer(vocabularySize: 400).train(
            inputs: [repoRoot.appendingPathComponent("data/smoke/corpus.txt")], output: dir.appendingPathComponent("p.model"))
        XCTAssertThrowsError(try ChatEncoder(setting: "bcsft", tokenizer: plain, modelFolder: nil)) { error in
            XCTAssertEqual(error as? DatasetError, .missingMarker(template: "bcsft", piece: "<|system|>"))
            XCTAssertTrue(error.localizedDescription.contains("use template auto"), error.localizedDescription)
        }
        XCTAssertNoThrow(try ChatEncoder(setting: "llama2", tokenizer: plain, modelFolder: nil).encode(conversation), "llama2 needs no markers")
    }

    /// A SentencePiece tokenizer with Gemma's turn markers as pieces, in a folder with a template.
    func folder(template: String, markers: [String], config: [String: String] = [:]) throws -> (URL, SentencePieceTokenizer) {
        let dir = try temporaryDirectory()
        var trainer = SentencePieceTrainer(vocabularySize: 500)
        trainer.userDefinedSymbols = markers
        let tok = try trainer.train(inputs: [repoRoot.appendingPathComponent("data/smoke/corpus.txt")], output: dir.appendingPathComponent("tokenizer.model"))
        try template.write(to: dir.appendingPathComponent("chat_template.jinja"), atomically: true, encoding: .utf8)
        if !config.isEmpty {
            try JSONSerialization.data(withJSONObject: config).write(to: dir.appendingPathComponent("tokenizer_config.json"))
        }
        return (dir, tok)
    }

    /// The formats of Gemma, Mistral and Llama 2 (the ChatTemplates fixtures, written for the
    /// tests) on a SentencePiece tokenizer: the loss tokens decode to each answer and its end of turn.
    func testMasksFromTheFixtureTemplates() throws {
        let templates = repoRoot.appendingPathComponent("Tests/ChatTemplatesTests/Fixtures/templates")
        let cases: [(String, [String], String)] = [("gemma", ["<start_of_turn>", "<end_of_turn>"], "<end_of_turn>"),
                                                    ("mistral", [], "</s>"), ("llama2", [], "</s>")]
        for (name, markers, end) in cases {
            let source = try String(contentsOf: templates.appendingPathComponent("\(name).jinja"), encoding: .utf8)
            let (dir, tok) = try folder(template: source, markers: markers, config: ["bos_token": "<s>", "eos_token": "</s>"])
            defer { try? FileManager.default.removeItem(at: dir) }
            let chat = try ChatEncoder(setting: "auto", tokenizer: tok, modelFolder: dir)
            let endID = try XCTUnwrap(tok.id(forPiece: end))
            XCTAssertTrue(chat.endOfTurnIDs.contains(endID), name)
            for messages in [conversation, Array(conversation.dropFirst())] {
                let (ids, mask) = try chat.encode(messages)
                let runs = lossRuns(ids, mask)
                XCTAssertEqual(runs.count, 2, name)
                for (run, answer) in zip(runs, ["It is 56.", "81.\n  Done."]) {
                    XCTAssertEqual(run.last, endID, name)
                    // The template's whitespace between the answer and its end of turn is trained
                    // too (Gemma's newline, Llama 2's space): the student must emit it to stop.
                    XCTAssertEqual(try tok.decode(Array(run.dropLast())).trimmingCharacters(in: .whitespacesAndNewlines), answer, name)
                }
                XCTAssertEqual(ids, try chat.encode(messages).ids, "deterministic")
            }
        }
    }

    func testTemplatesWhoseAssistantSpansCannotBeFoundAreRefused() throws {
        let tok = try TestTokenizer.get()
        let upper = try ChatTemplate("{% for m in messages %}{{ m['content'] | upper }}{{ eos_token }}{% endfor %}", name: "upper.jinja")
        XCTAssertThrowsError(try ChatEncoder(template: upper, tokenizer: tok).encode(conversation)) {
            XCTAssertTrue($0.localizedDescription.contains("upper.jinja: assistant message 3 does not appear as given"), $0.localizedDescription)
        }
        let open = try ChatTemplate("{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '\\n' }}{% endfor %}", name: "plain.jinja")
        XCTAssertThrowsError(try ChatEncoder(template: open, tokenizer: tok).checkLossSpans()) {
            XCTAssertTrue($0.localizedDescription.contains("is not followed by a special token that closes its turn"), $0.localizedDescription)
        }
        // Generation still works with such a template: it ends at EOS.
        XCTAssertEqual(try ChatEncoder(template: open, tokenizer: tok).endOfTurnIDs, [tok.eosID!])
    }

    func testAutoWithoutATemplateNamesWhatIsMissing() throws {
        let tok = try TestTokenizer.get()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try ChatEncoder(setting: "auto", tokenizer: tok, modelFolder: dir)) {
            XCTAssertTrue($0.localizedDescription.contains("no chat template: neither chat_template.jinja nor a chat_template in tokenizer_config.json"), $0.localizedDescription)
        }
    }
}
