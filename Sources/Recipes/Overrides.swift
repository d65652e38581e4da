import Foundation

/// `--set a.b=c`: replaces a value in the recipe before anything is checked or interpolated, so
/// an override is validated exactly like the file (`--set vars.seed=3`,
/// `--set stages.student.settings.lr=1e-3`). The value is read as YAML (`3` is an integer,
/// `[a, b]` a list, `'3'` a string) and may hold `${...}` references.
///
/// A path must exist in the recipe, with two exceptions: keys of the schema that the file left
/// out (`workdir`, a stage's `after`, `inputs` or `settings`), and new keys anywhere under
/// `stages.NAME.settings`, since settings often have defaults a recipe does not spell out (the
/// stage kind still rejects a key it does not know, so a typo there fails too).
struct Override: Sendable {
    let argument: String
    let path: [String]
    let value: YAMLTree

    init(_ argument: String) throws {
        guard let eq = argument.firstIndex(of: "=") else {
            throw RecipeError.badOverride(argument, reason: "expected key=value, e.g. --set vars.seed=3")
        }
        let key = argument[..<eq], raw = String(argument[argument.index(after: eq)...])
        let path = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !path.contains(where: \.isEmpty) else {
            throw RecipeError.badOverride(argument, reason: "'\(key)' is not a dotted key such as stages.train.settings.lr")
        }
        let at = SourceLocation(file: "--set \(argument)", line: nil)
        // An empty value or text that is not YAML on its own (`a: b: c`) is taken as a string.
        let parsed = raw.isEmpty ? nil : try? YAMLTree.parse(raw, file: at.file)
        self.argument = argument
        self.path = path
        self.value = Self.relocated(parsed ?? .scalar(.string(raw), at), to: at)
    }

    /// Applies the override to a whole recipe tree.
    func apply(to root: inout YAMLTree) throws {
        try set(&root, at: path[...], prefix: [])
    }

    private func set(_ node: inout YAMLTree, at path: ArraySlice<String>, prefix: [String]) throws {
        guard let head = path.first else { return }
        let here = prefix + [head]
        switch node {
        case .map(var entries, let at):
            if let i = entries.firstIndex(where: { $0.key == head }) {
                if path.count == 1 {
                    entries[i].value = value
                } else {
                    try set(&entries[i].value, at: path.dropFirst(), prefix: here)
                }
            } else {
                guard Self.mayAdd(here) else {
                    let known = entries.map(\.key)
                    let within = prefix.isEmpty ? "the recipe" : "'\(prefix.joined(separator: "."))'"
                    throw RecipeError.badOverride(argument, reason: "'\(here.joined(separator: "."))' is not in \(at.file) (\(within) has: \(known.isEmpty ? "nothing" : known.joined(separator: ", ")))")
                }
                var child = path.count == 1 ? value : YAMLTree.map([], location)
                if path.count > 1 { try set(&child, at: path.dropFirst(), prefix: here) }
                entries.append(.init(key: head, keyAt: location, value: child))
            }
            node = .map(entries, at)
        case .list:
            throw RecipeError.badOverride(argument, reason: "'\(prefix.joined(separator: "."))' is a list; set it whole, e.g. \(prefix.joined(separator: "."))=[a, b]")
        case .scalar:
            throw RecipeError.badOverride(argument, reason: "'\(prefix.joined(separator: "."))' is a single value, not a mapping")
        }
    }

    private var location: SourceLocation { value.location }

    /// Whether `path` may be created by an override although the file does not have it.
    static func mayAdd(_ path: [String]) -> Bool {
        switch path.count {
        case 1: return ["workdir", "name"].contains(path[0])
        case 3: return path[0] == "stages" && ["after", "inputs", "settings"].contains(path[2])
        default: return path.count > 3 && path[0] == "stages" && path[2] == "settings"
        }
    }

    private static func relocated(_ tree: YAMLTree, to at: SourceLocation) -> YAMLTree {
        switch tree {
        case let .scalar(v, _): .scalar(v, at)
        case let .list(xs, _): .list(xs.map { relocated($0, to: at) }, at)
        case let .map(es, _): .map(es.map { .init(key: $0.key, keyAt: at, value: relocated($0.value, to: at)) }, at)
        }
    }
}
