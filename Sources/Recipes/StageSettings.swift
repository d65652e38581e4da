import Foundation
import Settings

/// A stage's settings, resolved (output folders are paths), with typed accessors whose errors
/// name `stages.NAME.settings.KEY` and the line it was written on.
public struct StageSettings: Sendable {
    public let stage: String
    public let values: [String: SettingValue]
    let locations: [String: SourceLocation]
    let stageLocation: SourceLocation

    public init(stage: String, values: [String: SettingValue]) {
        self.init(stage: stage, values: values, locations: [:], stageLocation: SourceLocation(file: "settings", line: nil))
    }

    init(stage: String, values: [String: SettingValue], locations: [String: SourceLocation], stageLocation: SourceLocation) {
        self.stage = stage
        self.values = values
        self.locations = locations
        self.stageLocation = stageLocation
    }

    public subscript(key: String) -> SettingValue? { values[key] }
    public func contains(_ key: String) -> Bool { values[key] != nil }

    /// The settings as a library settings type (a pipeline step's): decoded and validated as
    /// the command's flags are, with errors naming `stages.NAME.settings.KEY` and its line.
    /// `adding` supplies keys that come from elsewhere (a train stage's data input and output).
    /// `prepare` fills what is not a setting (a step's inputs) before the checks run.
    public func decode<T: Settings>(_ type: T.Type, adding extra: [String: SettingValue] = [:],
                                    prepare: (inout T) throws -> Void = { _ in }) throws -> T {
        var all = values
        for (k, v) in extra { all[k] = v }
        do {
            return try T.decode(.map(all), with: SettingsDecoder(locations: locations, fallback: stageLocation), prepare: prepare)
        } catch let SettingsError.invalid(key, reason, at) {
            throw RecipeError.setting(at ?? stageLocation, stage: stage, key: key, reason: reason)
        }
    }

    /// A required setting.
    public func value<T: Decodable>(_ key: String, as type: T.Type = T.self) throws -> T {
        guard let v = values[key] else { throw error(key, "missing (\(Self.describe(T.self)) required)") }
        return try convert(v, key)
    }

    /// A setting with a default when the recipe leaves it out.
    public func value<T: Decodable>(_ key: String, default fallback: T) throws -> T {
        guard let v = values[key] else { return fallback }
        return try convert(v, key)
    }

    /// A setting that may be absent (or null).
    public func optional<T: Decodable>(_ key: String, as type: T.Type = T.self) throws -> T? {
        guard let v = values[key], v != .null else { return nil }
        return try convert(v, key)
    }

    /// An error about one setting, for a kind's own checks: `settings.error("lr", "must be positive")`.
    public func error(_ key: String, _ reason: String) -> RecipeError {
        .setting(locations[key] ?? stageLocation, stage: stage, key: key, reason: reason)
    }

    private func convert<T: Decodable>(_ v: SettingValue, _ key: String) throws -> T {
        do { return try SettingsDecoder().decode(SingleSetting<T>.self, from: v).value } catch let SettingsError.invalid(_, reason, _) {
            throw error(key, reason)
        }
    }

    static func describe(_ t: Any.Type) -> String {
        switch t {
        case is Int.Type: "an integer"
        case is Double.Type: "a number"
        case is Bool.Type: "true or false"
        case is String.Type: "a string"
        default: "a value"
        }
    }
}

/// One setting's value decoded on its own.
private struct SingleSetting<V: Decodable>: Decodable {
    let value: V
    init(from decoder: Decoder) throws { value = try decoder.singleValueContainer().decode(V.self) }
}
