import Common
import Foundation
import Settings

/// A parsed, checked recipe: stages in file order with their settings and inputs, `${ENV}` and
/// `${vars.x}` substituted, output folders still symbolic (see `ValueTemplate`). Structure is
/// checked here (unknown keys, references to unknown stages or vars); stage kinds check their
/// own settings when a `RecipeRunner` plans the run.
public struct Recipe: Sendable {
    /// The recipe file, as given (for messages).
    public let source: String
    public let name: String
    /// Where stage outputs go; relative paths are relative to `baseDirectory`.
    public let workdir: URL
    /// Relative input paths are read from here (the current directory by default).
    public let baseDirectory: URL
    public let vars: [String: SettingValue]
    /// In file order.
    public let stages: [RecipeStage]

    public func stage(_ name: String) -> RecipeStage? { stages.first { $0.name == name } }

    /// A path from the recipe: `~` expanded, relative ones taken from `base`.
    static func path(_ text: String, base: URL) -> URL {
        let expanded = (text as NSString).expandingTildeInPath
        let url = expanded.hasPrefix("/") ? URL(fileURLWithPath: expanded) : base.appendingPathComponent(expanded)
        return url.standardizedFileURL
    }

    /// Reads a recipe file. `overrides` are `--set` arguments (`stages.train.settings.lr=1e-3`);
    /// `workdir` replaces the recipe's.
    public static func load(file: String, overrides: [String] = [], workdir: String? = nil,
                            environment: [String: String] = ProcessInfo.processInfo.environment,
                            baseDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)) throws -> Recipe {
        let text: String
        do {
            try FileCheck.readable(URL(fileURLWithPath: file))
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch let FileError.cannotRead(_, reason) {
            throw RecipeError.unreadable(path: file, reason: reason)
        } catch {
            throw RecipeError.unreadable(path: file, reason: (error as NSError).localizedDescription)
        }
        return try parse(yaml: text, source: file, overrides: overrides, workdir: workdir,
                         environment: environment, baseDirectory: baseDirectory)
    }

    public static func parse(yaml text: String, source: String, overrides: [String] = [], workdir: String? = nil,
                             environment: [String: String] = ProcessInfo.processInfo.environment,
                             baseDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)) throws -> Recipe {
        guard var root = try YAMLTree.parse(text, file: source) else {
            throw RecipeError.invalid(SourceLocation(file: source, line: nil), key: "-", reason: "the recipe is empty")
        }
        for o in overrides { try Override(o).apply(to: &root, mayAdd: RecipeSchema.mayAdd) }
        return try RecipeSchema(source: source, environment: environment, baseDirectory: baseDirectory)
            .recipe(root, workdirOverride: workdir)
    }
}

/// One stage of a recipe.
public struct RecipeStage: Sendable {
    /// An input: one path or a list of them.
    struct Input: Sendable {
        let paths: [ValueTemplate]
        let location: SourceLocation
    }

    public let name: String
    public let kind: String
    /// Explicit dependencies (`after:`).
    public let after: [String]
    /// Every stage this one depends on: `after` plus the stages whose output folders its inputs
    /// and settings name. Sorted.
    public let dependencies: [String]
    let inputs: [String: Input]
    let settings: [String: ValueTemplate]
    let settingLocations: [String: SourceLocation]
    /// The line of the stage's name.
    let location: SourceLocation
    let kindLocation: SourceLocation
    var afterLocation: SourceLocation?

    public var inputNames: [String] { inputs.keys.sorted() }
    public var settingNames: [String] { settings.keys.sorted() }

    init(name: String, kind: String, after: [String], inputs: [String: Input], settings: [String: ValueTemplate],
         settingLocations: [String: SourceLocation], location: SourceLocation, kindLocation: SourceLocation) {
        self.name = name
        self.kind = kind
        self.after = after
        self.inputs = inputs
        self.settings = settings
        self.settingLocations = settingLocations
        self.location = location
        self.kindLocation = kindLocation
        var deps = Set(after)
        for t in settings.values { deps.formUnion(t.stageReferences) }
        for i in inputs.values { for p in i.paths { deps.formUnion(p.stageReferences) } }
        dependencies = deps.sorted()
    }

    func settingLocation(_ key: String) -> SourceLocation { settingLocations[key] ?? location }
}
