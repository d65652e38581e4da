import Foundation
import Settings

/// The recipe format: which keys exist at each level and what they hold. Turns the YAML tree
/// into a `Recipe`, reporting the first problem with its file:line.
///
/// ```yaml
/// name: example                       # default: the file name without extension
/// workdir: runs/example               # default: runs/<name>
/// vars: {seed: 7}                     # free-form; may use ${ENV}
/// stages:
///   NAME:                             # letters, digits, - and _
///     kind: KIND                      # a registered stage kind
///     after: [OTHER]                  # optional explicit dependencies
///     inputs: {corpus: path}          # a path or a list of paths; ${stages.X.out}/... makes a dependency
///     settings: {key: value}          # checked by the kind
/// ```
struct RecipeSchema {
    static let topKeys = ["name", "workdir", "vars", "stages"]
    static let stageKeys = ["kind", "after", "inputs", "settings"]

    let source: String
    let environment: [String: String]
    let baseDirectory: URL

    func recipe(_ root: YAMLTree, workdirOverride: String?) throws -> Recipe {
        let top = try mapping(root, key: "the recipe")
        try checkKeys(top, allowed: Self.topKeys, prefix: "")
        let fileName = URL(fileURLWithPath: source).deletingPathExtension().lastPathComponent
        var name = fileName
        if let e = top.first(where: { $0.key == "name" }) {
            guard case let .scalar(v, _) = e.value, let s = v.scalarText, !s.isEmpty, Self.isName(s, allowDots: true) else {
                throw RecipeError.invalid(e.value.location, key: "name", reason: "expected a name of letters, digits, '.', '-' and '_'")
            }
            name = s
        }

        var substitution = Substitution(environment: environment, vars: nil)
        var vars: [String: SettingValue] = [:]
        if let e = top.first(where: { $0.key == "vars" }) {
            for v in try mapping(e.value, key: "vars") {
                vars[v.key] = try substitution.value(v.value, key: "vars.\(v.key)")
            }
        }
        substitution.vars = vars

        var workdirText = "runs/\(name)"
        if let workdirOverride {
            workdirText = workdirOverride
        } else if let e = top.first(where: { $0.key == "workdir" }) {
            guard let s = try substitution.value(e.value, key: "workdir").scalarText, !s.isEmpty else {
                throw RecipeError.invalid(e.value.location, key: "workdir", reason: "expected a folder path")
            }
            workdirText = s
        }
        let workdir = Recipe.path(workdirText, base: baseDirectory)

        guard let stagesEntry = top.first(where: { $0.key == "stages" }) else {
            throw RecipeError.invalid(root.location, key: "stages", reason: "missing: a recipe needs at least one stage")
        }
        let stageEntries = try mapping(stagesEntry.value, key: "stages")
        guard !stageEntries.isEmpty else {
            throw RecipeError.invalid(stagesEntry.value.location, key: "stages", reason: "no stages")
        }
        let stages = try stageEntries.map { try stage($0, substitution: substitution) }
        try checkReferences(stages)
        _ = try DependencyGraph(stages)
        return Recipe(source: source, name: name, workdir: workdir, baseDirectory: baseDirectory, vars: vars, stages: stages)
    }

    private func stage(_ entry: YAMLTree.Entry, substitution: Substitution) throws -> RecipeStage {
        let name = entry.key
        guard Self.isName(name, allowDots: false) else {
            throw RecipeError.invalid(entry.keyAt, key: "stages.\(name)", reason: "a stage name may hold only letters, digits, '-' and '_' (it names a folder and appears in ${stages.\(name).out})")
        }
        let prefix = "stages.\(name)."
        let body = try mapping(entry.value, key: "stages.\(name)")
        try checkKeys(body, allowed: Self.stageKeys, prefix: prefix)
        guard let kindEntry = body.first(where: { $0.key == "kind" }) else {
            throw RecipeError.invalid(entry.keyAt, key: "stages.\(name)", reason: "missing 'kind' (which stage kind runs it)")
        }
        guard case let .scalar(.string(kind), _) = kindEntry.value, !kind.isEmpty else {
            throw RecipeError.invalid(kindEntry.value.location, key: prefix + "kind", reason: "expected the name of a stage kind")
        }

        var after: [String] = []
        let afterEntry = body.first(where: { $0.key == "after" })
        if let afterEntry { after = try names(afterEntry.value, key: prefix + "after") }

        var inputs: [String: RecipeStage.Input] = [:]
        if let e = body.first(where: { $0.key == "inputs" }) {
            for i in try mapping(e.value, key: prefix + "inputs") {
                let key = prefix + "inputs." + i.key
                let items: [YAMLTree] = if case let .list(xs, _) = i.value { xs } else { [i.value] }
                let paths = try items.map { item -> ValueTemplate in
                    let t = try substitution.template(item, key: key)
                    try checkInputPath(t, at: item.location, key: key)
                    return t
                }
                inputs[i.key] = .init(paths: paths, location: i.value.location)
            }
        }

        var settings: [String: ValueTemplate] = [:]
        var locations: [String: SourceLocation] = [:]
        if let e = body.first(where: { $0.key == "settings" }) {
            for s in try mapping(e.value, key: prefix + "settings") {
                settings[s.key] = try substitution.template(s.value, key: prefix + "settings." + s.key)
                locations[s.key] = s.value.location // the line (or --set) that gave the value
            }
        }
        var stage = RecipeStage(name: name, kind: kind, after: after, inputs: inputs, settings: settings,
                                settingLocations: locations, location: entry.keyAt, kindLocation: kindEntry.value.location)
        stage.afterLocation = afterEntry?.keyAt
        return stage
    }

