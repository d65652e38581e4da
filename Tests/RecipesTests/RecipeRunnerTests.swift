import Foundation
@testable import Recipes
import TestSupport
import XCTest

final class RecipeRunnerTests: XCTestCase {
    var dir: URL!
    var journal: Journal!

    override func setUpWithError() throws {
        dir = try temporaryDirectory()
        journal = Journal()
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("data"), withIntermediateDirectories: true)
        try "seed-1".write(to: dir.appendingPathComponent("data/seed.txt"), atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    /// a <- b <- c (c names b's folder in a setting and follows it); d stands alone.
    static let chain = """
    name: toy
    workdir: work
    vars:
      greeting: hello
    stages:
      a:
        kind: write
        inputs: {seed: data/seed.txt}
        settings: {text: "${vars.greeting}"}
      b:
        kind: write
        inputs:
          from_a: ${stages.a.out}/result.txt
        settings: {text: b}
      c:
        kind: write
        after: [b]
        settings:
          text: c
          upstream: ${stages.b.out}
      d:
        kind: write
        settings: {text: d}
    """

    func recipe(_ yaml: String = chain, _ overrides: [String] = []) throws -> Recipe {
        try Recipe.parse(yaml: yaml, source: "toy.yaml", overrides: overrides, environment: [:], baseDirectory: dir)
    }

    func registry(version: String = "1") -> StageRegistry {
        StageRegistry([WriteKind(version: version, journal: journal), ShellStage()])
    }

    @discardableResult
    func run(_ overrides: [String] = [], yaml: String = chain, options: RunOptions = RunOptions(), version: String = "1",
             observer: any RunObserver = SilentObserver()) async throws -> RunRecord {
        journal.reset()
        return try await RecipeRunner(recipe: recipe(yaml, overrides), registry: registry(version: version),
                                      options: options, observer: observer).run()
    }

    func plan(_ overrides: [String] = [], options: RunOptions = RunOptions(), version: String = "1") throws -> RunPlan {
        try RecipeRunner(recipe: recipe(Self.chain, overrides), registry: registry(version: version), options: options).plan()
    }

    func result(_ stage: String) throws -> String {
        try readResult(dir.appendingPathComponent("work/\(stage)"))
    }

    func testFirstRunRunsEverythingInOrderAndSecondRunNothing() async throws {
        let events = EventLog()
        let first = try await run(observer: events)
        XCTAssertEqual(journal.runs, ["a", "b", "c", "d"])
        XCTAssertEqual(first.status, .completed)
        XCTAssertEqual(first.stages.map(\.status), [.completed, .completed, .completed, .completed])
        XCTAssertEqual(try result("a"), "hello+seed-1")
        XCTAssertEqual(try result("b"), "b+hello+seed-1")
        XCTAssertEqual(try result("c"), "c+b+hello+seed-1")
        XCTAssertTrue(events.events.contains("progress b 0.5 half way"))
        XCTAssertTrue(events.events.contains("log b writing b+hello+seed-1"))

        // Outputs are in place with their markers; scratch folders are gone; the log was written.
        let work = dir.appendingPathComponent("work")
        let marker = StageMarker.read(work.appendingPathComponent("b/\(StageMarker.completeName)"))
        XCTAssertEqual(marker?.key, first.stage("b")?.key)
        XCTAssertNotNil(marker?.durationSeconds)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("b.partial").path))
        XCTAssertTrue(try String(contentsOf: work.appendingPathComponent("b.log"), encoding: .utf8).contains("writing b+hello"))

