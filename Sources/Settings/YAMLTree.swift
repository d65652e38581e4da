import Foundation
import Yams

/// A YAML document (a recipe, a training configuration) before interpretation: values typed
/// as YAML types them, every node and key with its file:line. `--set` overrides edit this tree,
/// and schemas are checked on it, so an unknown key is reported where it was written.
public indirect enum YAMLTree: Sendable {
    public struct Entry: Sendable {
        public var key: String
        public var keyAt: SourceLocation
        public var value: YAMLTree
        public init(key: String, keyAt: SourceLocation, value: YAMLTree) {
            self.key = key
            self.keyAt = keyAt
            self.value = value
        }
    }

    case scalar(SettingValue, SourceLocation)
    case list([YAMLTree], SourceLocation)
    case map([Entry], SourceLocation)

    public var location: SourceLocation {
        switch self {
        case let .scalar(_, at), let .list(_, at), let .map(_, at): at
        }
    }

    /// Parses one YAML document. Syntax errors name the line; a `${...}` inside a flow mapping
    /// or list (where `{` ends a plain scalar) gets a hint to quote it.
    /// Limits no recipe or configuration comes near, so that no file can exhaust the stack
    /// (deep nesting) or memory (an alias repeating aliases, a billion laughs) while read.
    public static let maxBytes = 16 << 20
    public static let maxFlowDepth = 64
    public static let maxIndent = 1000
    public static let maxValues = 1_000_000

    public static func parse(_ text: String, file: String) throws -> YAMLTree? {
        try checkLimits(text, file: file)
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch let error as YamlError {
            throw Self.describe(error, text: text, file: file)
        } catch {
            throw SettingsError.notYAML(SourceLocation(file: file, line: nil), problem: "\(error)")
        }
        var budget = maxValues
        return try node.map { try YAMLTree($0, file: file, budget: &budget) }
    }

    /// Size, flow nesting ([ and { inside a line) and indentation, checked on the text before
    /// the YAML library sees it (its composer recurses once per level).
    static func checkLimits(_ text: String, file: String) throws {
        guard text.utf8.count <= maxBytes else {
            throw SettingsError.invalid(key: "-", reason: "the file is \(text.utf8.count >> 20) MiB; YAML files over \(maxBytes >> 20) MiB are refused",
                                        at: SourceLocation(file: file, line: nil))
        }
        var depth = 0, line = 1, column = 0
        var quote: Character?
        var comment = false
        for c in text {
            if c == "\n" {
                line += 1
                column = 0
                comment = false
                continue
            }
            column += 1
            if comment { continue }
            if let q = quote {
                if c == q { quote = nil }
                continue
            }
            switch c {
            case "\"", "'": quote = c
            case "#": comment = true
            case "[", "{":
                depth += 1
                guard depth <= maxFlowDepth else {
                    throw SettingsError.invalid(key: "-", reason: "nested deeper than \(maxFlowDepth) levels", at: SourceLocation(file: file, line: line))
                }
            case "]", "}": depth = max(0, depth - 1)
            case " " where column > maxIndent && depth == 0:
                throw SettingsError.invalid(key: "-", reason: "indented more than \(maxIndent) columns", at: SourceLocation(file: file, line: line))
            default: break
            }
        }
    }

    init(_ node: Node, file: String, line fallback: Int? = nil, budget: inout Int) throws {
        let at = SourceLocation(file: file, line: node.mark?.line ?? fallback)
        budget -= 1
        guard budget >= 0 else {
            throw SettingsError.invalid(key: "-", reason: "expands to more than \(YAMLTree.maxValues) values (aliases repeating aliases?)", at: at)
        }
        switch node {
        case .scalar:
            self = .scalar(Self.typed(node), at)
        case let .sequence(seq):
            self = .list(try seq.map { try YAMLTree($0, file: file, line: at.line, budget: &budget) }, at)
        case let .mapping(mapping):
            var entries: [Entry] = [], merged: [Entry] = []
            for (k, v) in mapping {
                let keyAt = SourceLocation(file: file, line: k.mark?.line ?? at.line)
                guard case let .scalar(s) = k else {
                    throw SettingsError.invalid(key: "-", reason: "mapping keys must be plain names", at: keyAt)
                }
                if entries.contains(where: { $0.key == s.string }) {
                    throw SettingsError.duplicateKey(keyAt, key: s.string)
                }
                let value = try YAMLTree(v, file: file, line: keyAt.line, budget: &budget)
                // YAML's merge key: `<<: *base` (or a list of them) takes the entries of those
                // maps that this map does not give itself, so a stage can restate one setting
                // of an anchored block (one seed of three) without copying the rest.
                if s.string == "<<", case .plain = s.style {
                    let sources: [YAMLTree]
                    if case let .list(items, _) = value { sources = items } else { sources = [value] }
                    for source in sources {
                        guard case let .map(more, _) = source else {
                            throw SettingsError.invalid(key: "<<", reason: "a merge key takes a mapping (`<<: *anchor`) or a list of them", at: keyAt)
                        }
                        for e in more where !merged.contains(where: { $0.key == e.key }) { merged.append(e) }
                    }
                    continue
                }
                entries.append(Entry(key: s.string, keyAt: keyAt, value: value))
            }
            self = .map(entries + merged.filter { m in !entries.contains { $0.key == m.key } }, at)
        }
    }

    /// A scalar's value as YAML's core schema types it: `7` is an integer, `"7"` a string,
    /// `true` a boolean, `~` or nothing null. Other tags (dates) stay strings.
    static func typed(_ node: Node) -> SettingValue {
        let text = node.scalar?.string ?? ""
        // Yams keeps Tag.name internal; its description is the resolved name.
        switch node.tag.description {
        case Tag.Name.null.rawValue: return .null
        case Tag.Name.bool.rawValue: return node.bool.map(SettingValue.bool) ?? .string(text)
        case Tag.Name.int.rawValue: return node.int.map(SettingValue.int) ?? .string(text)
        case Tag.Name.float.rawValue: return node.float.map(SettingValue.double) ?? .string(text)
        default: return .string(text)
        }
    }

    /// The value a piece of text would have as an unquoted YAML scalar (`--set lr=1e-3`,
    /// `${SEED}` standing alone).
    public static func typedScalar(_ text: String) -> SettingValue {
        typed(Node(text))
    }

    private static func describe(_ error: YamlError, text: String, file: String) -> SettingsError {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            var message = problem
            if let context { message += " (\(context.text))" }
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            let line = mark.line >= 1 && mark.line <= lines.count ? String(lines[mark.line - 1]) : ""
            if line.contains("${"), message.contains("flow") {
                message += "; a ${...} inside a flow mapping {...} or list [...] must be quoted: key: \"${vars.x}\""
            }
            return .notYAML(SourceLocation(file: file, line: mark.line), problem: message)
        default:
            return .notYAML(SourceLocation(file: file, line: nil), problem: "\(error)")
        }
    }
}

extension YAMLTree {
    /// The plain value, with the location of every key and list item by dotted path
    /// (`model.config.hidden_size`, `budgets[1]`), for errors that point at the line.
    public func resolved() -> (value: SettingValue, locations: [String: SourceLocation]) {
        var locations: [String: SourceLocation] = [:]
        func walk(_ t: YAMLTree, _ path: String) -> SettingValue {
            switch t {
            case let .scalar(v, _): return v
            case let .list(xs, _):
                return .list(xs.enumerated().map { i, x in
                    let p = "\(path)[\(i)]"
                    locations[p] = x.location
                    return walk(x, p)
                })
            case let .map(entries, _):
                var m: [String: SettingValue] = [:]
                for e in entries {
                    let p = path.isEmpty ? e.key : "\(path).\(e.key)"
                    locations[p] = e.value.location
                    m[e.key] = walk(e.value, p)
                }
                return .map(m)
            }
        }
        let v = walk(self, "")
        locations[""] = location
        return (v, locations)
    }
}
