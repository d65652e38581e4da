import ArgumentParser
import Foundation
import Recipes
import Settings
import Stages

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a recipe: its stages in dependency order, each skipped when its cached output is up to date.",
        discussion: "Stage outputs go to WORKDIR/STAGE/ (recipes/README.md describes the format). A stage is "
            + "cached when its kind, settings, inputs and upstream stages are unchanged. Ctrl-C stops after the "
            + "running stage flushes (a second Ctrl-C exits at once); the next run resumes it. "
            + "Stage kinds: \(StageRegistry.standard.names.joined(separator: ", "))."
    )

    @Argument(help: "The recipe (YAML).") var recipe: String
    @Option(name: .customLong("set"), help: "Override a value, e.g. --set vars.seed=3 --set stages.train.settings.lr=1e-3 (repeatable).")
    var overrides: [String] = []
    @Option(help: "Run only this stage (even if cached); the stages it needs must be up to date.") var only: String?
    @Option(help: "Run this stage and everything downstream of it, even if cached.") var from: String?
    @Flag(help: "Print the plan (each stage: cached or to run, and why) and stop.") var dryRun = false
    @Option(help: "Write stage outputs here instead of the recipe's workdir.") var workdir: String?

    func validate() throws {
        if only != nil, from != nil { throw ValidationError("give --only or --from, not both") }
    }

    func run() async throws {
        try configureRuntime()
        let parsed = try Recipe.load(file: recipe, overrides: overrides, workdir: workdir)
        let token = CancellationToken()
        let runner = RecipeRunner(recipe: parsed, registry: .standard, options: RunOptions(only: only, from: from),
                                  observer: ConsoleReporter(), cancellation: token)
        if dryRun {
            print(try runner.plan().description)
            return
        }
        token.cancelOnInterrupt(message: "interrupt: stopping once the running stage has flushed its output (Ctrl-C again to exit at once)")
        let record = try await runner.run()
        print(record.summary)
        switch record.status {
        case .completed, .running: break
        case .failed: throw ExitCode.failure
        case .interrupted: throw ExitCode(130)
        }
    }
}
