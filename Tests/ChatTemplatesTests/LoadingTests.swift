import Foundation
import XCTest
@testable import ChatTemplates

/// Where a model folder's template comes from, as transformers looks for it.
final class LoadingTests: XCTestCase {
    private func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("chat-templates-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testJinjaFile() throws {
        let t = try ChatTemplate.load(modelFolder: Fixtures.model("llama3"))
        XCTAssertEqual(t.name, "chat_template.jinja")
        XCTAssertEqual(t.source, try Fixtures.template("llama3"))
        XCTAssertEqual(t.specialTokens["bos_token"], "<|begin_of_text|>")
        XCTAssertEqual(t.specialTokens["eos_token"], "<|eot_id|>")
    }

    func testConfigString() throws {
        let t = try ChatTemplate.load(modelFolder: Fixtures.model("mistral"))
        XCTAssertEqual(t.name, "tokenizer_config.json#chat_template")
        XCTAssertEqual(t.source, try Fixtures.template("mistral"))
        XCTAssertEqual(t.specialTokens["bos_token"], "<s>")
    }

    func testNamedList() throws {
        XCTAssertEqual(try ChatTemplate.load(modelFolder: Fixtures.model("named")).source, try Fixtures.template("qwen25"))
        let thinking = try ChatTemplate.load(modelFolder: Fixtures.model("named"), named: "thinking")
        XCTAssertEqual(thinking.source, try Fixtures.template("qwen3"))
        XCTAssertTrue(thinking.name.contains("thinking"))
        XCTAssertThrowsError(try ChatTemplate.load(modelFolder: Fixtures.model("named"), named: "nope")) { error in
            XCTAssertTrue(error.localizedDescription.contains("thinking"), error.localizedDescription)  // lists what there is
        }
    }

    func testJinjaFileWins() throws {
        let t = try ChatTemplate.load(modelFolder: Fixtures.model("both"))
        XCTAssertEqual(t.source, try Fixtures.template("mistral"))
    }

    func testAdditionalTemplatesFolderAndAddedTokenForm() throws {
        let folder = try temporaryFolder()
        try #"{"bos_token": {"content": "<B>", "lstrip": false}, "eos_token": "<E>", "chat_template": [{"name": "default", "template": "d"}]}"#
            .write(to: folder.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("additional_chat_templates"), withIntermediateDirectories: true)
        try "{{ bos_token }}x{{ eos_token }}".write(to: folder.appendingPathComponent("additional_chat_templates/extra.jinja"), atomically: true, encoding: .utf8)
        let t = try ChatTemplate.load(modelFolder: folder, named: "extra")
        XCTAssertEqual(try t.render(messages: [Value]()), "<B>x<E>")
        // Variables override the folder's special tokens.
        XCTAssertEqual(try t.render(messages: [Value](), variables: ["eos_token": "!"]), "<B>x!")
    }

    func testMissingTemplateAndBadJSON() throws {
        let folder = try temporaryFolder()
        XCTAssertThrowsError(try ChatTemplate.load(modelFolder: folder)) { error in
            guard case .load? = error as? ChatTemplateError else { return XCTFail("\(error)") }
        }
        try "{not json".write(to: folder.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ChatTemplate.load(modelFolder: folder)) { error in
            XCTAssertTrue(error.localizedDescription.contains("tokenizer_config.json"), error.localizedDescription)
        }
    }

    /// A syntax error in a folder's template names the file and the line.
    func testSyntaxErrorNamesFileAndLine() throws {
        let folder = try temporaryFolder()
        try "{{ bos_token }}\n{% for m in messages %}\n{{ m.content }\n{% endfor %}\n"
            .write(to: folder.appendingPathComponent("chat_template.jinja"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ChatTemplate.load(modelFolder: folder)) { error in
            guard case let .syntax(name, line, _)? = error as? ChatTemplateError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "chat_template.jinja")
            XCTAssertEqual(line, 3)
        }
    }
}
