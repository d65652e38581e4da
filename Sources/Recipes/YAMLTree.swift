import Foundation
import Yams

/// A recipe's YAML before interpretation: values typed as YAML types them, every node and key
/// with its file:line. `--set` overrides edit this tree, and the schema is checked on it, so an
/// unknown key is reported where it was written.
indirect enum YAMLTree: Sendable {
    struct Entry: Sendable {
        var key: String
        var keyAt: SourceLocation
        var value: YAMLTree
    }

    case scalar(RecipeValue, SourceLocation)
    case list([YAMLTree], SourceLocation)
    case map([Entry], SourceLocation)

    var location: SourceLocation {
        switch self {
        case let .scalar(_, at), let .list(_, at), let .map(_, at): at
        }
    }

    /// Parses one YAML document. Syntax errors name the line; a `${...}` inside a flow mapping
    /// or list (where `{` ends a plain scalar) gets a hint to quote it.
    static func parse(_ text: String, file: String) throws -> YAMLTree? {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch let error as YamlError {
            throw Self.describe(error, text: text, file: file)
        } catch {
            throw RecipeError.notYAML(SourceLocation(file: file, line: nil), problem: "\(error)")
        }
        return try node.map { try YAMLTree($0, file: file) }
    }

    init(_ node: Node, file: String, line fallback: Int? = nil) throws {
        let at = SourceLocation(file: file, line: node.mark?.line ?? fallback)
        switch node {
        case .scalar:
            self = .scalar(Self.typed(node), at)
        case let .sequence(seq):
            self = .list(try seq.map { try YAMLTree($0, file: file, line: at.line) }, at)
        case let .mapping(mapping):
            var entries: [Entry] = []
            for (k, v) in mapping {
                let keyAt = SourceLocation(file: file, line: k.mark?.line ?? at.line)
                guard case let .scalar(s) = k else {
                    throw RecipeError.invalid(keyAt, key: "-", reason: "mapping keys must be plain names")
                }
                if entries.contains(where: { $0.key == s.string }) {
                    throw RecipeError.duplicateKey(keyAt, key: s.string)
                }
                entries.append(Entry(key: s.string, keyAt: keyAt, value: try YAMLTree(v, file: file, line: keyAt.line)))
            }
            self = .map(entries, at)
        }
    }

    /// A scalar's value as YAML's core schema types it: `7` is an integer, `"7"` a string,
    /// `true` a boolean, `~` or nothing null. Other tags (dates) stay strings.
    static func typed(_ node: Node) -> RecipeValue {
        let text = node.scalar?.string ?? ""
        // Yams keeps Tag.name internal; its description is the resolved name.
        switch node.tag.description {
        case Tag.Name.null.rawValue: return .null
        case Tag.Name.bool.rawValue: return node.bool.map(RecipeValue.bool) ?? .string(text)
        case Tag.Name.int.rawValue: return node.int.map(RecipeValue.int) ?? .string(text)
        case Tag.Name.float.rawValue: return node.float.map(RecipeValue.double) ?? .string(text)
        default: return .string(text)
        }
    }

    /// The value a piece of text would have as an unquoted YAML scalar (`--set lr=1e-3`,
    /// `${SEED}` standing alone).
    static func typedScalar(_ text: String) -> RecipeValue {
        typed(Node(text))
    }

    private static func describe(_ error: YamlError, text: String, file: String) -> RecipeError {
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
