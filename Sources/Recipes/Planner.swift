import Foundation
import Settings

/// Which stages of a run to force.
public struct RunOptions: Sendable {
    /// Run only this stage (even if cached); the stages it needs must be up to date. Stages
    /// downstream keep their outputs.
    public var only: String?
    /// Run this stage and everything downstream of it, even if cached; the rest as usual.
    public var from: String?

    public init(only: String? = nil, from: String? = nil) {
        self.only = only
        self.from = from
    }
}

/// A stage ready to run: its kind, resolved settings and inputs, and its place in the plan.
struct PreparedStage: Sendable {
    let stage: RecipeStage
    let kind: any StageKind
    let settings: StageSettings
    let inputs: StageInputs
    let fingerprint: StageFingerprint
    let plan: RunPlan.Stage
}

/// Turns a recipe into a plan: checks every stage with its kind (all problems at once), hashes
/// inputs, computes cache keys in dependency order and compares them with the markers on disk.
struct Planner {
    let recipe: Recipe
    let registry: StageRegistry
    let options: RunOptions

    static func finalFolder(_ workdir: URL, _ stage: String) -> URL { workdir.appendingPathComponent(stage, isDirectory: true) }
    static func scratchFolder(_ workdir: URL, _ stage: String) -> URL { workdir.appendingPathComponent(stage + ".partial", isDirectory: true) }

    func prepare() throws -> (RunPlan, [PreparedStage]) {
        let graph = try DependencyGraph(recipe.stages)
        let known = recipe.stages.map(\.name)
        for (flag, name) in [("--only", options.only), ("--from", options.from)] {
            if let name, !known.contains(name) {
                throw RecipeError.option("\(flag) \(name): no such stage (stages: \(known.joined(separator: ", ")))")
            }
        }
        if options.only != nil, options.from != nil { throw RecipeError.option("give --only or --from, not both") }

        let workdir = recipe.workdir
        var checked: [String: (any StageKind, StageSettings, StageInputs)] = [:]
        var problems: [RecipeError] = []
        for stage in recipe.stages {
            do { checked[stage.name] = try check(stage) } catch let e as RecipeError {
                if case let .several(es) = e { problems += es } else { problems.append(e) }
            }
        }
        if problems.count == 1 { throw problems[0] }
        if !problems.isEmpty { throw RecipeError.several(problems) }

        let hasher = ContentHasher(cacheURL: FileManager.default.fileExists(atPath: workdir.path)
            ? workdir.appendingPathComponent(".input-hashes.json") : nil)
        defer { hasher.save() }
        let forced: Set<String> = if let only = options.only { [only] } else if let from = options.from { graph.downstream(of: from).union([from]) } else { [] }

        var keys: [String: String] = [:]
        var prepared: [PreparedStage] = []
        for name in graph.order {
            let stage = recipe.stage(name)!
            let (kind, settings, inputs) = checked[name]!
            var inputPrints: [String: String] = [:]
            for (inputName, input) in stage.inputs {
                let parts = try input.paths.enumerated().map { i, p -> String in
                    if !p.stageReferences.isEmpty { return p.canonical }
                    return "sha256:" + (try hasher.hash(inputs.paths[inputName]![i]))
                }
                inputPrints[inputName] = parts.count == 1 ? parts[0] : "[" + parts.joined(separator: ",") + "]"
            }
            let fingerprint = StageFingerprint(
                kind: kind.name, version: try kind.cacheVersion(settings, inputs: inputs),
                settings: stage.settings.mapValues(\.canonical), inputs: inputPrints,
                dependencies: Dictionary(uniqueKeysWithValues: stage.dependencies.map { ($0, keys[$0]!) }))
            let key = fingerprint.key
            keys[name] = key

            let final = Self.finalFolder(workdir, name)
            let complete = StageMarker.read(final.appendingPathComponent(StageMarker.completeName))
            let scratch = Self.scratchFolder(workdir, name)
            let scratchExists = FileManager.default.fileExists(atPath: scratch.path)
            let scratchComplete = StageMarker.read(scratch.appendingPathComponent(StageMarker.completeName))
            let attempt = StageMarker.read(scratch.appendingPathComponent(StageMarker.attemptName))
            // The runner replaces a stage's folders; it must never replace one it did not write.
            for (folder, marker) in [(final, complete), (scratch, scratchComplete ?? attempt)]
                where marker == nil && FileManager.default.fileExists(atPath: folder.path) && !Self.isEmptyFolder(folder) {
                throw RecipeError.io(path: folder.path, reason: "exists but bcsft did not write it (no \(StageMarker.completeName)); stage \(name) would replace it. "
                                         + "Move it away, or choose another workdir")
            }

            var action = RunPlan.Action.run
            var reason: String
            var completeInScratch = false
            if complete?.key == key {
                action = .cached
                reason = "up to date"
            } else if scratchComplete?.key == key {
                action = .cached
                completeInScratch = true
                reason = "completed in the last run, before it was stopped"
            } else if let complete {
                reason = fingerprint.changes(since: complete.fingerprint).joined(separator: "; ")
                if reason.isEmpty { reason = "cache key changed" }
            } else {
                reason = "no previous output"
            }
            if forced.contains(name) {
                reason = (options.only != nil ? "forced by --only" : "forced by --from \(options.from!)")
                    + (action == .cached ? " (was up to date)" : " (\(reason))")
                action = .run
                completeInScratch = false
            } else if let only = options.only, action == .run {
                // A stage --only needs must be up to date; any other stale stage is left alone.
                if recipe.stage(only)!.dependencies.contains(name) {
                    throw RecipeError.option("--only \(only): it needs stage \(name), which is not up to date (\(reason)); run it first, or use --from \(name)")
                }
                action = .skip
                reason = "not selected by --only (\(reason))"
            }
            let resuming = action == .run && scratchExists && attempt?.key == key && scratchComplete == nil
            let discard = action == .run && scratchExists && !resuming
            if resuming { reason += "; resumes from \(name).partial" }
            if discard { reason += "; discards \(name).partial (left by an attempt with other settings)" }
            let planStage = RunPlan.Stage(name: name, kind: kind.name, key: key, action: action, reason: reason,
                                          resuming: resuming, completeInScratch: completeInScratch, discardScratch: discard)
            prepared.append(PreparedStage(stage: stage, kind: kind, settings: settings, inputs: inputs,
                                          fingerprint: fingerprint, plan: planStage))
        }
        return (RunPlan(recipe: recipe.source, workdir: workdir, stages: prepared.map(\.plan)), prepared)
    }

