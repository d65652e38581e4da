import Foundation

/// A value inside a parsed tokenizer.json that knows its JSON path, so every error names the
/// field it is about (`pre_tokenizer.pretokenizers[0].pattern.Regex`).
struct JSONNode {
    let value: Any?
    let path: String
    let file: String

    static func parse(_ data: Data, file: String) throws -> JSONNode {
        do {
            return JSONNode(value: try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]), path: "", file: file)
        } catch {
            throw TokenizerError.malformed(file: file, field: "(root)", detail: "not valid JSON (\(error.localizedDescription))")
        }
    }

    subscript(key: String) -> JSONNode {
        JSONNode(value: (value as? [String: Any])?[key], path: path.isEmpty ? key : "\(path).\(key)", file: file)
    }

    var isNull: Bool { value == nil || value is NSNull }
    var name: String { path.isEmpty ? "(root)" : path }

    func malformed(_ detail: String) -> TokenizerError { .malformed(file: file, field: name, detail: detail) }
    func unsupported(_ detail: String) -> TokenizerError { .unsupported(file: file, field: name, detail: detail) }

    func string() throws -> String {
        guard let s = value as? String else { throw malformed(isNull ? "missing (a string expected)" : "a string expected") }
        return s
    }

    func optionalString() throws -> String? { isNull ? nil : try string() }

    func bool(default fallback: Bool) throws -> Bool {
        if isNull { return fallback }
        guard let b = value as? Bool else { throw malformed("true or false expected") }
        return b
    }

    func int() throws -> Int {
        guard let n = value as? NSNumber, n.doubleValue == n.doubleValue.rounded() else {
            throw malformed(isNull ? "missing (an integer expected)" : "an integer expected")
        }
        return n.intValue
    }

    func array() throws -> [JSONNode] {
        guard let a = value as? [Any] else { throw malformed(isNull ? "missing (an array expected)" : "an array expected") }
        return a.enumerated().map { JSONNode(value: $1, path: "\(path)[\($0)]", file: file) }
    }

    /// The members of an object, sorted by key so that anything built from them is deterministic.
    func object() throws -> [(key: String, node: JSONNode)] {
        guard let o = value as? [String: Any] else { throw malformed(isNull ? "missing (an object expected)" : "an object expected") }
        return o.keys.sorted().map { ($0, self[$0]) }
    }

    /// The object's `type` tag, which tokenizer.json uses to say which implementation a part is.
    func type() throws -> String { try self["type"].string() }
}