        let second = try await run()
        XCTAssertEqual(journal.runs, [], "nothing changed, so nothing runs")
        XCTAssertEqual(second.stages.map(\.status), [.cached, .cached, .cached, .cached])
        XCTAssertEqual(RunRecord.read(workdir: work)?.stages.map(\.status), [.cached, .cached, .cached, .cached])
        XCTAssertEqual(try plan().stages.map(\.reason), ["up to date", "up to date", "up to date", "up to date"])
    }

    func testChangingOneSettingRerunsThatStageAndItsDependents() async throws {
        try await run()
        let p = try plan(["stages.b.settings.text=B"])
        XCTAssertEqual(p.stages.map(\.action), [.cached, .run, .run, .cached])
        XCTAssertEqual(p.stage("b")?.reason, "settings changed: text")
        XCTAssertEqual(p.stage("c")?.reason, "upstream changed: b")
        XCTAssertTrue(p.description.contains("settings changed: text"))

        try await run(["stages.b.settings.text=B"])
        XCTAssertEqual(journal.runs, ["b", "c"])
        XCTAssertEqual(try result("c"), "c+B+hello+seed-1")
        // A var feeds a's setting: changing it reruns a and everything after it, not d.
        try await run(["stages.b.settings.text=B", "vars.greeting=hi"])
        XCTAssertEqual(journal.runs, ["a", "b", "c"])
        // Going back to the first settings is a change too (the cache keeps one output per stage).
        try await run()
        XCTAssertEqual(journal.runs, ["a", "b", "c"])
    }

    func testChangingAnInputFileReruns() async throws {
        try await run()
        // Same size, written at once: the hash cache must not trust the time stamp.
        try "seed-2".write(to: dir.appendingPathComponent("data/seed.txt"), atomically: false, encoding: .utf8)
        XCTAssertEqual(try plan().stage("a")?.reason, "inputs changed: seed")
        try await run()
        XCTAssertEqual(journal.runs, ["a", "b", "c"])
        XCTAssertEqual(try result("c"), "c+b+hello+seed-2")
        try await run()
        XCTAssertEqual(journal.runs, [])
    }

    func testKindVersionIsPartOfTheKey() async throws {
        try await run()
        XCTAssertEqual(try plan(version: "2").stage("a")?.reason, "write version changed: 1 -> 2")
        try await run(version: "2")
        XCTAssertEqual(journal.runs, ["a", "b", "c", "d"])
    }

    func testAFailedStageKeepsEarlierOutputsAndTheRerunResumesFromIt() async throws {
        journal.failNext("b")
        let failed = try await run()
        XCTAssertEqual(failed.status, .failed)
        XCTAssertEqual(failed.stages.map(\.status), [.completed, .failed, .skipped, .skipped])
        XCTAssertEqual(failed.stage("b")?.error, "toy stage b failed on purpose")
        let work = dir.appendingPathComponent("work")
        XCTAssertTrue(FileManager.default.fileExists(atPath: work.appendingPathComponent("a/result.txt").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("b").path))
        XCTAssertEqual(try String(contentsOf: work.appendingPathComponent("b.partial/attempt.txt"), encoding: .utf8), "x")
        XCTAssertEqual(RunRecord.read(workdir: work)?.status, .failed)
        XCTAssertTrue(try plan().stage("b")!.reason.contains("resumes from b.partial"))

        let rerun = try await run()
        XCTAssertEqual(journal.runs, ["b", "c", "d"], "a completed, so it does not run again")
        XCTAssertEqual(journal.resumed("b"), true)
        XCTAssertEqual(journal.resumed("c"), false)
        XCTAssertEqual(rerun.stage("b")?.resumed, true)
        XCTAssertEqual(rerun.status, .completed)
        XCTAssertEqual(try String(contentsOf: work.appendingPathComponent("b/attempt.txt"), encoding: .utf8), "xx",
                       "the second attempt saw the first one's files")
    }

    func testScratchOfAnotherKeyIsDiscarded() async throws {
        journal.failNext("b")
        try await run()
        XCTAssertTrue(try plan(["stages.b.settings.text=B"]).stage("b")!.reason.contains("discards b.partial"))
        try await run(["stages.b.settings.text=B"])
        XCTAssertEqual(journal.resumed("b"), false)
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("work/b/attempt.txt"), encoding: .utf8), "x")
    }

    func testEveryStageIsCheckedBeforeAnyRuns() async throws {
        // Typos in the last stage and a bad value in another: both reported, nothing runs.
        let yaml = Self.chain.replacingOccurrences(of: "settings: {text: d}", with: "settings: {text: d, txet: 1}")
            .replacingOccurrences(of: "text: c", with: "text: c\n      count: 0")
        do {
            try await run(yaml: yaml)
            XCTFail("expected an error")
        } catch {
            let m = error.localizedDescription
            XCTAssertTrue(m.contains("toy.yaml:24: stages.d.settings.txet: unknown setting for kind write (known: count, text, upstream)"), m)
            XCTAssertTrue(m.contains("toy.yaml:20: stages.c.settings.count: must be at least 1"), m)
        }
        XCTAssertEqual(journal.runs, [])
        assertThrows(["toy.yaml:7:", "stage 'a': unknown kind 'wirte'", "known kinds: shell, write"]) {
            _ = try RecipeRunner(recipe: recipe(Self.chain.replacingOccurrences(of: "kind: write\n    inputs: {seed", with: "kind: wirte\n    inputs: {seed")),
                                 registry: registry()).plan()
        }
        assertThrows(["--set stages.a.inputs.seed=data/nope.txt: stages.a.inputs.seed", "data/nope.txt does not exist"]) {
            _ = try plan(["stages.a.inputs.seed=data/nope.txt"])
        }
    }

    func testSettingsAccessorsNameTheKey() throws {
        let r = try recipe(Self.chain, ["stages.d.settings.count=many"])
        let s = try XCTUnwrap(r.stage("d"))
        let settings = StageSettings(stage: "d", values: s.settings.mapValues { $0.resolve { $0 ?? "" } },
                                     locations: s.settingLocations, stageLocation: s.location)
        assertThrows(["--set stages.d.settings.count=many: stages.d.settings.count: expected an integer, got a string ('many')"]) {
            _ = try settings.value("count", as: Int.self)
        }
        assertThrows(["toy.yaml:21: stages.d.settings.lr: missing (a number required)"]) { _ = try settings.value("lr", as: Double.self) }
        XCTAssertEqual(try settings.value("lr", default: 0.5), 0.5)
        XCTAssertEqual(try settings.value("text", as: String.self), "d")
        XCTAssertNil(try settings.optional("lr", as: Double.self))
        // Numbers convert where nothing is lost, through the one settings decoder.
        let values = StageSettings(stage: "v", values: ["three": .int(3), "whole": .double(512), "half": .double(0.5), "list": .list([.int(1), .int(2)])])
        XCTAssertEqual(try values.value("three", as: Double.self), 3)
        XCTAssertEqual(try values.value("whole", as: Int.self), 512)
        assertThrows(["stages.v.settings.half: expected an integer, got a number (0.5)"]) { _ = try values.value("half", as: Int.self) }
        XCTAssertEqual(try values.value("list", as: [Int].self), [1, 2])
    }

    func testOnlyAndFrom() async throws {
        try await run()
        let only = try await run(options: RunOptions(only: "b"))
        XCTAssertEqual(journal.runs, ["b"], "--only runs the stage even when cached, and nothing else")
        XCTAssertEqual(only.stages.map(\.status), [.cached, .completed, .cached, .cached])

        try await run(options: RunOptions(from: "b"))
        XCTAssertEqual(journal.runs, ["b", "c"])
        XCTAssertEqual(try plan(options: RunOptions(from: "b")).stage("b")?.reason, "forced by --from b (was up to date)")

        // --only refuses to run on stale inputs, naming the stage to run first.
        assertThrows(["--only b: it needs stage a", "settings changed: text", "--from a"]) {
            _ = try plan(["vars.greeting=hey"], options: RunOptions(only: "b"))
        }
        // A stage --only does not need stays as it is.
        let p = try plan(["stages.d.settings.text=D"], options: RunOptions(only: "b"))
        XCTAssertEqual(p.stage("d")?.action, .skip)
        assertThrows(["--only nope: no such stage (stages: a, b, c, d)"]) { _ = try plan(options: RunOptions(only: "nope")) }
    }

    func testInterruptStopsTheStageAndTheRerunResumesIt() async throws {
        let yaml = """
        workdir: work
        stages:
          first: {kind: write, settings: {text: one}}
          slow: {kind: count, settings: {steps: 40}}
          last: {kind: write, settings: {text: last, upstream: "${stages.slow.out}/checkpoint.txt"}}
        """
        let token = CancellationToken()
        let registry = StageRegistry([WriteKind(journal: journal), CountKind(journal: journal, started: {})])
        let interrupting = StageRegistry([WriteKind(journal: journal), CountKind(journal: journal, started: {
            DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { token.cancel() }
        })])
        let r = try recipe(yaml)
        let stopped = try await RecipeRunner(recipe: r, registry: interrupting, cancellation: token).run()
        XCTAssertEqual(stopped.status, .interrupted)
        XCTAssertEqual(stopped.stages.map(\.status), [.completed, .interrupted, .skipped])
        let work = dir.appendingPathComponent("work")
        let done = Int(try String(contentsOf: work.appendingPathComponent("slow.partial/checkpoint.txt"), encoding: .utf8)) ?? 0
        XCTAssertGreaterThan(done, 0)
        XCTAssertLessThan(done, 40)

        journal.reset()
        let resumed = try await RecipeRunner(recipe: r, registry: registry).run()
        XCTAssertEqual(resumed.status, .completed)
        XCTAssertEqual(journal.runs, ["slow", "last"])
        XCTAssertEqual(journal.resumed("slow"), true)
        XCTAssertEqual(try result("last"), "last+40")
    }

    func testACompletedStageKilledBeforeItsFolderMovedIsNotRerun() async throws {
        try await run()
        let work = dir.appendingPathComponent("work")
        // The state a kill between writing the marker and the rename leaves.
        try FileManager.default.moveItem(at: work.appendingPathComponent("b"), to: work.appendingPathComponent("b.partial"))
        XCTAssertEqual(try plan().stage("b")?.action, .cached)
        let record = try await run()
        XCTAssertEqual(journal.runs, [])
        XCTAssertEqual(record.stage("b")?.status, .cached)
        XCTAssertEqual(try result("b"), "b+hello+seed-1")
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("b.partial").path))
    }

    func testConsoleReporterWritesPlainLinesOffATerminal() async throws {
        let lines = Lines()
        try await run(observer: ConsoleReporter(isTTY: false, write: { lines.add($0) }))
        let text = lines.text
        XCTAssertTrue(text.contains("▶ b started\n"), text)
        XCTAssertTrue(text.contains("  [b] writing b+hello+seed-1\n"), text)
        XCTAssertTrue(text.contains("  b 0:00  ████████████············  50%  half way\n"), text)
        XCTAssertTrue(text.contains("✓ b done in "), text)
        XCTAssertFalse(text.contains("\r"), "no redraws off a terminal")
        let record = try await run()
        XCTAssertTrue(record.summary.contains("b      write  cached"), record.summary)
        XCTAssertTrue(record.summary.contains("completed in"), record.summary)
    }
}

final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var parts: [String] = []
    func add(_ s: String) { lock.withLock { parts.append(s) } }
    var text: String { lock.withLock { parts.joined() } }
}
