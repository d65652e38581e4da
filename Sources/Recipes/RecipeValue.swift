import Foundation

/// A resolved YAML value: what a stage kind reads from its settings and what `vars` hold.
public enum RecipeValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([RecipeValue])
    case map([String: RecipeValue])

    /// The text a scalar stands for inside a longer string (`run-${vars.seed}` gives `run-7`);
    /// nil for lists and maps, which can only stand alone.
    public var scalarText: String? {
        switch self {
        case .null: ""
        case let .bool(b): b ? "true" : "false"
        case let .int(i): String(i)
        case let .double(d): Self.text(d)
        case let .string(s): s
        case .list, .map: nil
        }
    }

    /// One line for messages, in YAML flow style.
    public var description: String {
        switch self {
        case .null: "null"
        case let .string(s): "'\(s)'"
        case let .list(xs): "[" + xs.map(\.description).joined(separator: ", ") + "]"
        case let .map(m): "{" + m.keys.sorted().map { "\($0): \(m[$0]!.description)" }.joined(separator: ", ") + "}"
        default: scalarText!
        }
    }

    /// Names the type for messages: "expected an integer, got a string ('abc')".
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int: "an integer"
        case .double: "a number"
        case .string: "a string"
        case .list: "a list"
        case .map: "a mapping"
        }
    }

    /// Shortest text that reads back as the same Double (0.001, 1e-05), so equal values hash equally.
    static func text(_ d: Double) -> String {
        if d.isNaN { return ".nan" }
        if d.isInfinite { return d > 0 ? ".inf" : "-.inf" }
        return "\(d)"
    }
}
