import Foundation

/// A free-form setting's value as written in YAML (model.config holds HF config.json keys:
/// numbers, booleans such as tie_word_embeddings, objects such as rope_scaling).
public enum ConfigValue: Codable, Sendable, Equatable, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral {
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([ConfigValue])
    case object([String: ConfigValue])
    case null

    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([ConfigValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: ConfigValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case let .bool(b): try c.encode(b)
        case let .number(n): if let i = Self.integer(n) { try c.encode(i) } else { try c.encode(n) }
        case let .string(s): try c.encode(s)
        case let .array(a): try c.encode(a)
        case let .object(o): try c.encode(o)
        case .null: try c.encodeNil()
        }
    }

    /// The value for JSONSerialization (whole numbers as Int, as HF writes them).
    public var json: Any {
        switch self {
        case let .bool(b): b
        case let .number(n): Self.integer(n).map { $0 as Any } ?? n
        case let .string(s): s
        case let .array(a): a.map(\.json)
        case let .object(o): o.mapValues(\.json)
        case .null: NSNull()
        }
    }

    static func integer(_ n: Double) -> Int? { n == n.rounded() && abs(n) < 1e15 ? Int(n) : nil }
}
