import Foundation

/// What can be wrong with settings, wherever they were written (a recipe, a training
/// configuration, the command line). Each message names the place to fix: the file and line or
/// the `--set` argument, and the setting's dotted key (`backend.timeout`, `budgets[1]`).
/// Callers that know more (a recipe's stage) wrap `invalid` in their own error.
public enum SettingsError: LocalizedError, Equatable {
    case notYAML(SourceLocation, problem: String)
    case duplicateKey(SourceLocation, key: String)
    case badOverride(String, reason: String)
    /// A value of the wrong type or range, a missing required key, or a key nothing reads.
    case invalid(key: String, reason: String, at: SourceLocation?)

    /// A check of the settings' own (`validate()`): the caller adds where the key was written.
    public static func invalid(_ key: String, _ reason: String) -> SettingsError { .invalid(key: key, reason: reason, at: nil) }

    public var errorDescription: String? {
        switch self {
        case let .notYAML(at, problem): "\(at): not valid YAML: \(problem)"
        case let .duplicateKey(at, key): "\(at): key '\(key)' appears twice"
        case let .badOverride(arg, reason): "--set \(arg): \(reason)"
        // "-" is the document as a whole (its size, its nesting), not a key in it.
        case let .invalid(key, reason, at): (at.map { "\($0): " } ?? "") + (key == "-" ? reason : "\(key): \(reason)")
        }
    }

    /// The same error with a location, where it had none.
    func located(_ at: SourceLocation?) -> SettingsError {
        guard case let .invalid(key, reason, nil) = self else { return self }
        return .invalid(key: key, reason: reason, at: at)
    }
}
