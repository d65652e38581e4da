import ChatTemplates
import Foundation

/// A value a chat template reads beside the conversation (`template_vars`, e.g.
/// `enable_thinking: false` for Qwen3), as apply_chat_template's keyword arguments pass them.
public enum TemplateVariable: Sendable, Hashable, Codable {
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else { throw DecodingError.dataCorruptedError(in: c, debugDescription: "a template variable is a boolean, a number or a string") }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case let .bool(b): try c.encode(b)
        case let .int(i): try c.encode(i)
        case let .double(d): try c.encode(d)
        case let .string(s): try c.encode(s)
        }
    }

    /// `KEY=VALUE` pairs from the command line: true/false, numbers, else strings.
    public static func parse(_ pairs: [String], flag: String) throws -> [String: TemplateVariable] {
        var out: [String: TemplateVariable] = [:]
        for pair in pairs {
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                throw DatasetError.invalidOption("\(flag) '\(pair)': expected KEY=VALUE")
            }
            let (key, text) = (String(pair[..<eq]), String(pair[pair.index(after: eq)...]))
            out[key] = text == "true" ? .bool(true) : text == "false" ? .bool(false)
                : Int(text).map(TemplateVariable.int) ?? Double(text).map(TemplateVariable.double) ?? .string(text)
        }
        return out
    }

    /// The value as the template sees it.
    var value: Value {
        switch self {
        case let .bool(b): .bool(b)
        case let .int(i): .int(i)
        case let .double(d): .double(d)
        case let .string(s): .string(s)
        }
    }

    /// Stable text for hashes.
    var text: String {
        switch self {
        case let .bool(b): "b:\(b)"
        case let .int(i): "i:\(i)"
        case let .double(d): "d:\(d)"
        case let .string(s): "s:\(s)"
        }
    }
}
