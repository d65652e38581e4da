import Foundation
import Recipes
import TestSupport
import XCTest

/// What the toy kinds did, across runs of one test.
final class Journal: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [(stage: String, resuming: Bool)] = []
    private var failing: Set<String> = []

    /// Stages run, in order.
    var runs: [String] { lock.withLock { entries.map(\.stage) } }
    func resumed(_ stage: String) -> Bool? { lock.withLock { entries.last { $0.stage == stage }?.resuming } }
    func reset() { lock.withLock { entries = [] } }

    /// The next run of `stage` throws (after writing a partial file).
    func failNext(_ stage: String) { _ = lock.withLock { failing.insert(stage) } }

    fileprivate func record(_ stage: String, resuming: Bool) -> Bool {
        lock.withLock {
            entries.append((stage, resuming))
            return failing.remove(stage) != nil
        }
    }
}

struct ToyFailure: LocalizedError {
    let stage: String
    var errorDescription: String? { "toy stage \(stage) failed on purpose" }
}

/// Writes `result.txt`: its `text` setting followed by its inputs' contents (a folder input
/// contributes its result.txt), so a rerun upstream changes what it writes.
struct WriteKind: StageKind {
    let name = "write"
    var version = "1"
    let settingKeys: Set<String> = ["text", "upstream", "count"]
    let journal: Journal

    func validate(_ settings: StageSettings, inputs: StageInputs) throws {
        _ = try settings.value("text", as: String.self)
        if try settings.value("count", default: 1) < 1 { throw settings.error("count", "must be at least 1") }
    }

    func run(_ context: StageContext) async throws {
        let fail = journal.record(context.stage, resuming: context.resuming)
        var text: String = try context.settings.value("text")
        for name in context.inputs.names {
            for url in try context.inputs.urls(name) { text += "+" + (try readResult(url)) }
        }
        if let upstream = try context.settings.optional("upstream", as: String.self) {
            text += "+" + (try readResult(URL(fileURLWithPath: upstream)))
        }
        let scratch = context.output.appendingPathComponent("attempt.txt")
        let previous = (try? String(contentsOf: scratch, encoding: .utf8)) ?? ""
        try (previous + "x").write(to: scratch, atomically: true, encoding: .utf8)
        context.progress(0.5, "half way")
        context.log("writing \(text)")
        if fail { throw ToyFailure(stage: context.stage) }
        try text.write(to: context.output.appendingPathComponent("result.txt"), atomically: true, encoding: .utf8)
    }
}

/// Works in steps until cancelled, keeping a checkpoint of the steps done; finishes at `steps`.
struct CountKind: StageKind {
    let name = "count"
    let version = "1"
    let settingKeys: Set<String> = ["steps"]
    let journal: Journal
    let started: @Sendable () -> Void

    func run(_ context: StageContext) async throws {
        _ = journal.record(context.stage, resuming: context.resuming)
        let steps: Int = try context.settings.value("steps")
        let checkpoint = context.output.appendingPathComponent("checkpoint.txt")
        var done = Int((try? String(contentsOf: checkpoint, encoding: .utf8)) ?? "0") ?? 0
        started()
        while done < steps {
            try context.checkCancellation()
            try await Task.sleep(nanoseconds: 20_000_000)
            done += 1
            try String(done).write(to: checkpoint, atomically: true, encoding: .utf8)
            context.progress(Double(done) / Double(steps), "step \(done)/\(steps)")
        }
    }
}

func readResult(_ url: URL) throws -> String {
    var isDir: ObjCBool = false
    _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir)
    let file = isDir.boolValue ? url.appendingPathComponent("result.txt") : url
    return try String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Records a run's events for assertions.
final class EventLog: RunObserver, @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    var events: [String] { lock.withLock { items } }
    private func add(_ s: String) { lock.withLock { items.append(s) } }
    func stageStarted(_ stage: String, resuming: Bool) { add("start \(stage)\(resuming ? " resuming" : "")") }
    func stageProgress(_ stage: String, fraction: Double?, message: String) { add("progress \(stage) \(fraction.map { String($0) } ?? "-") \(message)") }
    func stageLog(_ stage: String, _ line: String) { add("log \(stage) \(line)") }
    func stageFinished(_ record: StageRecord) { add("\(record.status.rawValue) \(record.name)") }
}