    static func isEmptyFolder(_ url: URL) -> Bool {
        (try? FileManager.default.contentsOfDirectory(atPath: url.path))?.isEmpty ?? false
    }

    /// Looks the stage's kind up and lets it check the resolved settings and inputs.
    private func check(_ stage: RecipeStage) throws -> (any StageKind, StageSettings, StageInputs) {
        guard let kind = registry[stage.kind] else {
            throw RecipeError.unknownKind(stage.kindLocation, stage: stage.name, kind: stage.kind, known: registry.names)
        }
        let workdir = recipe.workdir
        let folder: (String?) -> String = { s in
            (s.map { Self.finalFolder(workdir, $0) } ?? Self.scratchFolder(workdir, stage.name)).path
        }
        let settings = StageSettings(stage: stage.name, values: stage.settings.mapValues { $0.resolve(folder) },
                                     locations: stage.settingLocations, stageLocation: stage.location)
        var paths: [String: [URL]] = [:]
        var locations: [String: SourceLocation] = [:]
        for (name, input) in stage.inputs {
            paths[name] = input.paths.map {
                Recipe.path($0.resolve(folder).scalarText ?? "", base: recipe.baseDirectory)
            }
            locations[name] = input.location
        }
        let inputs = StageInputs(stage: stage.name, paths: paths, locations: locations, stageLocation: stage.location)

        var problems: [RecipeError] = []
        for key in stage.settingNames where !kind.settingKeys.contains(key) {
            problems.append(settings.error(key, "unknown setting for kind \(kind.name) (known: \(kind.settingKeys.sorted().joined(separator: ", ")))"))
        }
        if let allowed = kind.inputNames {
            for name in stage.inputNames where !allowed.contains(name) {
                problems.append(inputs.error(name, "unknown input for kind \(kind.name) (known: \(allowed.sorted().joined(separator: ", ")))"))
            }
        }
        for (name, input) in stage.inputs {
            for (i, p) in input.paths.enumerated() where p.stageReferences.isEmpty {
                if !FileManager.default.fileExists(atPath: paths[name]![i].path) {
                    problems.append(inputs.error(name, "\(paths[name]![i].path) does not exist (if another stage makes it, name it as ${stages.NAME.out}/...)"))
                }
            }
        }
        if problems.isEmpty {
            do { try kind.validate(settings, inputs: inputs) } catch let e as RecipeError {
                problems.append(e)
            } catch {
                problems.append(.invalid(stage.location, key: "stages.\(stage.name)", reason: error.localizedDescription))
            }
        }
        if problems.count == 1 { throw problems[0] }
        if !problems.isEmpty { throw RecipeError.several(problems) }
        return (kind, settings, inputs)
    }
}
