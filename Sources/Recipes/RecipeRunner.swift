import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a recipe's stages one after another in dependency order. Sequential on purpose: the
/// stages that matter (generation, training) use every core themselves, and one stage at a
/// time keeps progress and logs readable.
///
/// A stage writes into `WORKDIR/STAGE.partial/`; when its kind returns, a completion marker
/// (key, times) is written into that folder and it is renamed to `WORKDIR/STAGE/`, replacing
/// the previous output only then. A stage whose folder holds a marker with the current key is
/// cached. A failed, interrupted or killed stage keeps its `.partial` folder, which the next
/// attempt with the same key resumes from (`StageContext.resuming`); completed stages never
/// run again. The first failure stops the run.
public final class RecipeRunner: Sendable {
    public let recipe: Recipe
    public let registry: StageRegistry
    public let options: RunOptions
    private let observer: any RunObserver
    private let cancellation: CancellationToken

    public init(recipe: Recipe, registry: StageRegistry, options: RunOptions = RunOptions(),
                observer: any RunObserver = SilentObserver(), cancellation: CancellationToken = CancellationToken()) {
        self.recipe = recipe
        self.registry = registry
        self.options = options
        self.observer = observer
        self.cancellation = cancellation
    }

    /// Checks every stage and decides what would run, without running anything.
    public func plan() throws -> RunPlan {
        try Planner(recipe: recipe, registry: registry, options: options).prepare().0
    }

    /// Runs the plan. Errors in the recipe are thrown before any stage starts; a stage that
    /// fails or is interrupted is reported in the returned record (and `WORKDIR/run.json`).
    public func run() async throws -> RunRecord {
        let workdir = recipe.workdir
        do { try FileManager.default.createDirectory(at: workdir, withIntermediateDirectories: true) } catch {
            throw RecipeError.io(path: workdir.path, reason: "cannot create the workdir: \(error.localizedDescription)")
        }
        let (plan, prepared) = try Planner(recipe: recipe, registry: registry, options: options).prepare()
        removeLeftovers(in: workdir)
        observer.planned(plan)

        let start = Date()
        var record = RunRecord(
            recipe: recipe.source, name: recipe.name, workdir: workdir.path, status: .running, started: start,
            stages: plan.stages.map {
                StageRecord(name: $0.name, kind: $0.kind, key: $0.key, status: .pending, reason: $0.reason, resumed: false)
            })
        try record.write(workdir: workdir)

        var stopped = false
        for (index, stage) in prepared.enumerated() {
            switch stage.plan.action {
            case .skip:
                record.stages[index].status = .skipped
            case .cached:
                if stage.plan.completeInScratch { try promote(stage.stage.name, in: workdir) }
                let marker = StageMarker.read(Planner.finalFolder(workdir, stage.plan.name).appendingPathComponent(StageMarker.completeName))
                record.stages[index].status = .cached
                record.stages[index].durationSeconds = marker?.durationSeconds
            case .run where stopped || cancellation.isCancelled:
                if !stopped, record.status == .running { record.status = .interrupted }
                stopped = true
                record.stages[index].status = .skipped
                record.stages[index].reason = "not run: the run stopped before it"
            case .run:
                record.stages[index].status = .running
                record.stages[index].started = Date()
                try record.write(workdir: workdir) // a killed run leaves the stage shown as running
                record.stages[index] = await execute(stage, record: record.stages[index])
                switch record.stages[index].status {
                case .failed: record.status = .failed; stopped = true
                case .interrupted: record.status = .interrupted; stopped = true
                default: break
                }
                try record.write(workdir: workdir)
            }
            observer.stageFinished(record.stages[index])
        }
        if record.status == .running { record.status = .completed }
        record.finished = Date()
        record.durationSeconds = record.finished!.timeIntervalSince(start)
        try record.write(workdir: workdir)
        observer.runFinished(record)
        return record
    }

