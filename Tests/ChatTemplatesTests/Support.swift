import Foundation
import XCTest
@testable import ChatTemplates

/// The fixtures make_template_fixtures.py wrote: model folders and what transformers rendered.
enum Fixtures {
    static let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static func model(_ name: String) -> URL { root.appendingPathComponent("models/\(name)") }

    static func template(_ name: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent("templates/\(name).jinja"), encoding: .utf8)
    }

    /// template_cases.json, parsed keeping key order (messages reach the templates as Python saw them).
    static func cases() throws -> Value.Dict {
        let text = try String(contentsOf: root.appendingPathComponent("template_cases.json"), encoding: .utf8)
        guard case let .dict(d) = try Value.parseJSON(text) else { throw ChatTemplateError.load(path: "template_cases.json", reason: "not an object") }
        return d
    }

    static func list(_ key: String) throws -> [Value.Dict] {
        guard case let .list(items)? = try cases()[key] else { return [] }
        return items.compactMap { if case let .dict(d) = $0 { d } else { nil } }
    }
}

extension Value {
    var string: String? { if case let .string(s) = self { s } else { nil } }
    var dictionary: Value.Dict? { if case let .dict(d) = self { d } else { nil } }
    var array: [Value]? { if case let .list(l) = self { l } else { nil } }
    var integer: Int? { if case let .int(i) = self { i } else { nil } }
}

/// The 1-based lines of `text` that contain `needle`.
func lines(of needle: String, in text: String) -> [Int] {
    text.components(separatedBy: "\n").enumerated().filter { $0.element.contains(needle) }.map { $0.offset + 1 }
}
