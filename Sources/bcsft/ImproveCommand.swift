import ArgumentParser
import Evaluation
import Foundation
import Pipelines

struct ImproveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "improve",
        abstract: "Self-improvement: critique-and-revise vs behavior-guided (behaviors from the model's own attempt) over budgets.",
        discussion: "--max-tokens is the budget of the first attempt and the feedback; --budgets those of the second attempt."
    )
    @OptionGroup var io: ProblemOptions
    @OptionGroup var backend: BackendOptions
    @OptionGroup var sampling: SamplingOptions
    @Option(help: "Comma-separated budgets (max output tokens) for the second attempt.") var budgets = "2048,4096,8192,16384"
    @Option(help: "Folder of prompt templates overriding data/prompts.") var prompts: String?

    func run() async throws {
        let list = try parseBudgets(budgets)
        let problems = try io.load()
        let model = try backend.make(output: io.outURL)
        let progress = ProgressSink("improve", total: problems.count)
        let (records, points, failure) = await ImprovePipeline.run(
            problems: problems, model: model, sampling: sampling.sampling, budgets: list,
            prompts: try PromptSet(overrides: prompts.map { URL(fileURLWithPath: $0) }), verify: Grading.verify,
            maxInFlight: backend.concurrency, progress: progress.callback)
        progress.finish()
        try JSONLines.write(records, to: io.outURL)
        print("method            budget  accuracy  mean tokens")
        for p in points {
            print(String(format: "%-17@ %6d  %8@  %11.1f", p.method as NSString, p.budget,
                         (p.accuracy.map { String(format: "%.1f%%", $0 * 100) } ?? "n/a") as NSString, p.meanTokens))
        }
        if let failure { throw failure }
    }
}
