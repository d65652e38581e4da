import Foundation

/// A stage's settings, resolved (output folders are paths), with typed accessors whose errors
/// name `stages.NAME.settings.KEY` and the line it was written on.
public struct StageSettings: Sendable {
    public let stage: String
    public let values: [String: RecipeValue]
    let locations: [String: SourceLocation]
    let stageLocation: SourceLocation

    public init(stage: String, values: [String: RecipeValue]) {
        self.init(stage: stage, values: values, locations: [:], stageLocation: SourceLocation(file: "settings", line: nil))
    }

    init(stage: String, values: [String: RecipeValue], locations: [String: SourceLocation], stageLocation: SourceLocation) {
        self.stage = stage
        self.values = values
        self.locations = locations
        self.stageLocation = stageLocation
    }

    public subscript(key: String) -> RecipeValue? { values[key] }
    public func contains(_ key: String) -> Bool { values[key] != nil }

    /// A required setting.
    public func value<T: SettingValue>(_ key: String, as type: T.Type = T.self) throws -> T {
        guard let v = values[key] else { throw error(key, "missing (\(T.settingDescription) required)") }
        return try convert(v, key)
    }

    /// A setting with a default when the recipe leaves it out.
    public func value<T: SettingValue>(_ key: String, default fallback: T) throws -> T {
        guard let v = values[key] else { return fallback }
        return try convert(v, key)
    }

    /// A setting that may be absent (or null).
    public func optional<T: SettingValue>(_ key: String, as type: T.Type = T.self) throws -> T? {
        guard let v = values[key], v != .null else { return nil }
        return try convert(v, key)
    }

    /// An error about one setting, for a kind's own checks: `settings.error("lr", "must be positive")`.
    public func error(_ key: String, _ reason: String) -> RecipeError {
        .setting(locations[key] ?? stageLocation, stage: stage, key: key, reason: reason)
    }

    private func convert<T: SettingValue>(_ v: RecipeValue, _ key: String) throws -> T {
        guard let t = T(setting: v) else { throw error(key, "expected \(T.settingDescription), got \(v.typeName) (\(v))") }
        return t
    }
}

/// A type a setting can be read as.
public protocol SettingValue: Sendable {
    init?(setting: RecipeValue)
    /// "an integer", "a list of strings": for messages.
    static var settingDescription: String { get }
}

extension Int: SettingValue {
    /// Whole numbers written as `512.0` count too.
    public init?(setting: RecipeValue) {
        switch setting {
        case let .int(i): self = i
        case let .double(d) where d.rounded() == d && abs(d) < 9e15: self = Int(d)
        default: return nil
        }
    }
    public static var settingDescription: String { "an integer" }
}

extension Double: SettingValue {
    public init?(setting: RecipeValue) {
        switch setting {
        case let .double(d): self = d
        case let .int(i): self = Double(i)
        default: return nil
        }
    }
    public static var settingDescription: String { "a number" }
}

extension Bool: SettingValue {
    public init?(setting: RecipeValue) {
        guard case let .bool(b) = setting else { return nil }
        self = b
    }
    public static var settingDescription: String { "true or false" }
}

extension String: SettingValue {
    /// Any scalar reads as its text (`name: 123` is "123"); lists and maps do not.
    public init?(setting: RecipeValue) {
        guard setting != .null, let s = setting.scalarText else { return nil }
        self = s
    }
    public static var settingDescription: String { "a string" }
}

extension Array: SettingValue where Element: SettingValue {
    public init?(setting: RecipeValue) {
        guard case let .list(xs) = setting else { return nil }
        var out: [Element] = []
        for x in xs {
            guard let e = Element(setting: x) else { return nil }
            out.append(e)
        }
        self = out
    }
    public static var settingDescription: String { "a list (each \(Element.settingDescription))" }
}

extension RecipeValue: SettingValue {
    public init?(setting: RecipeValue) { self = setting }
    public static var settingDescription: String { "a value" }
}