    /// Runs one stage in its scratch folder and moves the result into place.
    private func execute(_ stage: PreparedStage, record: StageRecord) async -> StageRecord {
        var record = record
        let workdir = recipe.workdir
        let name = stage.stage.name
        let scratch = Planner.scratchFolder(workdir, name)
        let fm = FileManager.default
        let started = Date()
        record.started = started
        record.resumed = stage.plan.resuming
        do {
            if stage.plan.discardScratch { try fm.removeItem(at: scratch) }
            try fm.createDirectory(at: scratch, withIntermediateDirectories: true)
            try StageMarker(stage: name, key: stage.plan.key, fingerprint: stage.fingerprint, started: started)
                .write(scratch.appendingPathComponent(StageMarker.attemptName))
        } catch {
            record.status = .failed
            record.error = "cannot prepare \(scratch.path): \(error.localizedDescription)"
            return record
        }

        let log = StageLog(url: workdir.appendingPathComponent(name + ".log"),
                           header: "\(ISO8601DateFormatter().string(from: started)) \(name) (\(stage.kind.name)) key \(stage.plan.key.prefix(12))"
                               + (stage.plan.resuming ? ", resuming" : ""))
        defer { log.close() }
        let context = StageContext(stage: name, output: scratch, resuming: stage.plan.resuming, settings: stage.settings,
                                   inputs: stage.inputs, workdir: workdir, observer: observer,
                                   cancellation: cancellation, log: log)
        observer.stageStarted(name, resuming: stage.plan.resuming)

        let kind = stage.kind
        let task = Task { try await kind.run(context) }
        let handler = cancellation.onCancel { task.cancel() }
        defer { cancellation.removeHandler(handler) }
        do {
            try await task.value
            let finished = Date()
            var marker = StageMarker(stage: name, key: stage.plan.key, fingerprint: stage.fingerprint, started: started)
            marker.finished = finished
            marker.durationSeconds = finished.timeIntervalSince(started)
            try marker.write(scratch.appendingPathComponent(StageMarker.completeName))
            try promote(name, in: workdir)
            record.status = .completed
            record.finished = finished
            record.durationSeconds = marker.durationSeconds
        } catch {
            let finished = Date()
            record.finished = finished
            record.durationSeconds = finished.timeIntervalSince(started)
            if cancellation.isCancelled || error is CancellationError {
                record.status = .interrupted
                record.error = "interrupted; the next run resumes from \(scratch.path)"
            } else {
                record.status = .failed
                record.error = (error as? LocalizedError)?.errorDescription ?? "\(error)"
            }
            log.append("\(record.status.rawValue): \(record.error!)")
        }
        return record
    }

    /// Moves a completed scratch folder to the stage's folder. The old output is renamed aside
    /// first and deleted last, so a crash at any point leaves either folder complete.
    private func promote(_ stage: String, in workdir: URL) throws {
        let scratch = Planner.scratchFolder(workdir, stage)
        let final = Planner.finalFolder(workdir, stage)
        try? FileManager.default.removeItem(at: scratch.appendingPathComponent(StageMarker.attemptName))
        var aside: URL?
        if FileManager.default.fileExists(atPath: final.path) {
            let old = workdir.appendingPathComponent(".\(stage).old-\(UUID().uuidString.prefix(8))")
            guard rename(final.path, old.path) == 0 else {
                throw RecipeError.io(path: final.path, reason: "cannot move the previous output aside: \(String(cString: strerror(errno)))")
            }
            aside = old
        }
        guard rename(scratch.path, final.path) == 0 else {
            throw RecipeError.io(path: final.path, reason: "cannot move \(scratch.lastPathComponent) into place: \(String(cString: strerror(errno)))")
        }
        if let aside { try? FileManager.default.removeItem(at: aside) }
    }

    /// Old outputs a killed promotion left renamed aside.
    private func removeLeftovers(in workdir: URL) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: workdir.path)) ?? []
        for n in names where n.hasPrefix(".") && n.contains(".old-") {
            try? FileManager.default.removeItem(at: workdir.appendingPathComponent(n))
        }
    }
}
