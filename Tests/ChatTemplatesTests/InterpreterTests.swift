import Foundation
import XCTest
@testable import ChatTemplates

/// The interpreter's parts, each snippet against what transformers' own jinja2 environment
/// rendered (template_cases.json "snippets"), and errors that name the template line.
final class InterpreterTests: XCTestCase {
    private func snippet(_ name: String) throws -> Value.Dict {
        try XCTUnwrap(try Fixtures.list("snippets").first { $0["name"]?.string == name }, "no snippet \(name)")
    }

    private func render(_ s: Value.Dict) throws -> String {
        var vars: [String: Value] = [:]
        for (k, v) in s["variables"]?.dictionary?.pairs ?? [] { vars[k] = v }
        return try ChatTemplate(s["template"]!.string!, name: s["name"]!.string!).render(vars)
    }

    private func check(_ names: String..., file: StaticString = #filePath, line: UInt = #line) throws {
        for name in names {
            let s = try snippet(name)
            XCTAssertEqual(try render(s), s["expected"]?.string, name, file: file, line: line)
        }
    }

    func testLoopVariables() throws { try check("loop_vars", "loop_prev_next", "loop_filter_else", "loop_scope", "loop_controls", "loop_unpack") }
    func testNamespaceAndSet() throws { try check("namespace", "set_block", "macros") }
    func testSlicing() throws { try check("slicing", "chained") }
    func testFilters() throws {
        try check("filters_text", "filters_default", "filters_list", "filters_convert", "filters_attr", "filters_items", "indent", "dict_global")
    }
    func testToJSON() throws { try check("tojson") }
    func testTestsOperatorsLiterals() throws { try check("tests", "operators", "literals", "numbers_print") }
    func testMethods() throws { try check("string_methods", "dict_methods") }
    func testWhitespaceControl() throws { try check("whitespace", "whitespace_lstrip_after_output") }
    func testUndefined() throws { try check("undefined", "tools_none") }

    /// Every snippet in the fixtures is covered by one of the tests above.
    func testEverySnippetChecked() throws {
        let covered: Set<String> = ["loop_vars", "loop_prev_next", "loop_filter_else", "loop_scope", "loop_controls", "loop_unpack", "namespace",
                                    "set_block", "macros", "slicing", "chained", "filters_text", "filters_default", "filters_list",
                                    "filters_convert", "filters_attr", "filters_items", "indent", "dict_global", "tojson", "tests", "operators",
                                    "literals", "numbers_print", "string_methods", "dict_methods", "whitespace",
                                    "whitespace_lstrip_after_output", "undefined", "tools_none"]
        let all = try Fixtures.list("snippets").filter { $0["expected"] != nil }.compactMap { $0["name"]?.string }
        XCTAssertEqual(Set(all).subtracting(covered), [])
    }

    /// Failing snippets: syntax errors on the line jinja2 names; runtime errors with jinja2's
    /// message on the line of the failing expression; raise_exception as its own kind.
    func testErrorsNameTheLine() throws {
        for s in try Fixtures.list("snippets") where s["kind"] != nil {
            let name = s["name"]!.string!
            let source = s["template"]!.string!
            do {
                _ = try render(s)
                XCTFail("\(name) rendered")
            } catch let error as ChatTemplateError {
                switch (s["kind"]!.string!, error) {
                case let ("syntax", .syntax(template, line, _)):
                    XCTAssertEqual(line, s["line"]?.integer, name)
                    XCTAssertEqual(template, name)
                case let ("raised", .raised(_, line, message)):
                    XCTAssertEqual(message, s["message"]?.string, name)
                    XCTAssertEqual([line], lines(of: "raise_exception", in: source), name)
                case let ("render", .render(_, line, message)):
                    XCTAssertEqual(message, s["message"]?.string, name)
                    XCTAssertEqual([line], lines(of: "missing.attr", in: source), name)
                case let (kind, .render(_, line, message)) where name == "unknown_filter":
                    // jinja2 refuses an unknown filter when compiling; this interpreter when it is reached.
                    XCTAssertEqual(kind, "syntax")
                    XCTAssertEqual(line, s["line"]?.integer, name)
                    XCTAssertTrue(message.contains("nosuchfilter"), message)
                default:
                    XCTFail("\(name): expected a \(s["kind"]!.str) error, got \(error)")
                }
                XCTAssertTrue(error.localizedDescription.contains(":\(error.line ?? -1):"), error.localizedDescription)
            }
        }
    }

    func testRefusedTagsNameTheirLine() throws {
        for tag in ["include 'x'", "extends 'x'", "call m()", "filter upper", "raw"] {
            let source = "a\nb\n{% \(tag) %}\n"
            XCTAssertThrowsError(try ChatTemplate(source)) { error in
                guard case let .syntax(_, line, message)? = error as? ChatTemplateError else { return XCTFail("\(error)") }
                XCTAssertEqual(line, 3, tag)
                XCTAssertTrue(message.contains("not supported"), message)
            }
        }
    }

    /// strftime_now formats the render's `now`; compared with Foundation's own formatting.
    func testStrftimeNow() throws {
        let zone = TimeZone(identifier: "UTC")!
        let now = Date(timeIntervalSince1970: Double(Int.random(in: 0..<2_000_000_000)))
        let out = try ChatTemplate("{{ strftime_now('%d %b %Y|%Y-%m-%d %H:%M:%S|%A %B %-d|%j') }}").render([:], now: now, timeZone: zone)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "dd MMM yyyy|yyyy-MM-dd HH:mm:ss|EEEE MMMM d|DDD"
        XCTAssertEqual(out, formatter.string(from: now))
    }

    /// Messages given as Foundation values (what JSONSerialization returns) render the same as
    /// the ordered values the fixtures use.
    func testFoundationMessages() throws {
        let json = #"[{"role": "user", "content": "hi", "n": 2, "f": 1.5, "ok": true, "none": null}]"#
        let foundation = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        let template = try ChatTemplate("{% for m in messages %}{{ m.role }} {{ m.content }} {{ m.n + 1 }} {{ m.f }} {{ m.ok is true }} {{ m.none is none }}{% endfor %}")
        XCTAssertEqual(try template.render(messages: foundation), try template.render(messages: try Value.parseJSON(json).array!))
    }
}
