import Foundation

/// A setting's value as written (YAML, JSON or a command-line flag): what settings types are
/// decoded from (`SettingsDecoder`), what a recipe's `vars` hold.
public enum SettingValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([SettingValue])
    case map([String: SettingValue])

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
    public var typeName: String {
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
    public static func text(_ d: Double) -> String {
        if d.isNaN { return ".nan" }
        if d.isInfinite { return d > 0 ? ".inf" : "-.inf" }
        return "\(d)"
    }
}

extension SettingValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: SettingValue...) { self = .list(elements) }
    public init(dictionaryLiteral elements: (String, SettingValue)...) { self = .map(Dictionary(elements, uniquingKeysWith: { _, b in b })) }
}

/// JSON in and out: `SettingValue(encoding: settings)` turns any settings value into a tree
/// (for defaults in help texts, for a resolved configuration).
extension SettingValue: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let xs = try? c.decode([SettingValue].self) { self = .list(xs) }
        else { self = .map(try c.decode([String: SettingValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case let .bool(b): try c.encode(b)
        case let .int(i): try c.encode(i)
        case let .double(d): try c.encode(d)
        case let .string(s): try c.encode(s)
        case let .list(xs): try c.encode(xs)
        case let .map(m): try c.encode(m)
        }
    }

    /// The tree of an encodable value (through JSON, which keeps integers apart from numbers).
    public init<T: Encodable>(encoding value: T) throws {
        self = try JSONDecoder().decode(SettingValue.self, from: JSONEncoder().encode(value))
    }

    /// The value for JSONSerialization (HF's config.json, for one).
    public var json: Any {
        switch self {
        case .null: NSNull()
        case let .bool(b): b
        case let .int(i): i
        case let .double(d): d
        case let .string(s): s
        case let .list(xs): xs.map(\.json)
        case let .map(m): m.mapValues(\.json)
        }
    }

    /// A map's value at a key; nil for other values.
    public subscript(key: String) -> SettingValue? {
        guard case let .map(m) = self else { return nil }
        return m[key]
    }
}
