import ArgumentParser
import Backends
import Common
import Foundation
import Pipelines

struct ImproveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "improve",
        abstract: "Self-improvement: critique-and-revise vs behavior-guided (behaviors from the model's own attempt) over budgets.",
        discussion: "--max-tokens is the budget of the first attempt and the feedback; --budgets those of the second attempt."
    )
    @OptionGroup var io: ProblemOptions
    @OptionGroup var model: ModelOptions
    @Option(help: help("First attempts per problem, each improved by both methods (pass@k over them).", default: ImproveSettings().samples))
    var samples: Int?
    @Option(name: .customLong("critique-revise"), help: help("one_pass ((Q, R1) -> R2, the paper's baseline) or two_calls (critique, then revise).",
                                                           default: ImproveSettings().critiqueRevise))
    var critiqueRevise: String?
    @Option(help: help("Comma-separated budgets (max output tokens) for the second attempt.", default: ImproveSettings().budgets)) var budgets: String?

    func settings() throws -> ImproveSettings {
        try model.settings(ImproveSettings.self) { g in
            io.fill(&g)
            g.set("budgets", try parseBudgets(budgets))
            g.set("samples", samples)
            g.set("critique_revise", critiqueRevise)
        }
    }

    func run() async throws {
        let step = try settings()
        let problems = try step.problems.load(io.problemsURL)
        let model = try model.backend.make(step.backend, output: io.outURL)
        let progress = ProgressSink("improve", total: problems.count * step.samples)
        let (records, points, failure) = await ImprovePipeline.run(
            problems: problems, model: model, settings: step, prompts: try step.promptSet(), verify: Grading.verify, progress: progress.callback)
        progress.finish()
        try JSONLines.write(records, to: io.outURL)
        for line in ImprovePipeline.table(points) { print(line) }
        if let failure { throw failure }
    }
}
