import Foundation
import Recipes
import TestSupport
import XCTest

/// `bcsft run` as a user runs it, with the built-in shell kind.
final class RunCommandTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = try temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    /// `first` counts its runs in a file outside the workdir; `slow` sleeps on its first
    /// attempt (after noting its pid) and finishes at once when resumed; `last` reads it.
    func writeRecipe() throws -> URL {
        let yaml = """
        # bcsft run kill.yaml
        name: kill
        stages:
          first:
            kind: shell
            settings:
              command: echo ran >> \(dir.path)/first-runs.txt && echo one > ${out}/one.txt
          slow:
            kind: shell
            after: [first]
            settings:
              command: |
                if [ "$BCSFT_RESUMING" = 1 ] && [ -f ${out}/started ]; then echo resumed > ${out}/result.txt
                else echo $$ > ${out}/pid; touch ${out}/started; exec sleep 60; fi
          last:
            kind: shell
            inputs: {slow: "${stages.slow.out}/result.txt"}
            settings:
              command: cat "$BCSFT_INPUT_SLOW" > ${out}/final.txt
        """
        let url = dir.appendingPathComponent("kill.yaml")
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func testKilledRunResumesWithoutRerunningCompletedStages() throws {
        let exe = try bcsftExecutable()
        let recipe = try writeRecipe()
        let work = dir.appendingPathComponent("work")
        let p = try launch(exe, ["run", recipe.path, "--workdir", work.path])
        let started = work.appendingPathComponent("slow.partial/started")
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: started.path), p.isRunning, Date() < deadline { usleep(50_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: started.path), "the slow stage never started")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        // The sleep the killed run started outlives it; end it (by the pid it wrote).
        killRecorded(work.appendingPathComponent("slow.partial/pid"))
        XCTAssertEqual(p.terminationReason, .uncaughtSignal)
        XCTAssertTrue(FileManager.default.fileExists(atPath: work.appendingPathComponent("first/one.txt").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("slow").path))
        XCTAssertEqual(RunRecord.read(workdir: work)?.stage("slow")?.status, .running, "run.json shows where it was killed")

        let (dryStatus, plan, _) = try runProcess(exe, ["run", recipe.path, "--workdir", work.path, "--dry-run"])
        XCTAssertEqual(dryStatus, 0)
        XCTAssertTrue(plan.contains("resumes from slow.partial"), plan)

        let (status, out, err) = try runProcess(exe, ["run", recipe.path, "--workdir", work.path])
        XCTAssertEqual(status, 0, err)
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("first-runs.txt"), encoding: .utf8), "ran\n",
                       "the completed stage did not run again")
        XCTAssertEqual(try String(contentsOf: work.appendingPathComponent("last/final.txt"), encoding: .utf8), "resumed\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("slow.partial").path))
        XCTAssertTrue(err.contains("✓ first cached"), err)
        XCTAssertTrue(out.contains("completed in"), out)
        XCTAssertEqual(RunRecord.read(workdir: work)?.stages.map(\.status), [.cached, .completed, .completed])
    }

    /// Starts `bcsft run` on a recipe whose one stage runs `command`, and waits until the
    /// command has written its pid into the stage's scratch folder.
    func startSlowRun(_ command: String) throws -> (Process, URL) {
        let recipe = dir.appendingPathComponent("slow.yaml")
        try "stages:\n  slow:\n    kind: shell\n    settings:\n      command: \(command)\n".write(to: recipe, atomically: true, encoding: .utf8)
        let work = dir.appendingPathComponent("work")
        let p = try launch(try bcsftExecutable(), ["run", recipe.path, "--workdir", work.path])
        let pidFile = work.appendingPathComponent("slow.partial/pid")
        let deadline = Date().addingTimeInterval(60)
        while (try? String(contentsOf: pidFile, encoding: .utf8))?.hasSuffix("\n") != true, p.isRunning, Date() < deadline { usleep(50_000) }
        return (p, pidFile)
    }

    /// Ends a command the test started through bcsft, by the pid it wrote.
    func killRecorded(_ pidFile: URL) {
        if let text = try? String(contentsOf: pidFile, encoding: .utf8),
           let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            kill(pid, SIGKILL)
        }
    }

    func wait(_ p: Process, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while p.isRunning, Date() < deadline { usleep(20_000) }
        return !p.isRunning
    }

    func testCtrlCStopsTheStageAndKeepsItsScratchFolder() throws {
        let (p, pidFile) = try startSlowRun("echo $$ > ${out}/pid; exec sleep 60")
        defer { killRecorded(pidFile) }
        kill(p.processIdentifier, SIGINT)
        XCTAssertTrue(wait(p, seconds: 20), "the run did not stop after Ctrl-C")
        if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        XCTAssertEqual(p.terminationStatus, 130)
        let work = dir.appendingPathComponent("work")
        XCTAssertEqual(RunRecord.read(workdir: work)?.status, .interrupted)
        XCTAssertEqual(RunRecord.read(workdir: work)?.stage("slow")?.status, .interrupted)
        XCTAssertTrue(FileManager.default.fileExists(atPath: work.appendingPathComponent("slow.partial/pid").path))
    }

    func testASecondCtrlCExitsAtOnce() throws {
        // The command ignores SIGINT, so the first Ctrl-C cannot stop it.
        let (p, pidFile) = try startSlowRun("trap '' INT; echo $$ > ${out}/pid; exec sleep 60")
        defer { killRecorded(pidFile) }
        kill(p.processIdentifier, SIGINT)
        XCTAssertFalse(wait(p, seconds: 1), "the first Ctrl-C waits for the stage")
        kill(p.processIdentifier, SIGINT)
        XCTAssertTrue(wait(p, seconds: 5), "the second Ctrl-C did not exit")
        if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        XCTAssertEqual(p.terminationStatus, 130)
    }

    func testFailingCommandAndOverrides() throws {
        let exe = try bcsftExecutable()
        let recipe = dir.appendingPathComponent("fail.yaml")
        try """
        stages:
          boom:
            kind: shell
            settings: {command: echo about to fail; exit 3}
        """.write(to: recipe, atomically: true, encoding: .utf8)
        let work = dir.appendingPathComponent("w").path
        let (status, out, err) = try runProcess(exe, ["run", recipe.path, "--workdir", work])
        XCTAssertEqual(status, 1)
        XCTAssertTrue(err.contains("✗ boom failed"), err)
        XCTAssertTrue(err.contains("command exited with status 3"), err)
        XCTAssertTrue(err.contains("about to fail"), err)
        XCTAssertTrue(out.contains("boom   shell  failed"), out)

        let fixed = try runProcess(exe, ["run", recipe.path, "--workdir", work, "--set", "stages.boom.settings.command=true"])
        XCTAssertEqual(fixed.0, 0, fixed.2)
        let typo = try runProcess(exe, ["run", recipe.path, "--workdir", work, "--set", "stages.boom.settings.comand=true"])
        XCTAssertNotEqual(typo.0, 0)
        XCTAssertTrue(typo.2.contains("stages.boom.settings.comand: unknown setting for kind shell (known: command)"), typo.2)
    }

    /// Every shipped recipe (a file in recipes/ that opens with `# bcsft run`) parses and
    /// plans with the kinds `bcsft run` registers; the shell example also runs, then is cached.
    func testShippedRecipes() throws {
        let exe = try bcsftExecutable()
        let folder = repoRoot.appendingPathComponent("recipes")
        let recipes = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }.sorted()
            .filter { (try? String(contentsOf: folder.appendingPathComponent($0), encoding: .utf8))?.hasPrefix("# bcsft run ") == true }
        XCTAssertTrue(recipes.contains("shell-example.yaml"))
        // Recipes name paths relative to the repository root, where users run them.
        func bcsft(_ args: [String]) throws -> (Int32, String, String) {
            try runProcess("/bin/sh", ["-c", "cd \"$0\" && exec \"$@\"", repoRoot.path, exe] + args)
        }
        for name in recipes {
            let (status, out, err) = try bcsft(["run", "recipes/\(name)", "--dry-run", "--workdir", dir.appendingPathComponent(name).path])
            XCTAssertEqual(status, 0, "\(name): \(err)")
            XCTAssertTrue(out.contains("plan for recipes/\(name)"), out)
        }
        let work = dir.appendingPathComponent("example").path
        let (status, out, err) = try bcsft(["run", "recipes/shell-example.yaml", "--workdir", work])
        XCTAssertEqual(status, 0, err)
        XCTAssertEqual(try String(contentsOfFile: work + "/report/report.txt", encoding: .utf8), "train 700 val 100\n")
        XCTAssertTrue(out.contains("completed in"), out)
        let (_, plan, _) = try bcsft(["run", "recipes/shell-example.yaml", "--workdir", work, "--dry-run", "--set", "vars.holdout=200"])
        XCTAssertTrue(plan.contains("split   shell  run     settings changed: command"), plan)
        XCTAssertTrue(plan.contains("count   shell  run     upstream changed: split"), plan)
        XCTAssertTrue(plan.contains("3 of 3 stage(s) to run"), plan)
    }
}
