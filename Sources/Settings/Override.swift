import Foundation

/// `--set a.b=c`: replaces a value in a YAML document (a recipe, a training configuration)
/// before anything is checked or interpolated, so an override is validated exactly like the
/// file (`--set vars.seed=3`, `--set stages.student.settings.lr=1e-3`, `--set lr=1e-3`). The
/// value is read as YAML (`3` is an integer, `[a, b]` a list, `'3'` a string).
///
/// Whether a key the document does not have may be added is the caller's rule (`mayAdd`): a
/// recipe allows it only where its format has optional keys, a training configuration anywhere
/// (its schema rejects a key it does not know, so a typo still fails).
public struct Override: Sendable {
    public let argument: String
    public let path: [String]
    public let value: YAMLTree

    public init(_ argument: String) throws {
        guard let eq = argument.firstIndex(of: "=") else {
            throw SettingsError.badOverride(argument, reason: "expected key=value, e.g. --set vars.seed=3")
        }
        let key = argument[..<eq], raw = String(argument[argument.index(after: eq)...])
        let path = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !path.contains(where: \.isEmpty) else {
            throw SettingsError.badOverride(argument, reason: "'\(key)' is not a dotted key such as stages.train.settings.lr")
        }
        let at = SourceLocation(file: "--set \(argument)", line: nil)
        // An empty value or text that is not YAML on its own (`a: b: c`) is taken as a string.
        let parsed = raw.isEmpty ? nil : try? YAMLTree.parse(raw, file: at.file)
        self.argument = argument
        self.path = path
        self.value = Self.relocated(parsed ?? .scalar(.string(raw), at), to: at)
    }

    /// Applies the override to a whole document; `mayAdd` says whether a missing key (a dotted
    /// path from the root) may be created.
    public func apply(to root: inout YAMLTree, mayAdd: ([String]) -> Bool = { _ in true }) throws {
        try set(&root, at: path[...], prefix: [], mayAdd: mayAdd)
    }

    private func set(_ node: inout YAMLTree, at path: ArraySlice<String>, prefix: [String], mayAdd: ([String]) -> Bool) throws {
        guard let head = path.first else { return }
        let here = prefix + [head]
        switch node {
        case .map(var entries, let at):
            if let i = entries.firstIndex(where: { $0.key == head }) {
                if path.count == 1 {
                    entries[i].value = value
                } else {
                    try set(&entries[i].value, at: path.dropFirst(), prefix: here, mayAdd: mayAdd)
                }
            } else {
                guard mayAdd(here) else {
                    let known = entries.map(\.key)
                    let within = prefix.isEmpty ? "the recipe" : "'\(prefix.joined(separator: "."))'"
                    throw SettingsError.badOverride(argument, reason: "'\(here.joined(separator: "."))' is not in \(at.file) (\(within) has: \(known.isEmpty ? "nothing" : known.joined(separator: ", ")))")
                }
                var child = path.count == 1 ? value : YAMLTree.map([], location)
                if path.count > 1 { try set(&child, at: path.dropFirst(), prefix: here, mayAdd: mayAdd) }
                entries.append(.init(key: head, keyAt: location, value: child))
            }
            node = .map(entries, at)
        case .list:
            throw SettingsError.badOverride(argument, reason: "'\(prefix.joined(separator: "."))' is a list; set it whole, e.g. \(prefix.joined(separator: "."))=[a, b]")
        case .scalar:
            throw SettingsError.badOverride(argument, reason: "'\(prefix.joined(separator: "."))' is a single value, not a mapping")
        }
    }

    private var location: SourceLocation { value.location }

    private static func relocated(_ tree: YAMLTree, to at: SourceLocation) -> YAMLTree {
        switch tree {
        case let .scalar(v, _): .scalar(v, at)
        case let .list(xs, _): .list(xs.map { relocated($0, to: at) }, at)
        case let .map(es, _): .map(es.map { .init(key: $0.key, keyAt: at, value: relocated($0.value, to: at)) }, at)
        }
    }
}
