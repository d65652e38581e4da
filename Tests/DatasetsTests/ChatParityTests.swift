import ChatTemplates
import Datasets
import Foundation
import Tokenizers
import XCTest

/// bcsft's render-tokenize-mask path against transformers' apply_chat_template, on the fixtures of
/// Fixtures/chat (Llama-3-, Qwen2.5- and Qwen3-style folders, byte-level BPE tokenizer.json, each
/// model's template; made by make_chat_fixtures.py with transformers and tokenizers from PyPI).
final class ChatParityTests: XCTestCase {
    struct Fixture: Decodable {
        let cases: [Case]
    }

    struct Case: Decodable {
        let name, folder, text: String
        let messages: [[String: String]]
        let addGenerationPrompt: Bool
        let variables: [String: TemplateVariable]
        let ids: [Int32]
        let assistantSpans: [Span?]

        enum CodingKeys: String, CodingKey {
            case name, folder, text, messages, variables, ids
            case addGenerationPrompt = "add_generation_prompt", assistantSpans = "assistant_spans"
        }
    }

    /// Where Python found an assistant's content and its end of turn (UTF-8 offsets into `text`).
    struct Span: Decodable {
        let utf8Start: Int?
        let endTokenUTF8End: Int?
        let endToken: String?
        enum CodingKeys: String, CodingKey { case utf8Start = "utf8_start", endTokenUTF8End = "end_token_utf8_end", endToken = "end_token" }
    }

    static let dir = repoRoot.appendingPathComponent("Tests/DatasetsTests/Fixtures/chat")

    func load() throws -> [Case] {
        try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: Self.dir.appendingPathComponent("chat_ids.json"))).cases
    }

    func encoder(_ c: Case) throws -> ChatEncoder {
        let folder = Self.dir.appendingPathComponent(c.folder)
        return try ChatEncoder(setting: "auto", tokenizer: try loadTokenizer(at: folder), modelFolder: folder, variables: c.variables)
    }

    func messages(_ c: Case) -> [ChatMessage] {
        c.messages.map { ChatMessage(ChatMessage.Role(rawValue: $0["role"]!)!, $0["content"]!) }
    }

    /// Text and ids identical to apply_chat_template(tokenize=False / True), every case.
    func testRenderingAndIdsEqualApplyChatTemplate() throws {
        let cases = try load()
        XCTAssertEqual(cases.count, 60)
        for c in cases {
            let chat = try encoder(c)
            XCTAssertEqual(try chat.render(messages(c), addGenerationPrompt: c.addGenerationPrompt), c.text, c.name)
            XCTAssertEqual(try chat.ids(messages(c), addGenerationPrompt: c.addGenerationPrompt), c.ids, c.name)
            if c.addGenerationPrompt { XCTAssertEqual(try chat.promptIDs(messages(c)), c.ids, c.name) }
        }
    }

    /// On every conversation ending with an assistant turn: each loss run decodes to exactly the
    /// span Python found by its own search (the content through its end-of-turn token); where the
    /// template drops an assistant's content (Qwen3's earlier reasoning), the record is refused.
    func testLossMasksMatchTheIndependentlyFoundSpans() throws {
        var checked = 0, refused = 0
        for c in try load() where !c.addGenerationPrompt {
            let chat = try encoder(c)
            if c.assistantSpans.contains(where: { $0?.utf8Start == nil }) {
                XCTAssertThrowsError(try chat.encode(messages(c)), c.name) {
                    XCTAssertTrue($0.localizedDescription.contains("does not appear as given"), "\(c.name): \($0.localizedDescription)")
                }
                refused += 1
                continue
            }
            let (ids, mask) = try chat.encode(messages(c))
            let tok = chat.tokenizer
            var runs: [[Int32]] = [], cur: [Int32] = []
            for (id, m) in zip(ids, mask) {
                if m == 1 { cur.append(id) } else if !cur.isEmpty { runs.append(cur); cur = [] }
            }
            if !cur.isEmpty { runs.append(cur) }
            let bytes = Array(c.text.utf8)
            let expected = c.assistantSpans.map { s in String(decoding: bytes[s!.utf8Start!..<s!.endTokenUTF8End!], as: UTF8.self) }
            XCTAssertEqual(runs.count, expected.count, c.name)
            for (run, want) in zip(runs, expected) {
                XCTAssertEqual(try tok.decode(run), want, c.name)
                XCTAssertTrue(chat.endOfTurnIDs.contains(run.last!), c.name)
            }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 10)
        XCTAssertGreaterThan(refused, 0, "the fixtures hold Qwen3 conversations whose earlier reasoning the template drops")
    }

    /// Generation stops at the template's end of turn: <|eot_id|> for Llama 3, <|im_end|> for Qwen.
    func testEndOfTurnIDs() throws {
        for (folder, end) in [("llama3", "<|eot_id|>"), ("qwen25", "<|im_end|>"), ("qwen3", "<|im_end|>")] {
            let dir = Self.dir.appendingPathComponent(folder)
            let tok = try loadTokenizer(at: dir)
            let chat = try ChatEncoder(setting: "auto", tokenizer: tok, modelFolder: dir)
            XCTAssertTrue(chat.endOfTurnIDs.contains(try XCTUnwrap(tok.id(forPiece: end))), folder)
        }
    }
}
