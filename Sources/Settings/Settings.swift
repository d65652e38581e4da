import Foundation

/// The settings of one pipeline step (extract, solve, generate, train, ...), owned by the
/// library: each default is the initial value of its property and written nowhere else, each
/// check is in `validate()`, and the command and the recipe stage of that step both fill the
/// same type through `SettingsDecoder`, under the same keys.
///
/// Conventions: keys are the snake_case names a recipe writes (`max_tokens`); the command's
/// flag is the key with dashes (`--max-tokens`). `init(from:)` starts from `init()` and
/// overwrites only what was given (`try c.update(&maxTokens, .maxTokens)`), so a default lives
/// in the property's declaration alone. Groups of keys shared by several steps (sampling, the
/// problems to use) are decoded from the same decoder, so their keys sit at the top level.
public protocol Settings: Codable, Sendable {
    init()
    /// Checks what the types allow but the settings do not (ranges, combinations), throwing
    /// `SettingsError.invalid(key, reason)` with the key's snake_case name.
    func validate() throws
}

extension Settings {
    public func validate() throws {}

    /// Decodes and validates: every error names the key and, with `decoder`'s locations,
    /// where it was written. `prepare` fills what is not a setting (a step's inputs) before
    /// the checks run.
    public static func decode(_ value: SettingValue, with decoder: SettingsDecoder = SettingsDecoder(),
                              prepare: (inout Self) throws -> Void = { _ in }) throws -> Self {
        var s = try decoder.decode(Self.self, from: value)
        try prepare(&s)
        do { try s.validate() } catch let e as SettingsError {
            guard case let .invalid(key, _, nil) = e else { throw e }
            throw e.located(decoder.location(of: key))
        }
        return s
    }

    /// The keys this step reads at its top level (a recipe stage's settings, a command's flags).
    public static var keys: [String] { SettingsDecoder.keys(of: Self.self) }

    /// The defaults as a tree: `Self.defaults["max_tokens"]` is `.int(4096)`.
    public static var defaults: SettingValue { (try? SettingValue(encoding: Self())) ?? .map([:]) }
}

extension KeyedDecodingContainer {
    /// Overwrites `value` with the setting at `key` when it is given (and not null), keeping
    /// the default otherwise: the one way settings types read their keys.
    public func update<T: Decodable>(_ value: inout T, _ key: Key) throws {
        if let v = try decodeIfPresent(T.self, forKey: key) { value = v }
    }

    /// The same for an optional setting.
    public func update<T: Decodable>(_ value: inout T?, _ key: Key) throws {
        if let v = try decodeIfPresent(T.self, forKey: key) { value = v }
    }
}
