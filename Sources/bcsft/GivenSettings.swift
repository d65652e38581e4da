import ArgumentParser
import Foundation
import Settings

/// The settings a command's flags gave, keyed as a recipe writes them (`--max-tokens` is
/// `max_tokens`, the backend flags sit under `backend`, `--backend` being its `kind`). They are
/// decoded into the library's settings type exactly as a recipe stage's settings are: same
/// defaults, same checks, same messages; only the place named in an error differs.
struct GivenSettings {
    private(set) var values: [String: SettingValue] = [:]

    /// Sets `key` (a dotted path for a group: `backend.model`) when the flag was given.
    mutating func set<T: Encodable>(_ key: String, _ value: T?) {
        guard let value, let v = try? SettingValue(encoding: value) else { return }
        let parts = key.split(separator: ".").map(String.init)
        if parts.count == 2 {
            var group: [String: SettingValue] = [:]
            if case let .map(m)? = values[parts[0]] { group = m }
            group[parts[1]] = v
            values[parts[0]] = .map(group)
        } else {
            values[key] = v
        }
    }

    /// Sets a list-valued key when the flag was given at least once.
    mutating func set<T: Encodable>(_ key: String, list: [T]) {
        if !list.isEmpty { set(key, list) }
    }

    /// The library's settings for these flags; `prepare` fills what is not a setting (a
    /// checkpoint folder) before the checks. Errors name the setting and its flag.
    func decode<T: Settings>(_ type: T.Type, prepare: (inout T) throws -> Void = { _ in }) throws -> T {
        do {
            return try T.decode(.map(values), with: SettingsDecoder(fallback: SourceLocation(file: "command line", line: nil)), prepare: prepare)
        } catch let SettingsError.invalid(key, reason, _) {
            throw ValidationError("\(key) (\(Self.flag(for: key))): \(reason)")
        }
    }

    /// The flag that sets a key: `max_tokens` is `--max-tokens`, `backend.kind` is `--backend`,
    /// `backend.base_url` is `--base-url`, `embedding.base_url` is `--embed-base-url`,
    /// `budgets[1]` is `--budgets`.
    static func flag(for key: String) -> String {
        var k = key
        if let i = k.firstIndex(of: "[") { k = String(k[..<i]) }
        if k == "backend.kind" || k == "backend" { return "--backend" }
        if k.hasPrefix("backend.") { k = String(k.dropFirst("backend.".count)) }
        if k.hasPrefix("embedding.") { k = "embed_" + k.dropFirst("embedding.".count) }
        return "--" + k.replacingOccurrences(of: "_", with: "-")
    }
}

/// A help text that ends with the library's default: "(default: 4096)".
func help(_ text: String, default value: some Encodable) -> ArgumentHelp {
    ArgumentHelp(text + " (default: \(settingText(value)))")
}

/// How a default reads in help texts: scalars as written, lists comma-separated (as the flags take them).
func settingText(_ value: some Encodable) -> String {
    switch (try? SettingValue(encoding: value)) ?? .null {
    case let .list(xs): return xs.compactMap(\.scalarText).joined(separator: ",")
    case .null: return "none"
    case let v: return v.scalarText ?? v.description
    }
}