    /// An input is a path: plain text, or text that begins with another stage's output folder.
    private func checkInputPath(_ t: ValueTemplate, at: SourceLocation, key: String) throws {
        switch t {
        case let .value(.string(s)) where !s.isEmpty: return
        case let .text(parts):
            if case .output(_?) = parts[0], parts.dropFirst().allSatisfy({ if case .text = $0 { true } else { false } }) { return }
            throw RecipeError.invalid(at, key: key, reason: "an input path may name one output folder, at its start: ${stages.NAME.out}/file (${out} is this stage's own output, not an input)")
        default:
            throw RecipeError.invalid(at, key: key, reason: "expected a path or a list of paths")
        }
    }

    private func checkReferences(_ stages: [RecipeStage]) throws {
        let known = stages.map(\.name)
        let names = Set(known)
        for s in stages {
            for a in s.after where !names.contains(a) {
                throw RecipeError.unknownStage(s.afterLocation ?? s.location, name: a, known: known)
            }
            for (key, t) in s.settings {
                if let bad = t.stageReferences.subtracting(names).sorted().first {
                    throw RecipeError.unknownStage(s.settingLocation(key), name: bad, known: known)
                }
            }
            for (_, i) in s.inputs {
                for p in i.paths {
                    if let bad = p.stageReferences.subtracting(names).sorted().first {
                        throw RecipeError.unknownStage(i.location, name: bad, known: known)
                    }
                }
            }
        }
    }

    private func mapping(_ tree: YAMLTree, key: String) throws -> [YAMLTree.Entry] {
        switch tree {
        case let .map(entries, _): return entries
        case .scalar(.null, _): return []
        default: throw RecipeError.invalid(tree.location, key: key, reason: "expected a mapping (key: value lines)")
        }
    }

    private func names(_ tree: YAMLTree, key: String) throws -> [String] {
        let items: [YAMLTree] = if case let .list(xs, _) = tree { xs } else { [tree] }
        return try items.map {
            guard case let .scalar(.string(s), _) = $0, !s.isEmpty else {
                throw RecipeError.invalid($0.location, key: key, reason: "expected a stage name or a list of them")
            }
            return s
        }
    }

    private func checkKeys(_ entries: [YAMLTree.Entry], allowed: [String], prefix: String) throws {
        for e in entries where !allowed.contains(e.key) {
            throw RecipeError.unknownKey(e.keyAt, key: prefix + e.key, known: allowed)
        }
    }

    /// Whether `--set` may create `path` although the file does not have it: keys of the format
    /// that the file left out (`workdir`, a stage's `after`, `inputs` or `settings`), and new keys
    /// anywhere under `stages.NAME.settings`, since settings have defaults a recipe need not spell
    /// out (the stage kind still rejects a key it does not know, so a typo there fails too).
    static func mayAdd(_ path: [String]) -> Bool {
        switch path.count {
        case 1: return ["workdir", "name"].contains(path[0])
        case 3: return path[0] == "stages" && ["after", "inputs", "settings"].contains(path[2])
        default: return path.count > 3 && path[0] == "stages" && path[2] == "settings"
        }
    }

    static func isName(_ s: String, allowDots: Bool) -> Bool {
        !s.isEmpty && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || allowDots && $0 == ".") }
    }
}
