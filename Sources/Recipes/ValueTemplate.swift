import Foundation
import Settings

/// A setting or input after `${ENV}` and `${vars.x}` are substituted, in which output folders
/// (`${stages.NAME.out}`, `${out}`) are still symbolic. The cache key hashes this symbolic form,
/// so it does not depend on where the workdir is; stage kinds get it resolved into paths.
indirect enum ValueTemplate: Sendable, Equatable {
    enum Part: Sendable, Equatable {
        case text(String)
        /// A stage's output folder; nil is the stage's own.
        case output(String?)
    }

    case value(SettingValue)
    /// A string that holds at least one output folder.
    case text([Part])
    case list([ValueTemplate])
    case map([String: ValueTemplate])

    /// The stages whose output folders this value names.
    var stageReferences: Set<String> {
        switch self {
        case .value: []
        case let .text(parts): Set(parts.compactMap { if case let .output(s?) = $0 { s } else { nil } })
        case let .list(xs): xs.reduce(into: []) { $0.formUnion($1.stageReferences) }
        case let .map(m): m.values.reduce(into: []) { $0.formUnion($1.stageReferences) }
        }
    }

    var namesOwnOutput: Bool {
        switch self {
        case .value: false
        case let .text(parts): parts.contains(.output(nil))
        case let .list(xs): xs.contains(where: \.namesOwnOutput)
        case let .map(m): m.values.contains(where: \.namesOwnOutput)
        }
    }

    /// The value with output folders replaced by `folder(stage)` (`folder(nil)`: its own).
    func resolve(_ folder: (String?) -> String) -> SettingValue {
        switch self {
        case let .value(v): v
        case let .text(parts):
            .string(parts.map {
                switch $0 {
                case let .text(t): t
                case let .output(s): folder(s)
                }
            }.joined())
        case let .list(xs): .list(xs.map { $0.resolve(folder) })
        case let .map(m): .map(m.mapValues { $0.resolve(folder) })
        }
    }

    /// A canonical text for hashing and for telling which settings changed: JSON-like, keys
    /// sorted, and unambiguous (literal `$` is doubled in strings, so text can never read as a
    /// folder reference).
    var canonical: String {
        switch self {
        case let .value(v): Self.canonical(v)
        case let .text(parts):
            Self.quoted(parts.map {
                switch $0 {
                case let .text(t): t.replacingOccurrences(of: "$", with: "$$")
                case let .output(s?): "${stages.\(s).out}"
                case .output(nil): "${out}"
                }
            }.joined())
        case let .list(xs): "[" + xs.map(\.canonical).joined(separator: ",") + "]"
        case let .map(m): "{" + m.keys.sorted().map { Self.quoted($0) + ":" + m[$0]!.canonical }.joined(separator: ",") + "}"
        }
    }

    private static func canonical(_ v: SettingValue) -> String {
        switch v {
        case .null: "null"
        case let .bool(b): b ? "true" : "false"
        case let .int(i): String(i)
        case let .double(d): SettingValue.text(d) // Swift prints 1.0, 1e-05: never the same as an integer
        case let .string(s): quoted(s.replacingOccurrences(of: "$", with: "$$"))
        case let .list(xs): "[" + xs.map(canonical).joined(separator: ",") + "]"
        case let .map(m): "{" + m.keys.sorted().map { quoted($0) + ":" + canonical(m[$0]!) }.joined(separator: ",") + "}"
        }
    }

    /// A JSON string literal.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
