import Foundation
import XCTest
@testable import ChatTemplates

/// Chat rendering against transformers' apply_chat_template(tokenize=False) on the same model
/// folders: byte-identical output, or the same raise_exception message.
final class ParityTests: XCTestCase {
    private func check(folder: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let cases = try Fixtures.list("cases").filter { $0["folder"]?.string == folder }
        XCTAssertFalse(cases.isEmpty, "no cases for \(folder)", file: file, line: line)
        var matched = 0
        for c in cases {
            let label = "\(folder)/\(c["conversation"]!.string!) gen=\(c["add_generation_prompt"]!.truthy) vars=\(c["variables"]!.repr)"
            let template = try ChatTemplate.load(modelFolder: Fixtures.model(folder), named: c["named"]?.string)
            var variables: [String: Value] = [:]
            for (k, v) in c["variables"]?.dictionary?.pairs ?? [] { variables[k] = v }
            if let tools = c["tools"], case .list = tools { variables["tools"] = tools }
            let result = Result { () throws(ChatTemplateError) -> String in
                try template.render(messages: c["messages"]!.array!, addGenerationPrompt: c["add_generation_prompt"]!.truthy,
                                    variables: variables)
            }
            switch (result, c["expected"]?.string, c["error"]?.string) {
            case let (.success(out), expected?, _):
                XCTAssertEqual(out, expected, label, file: file, line: line)
                if out == expected { matched += 1 }
            case let (.failure(.raised(name, errorLine, message)), _, expected?):
                XCTAssertEqual(message, expected, label, file: file, line: line)
                // The line named is a raise_exception call of the template file the folder holds,
                // the one holding this message's start.
                let source = template.source.components(separatedBy: "\n")
                XCTAssertTrue(source.indices.contains(errorLine - 1) && source[errorLine - 1].contains("raise_exception")
                              && source[errorLine - 1].contains(expected.prefix(12)), "\(label): line \(errorLine) of \(name)",
                              file: file, line: line)
                if message == expected { matched += 1 }
            case let (.success(out), nil, error):
                XCTFail("\(label): rendered \(out.debugDescription), but transformers raised \(error ?? "?")", file: file, line: line)
            case let (.failure(error), _, _):
                XCTFail("\(label): \(error.localizedDescription); transformers gave \(c["expected"]?.str ?? c["error"]?.str ?? "?")",
                        file: file, line: line)
            }
        }
        print("parity \(folder): \(matched)/\(cases.count) identical to apply_chat_template")
    }

    func testLlama3() throws { try check(folder: "llama3") }
    func testQwen25() throws { try check(folder: "qwen25") }
    func testQwen3() throws { try check(folder: "qwen3") }
    func testMistral() throws { try check(folder: "mistral") }
    func testGemma() throws { try check(folder: "gemma") }
    func testLlama2() throws { try check(folder: "llama2") }
    func testNamedTemplatesList() throws { try check(folder: "named") }
    func testJinjaFileWinsOverConfig() throws { try check(folder: "both") }
}
