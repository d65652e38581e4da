import ArgumentParser
import Evaluation
import Foundation
import Pipelines

struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Run a model on a problems file at one or more budgets, grade every response, write samples.jsonl and summary.json.",
        discussion: """
        --backend local --checkpoint DIR evaluates a student in process (prompt: the bare question, as it was trained);
        any other backend gets the solution prompt (or BCI with --handbook). Token usage counts output tokens only
        (thinking plus answer), as the paper does. Rerunning resumes from the response cache (servers).
        """
    )
    @Option(help: "Problems JSONL (id, problem, answer, optional subject and level).") var problems: String
    @Option(help: "Use only the first N problems.") var limit: Int?
    @Option(help: "Output folder: samples.jsonl and summary.json.") var out: String
    @OptionGroup var retrieval: RetrievalOptions
    @OptionGroup var backend: BackendOptions
    @OptionGroup var sampling: SamplingOptions
    @Option(help: "Samples per problem and budget.") var samples = 1
    @Option(help: "Comma-separated budgets (max output tokens); default: --max-tokens.") var budgets: String?
    @Option(help: "Label written into every sample (e.g. bc-sft).") var arm: String?
    @Option(name: .customLong("prompt-style"), help: "question or template (default: question for --backend local, else template).")
    var promptStyle: SolvePipeline.PromptStyle?

    func run() async throws {
        let list = try parseBudgets(budgets ?? String(sampling.maxTokens))
        let problems = try Problem.load(URL(fileURLWithPath: self.problems), limit: limit)
        let dir = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let model = try backend.make(output: dir.appendingPathComponent("responses"))
        var options = EvalPipeline.Options()
        options.samples = samples
        options.budgets = list
        options.arm = arm
        options.style = promptStyle ?? (backend.backend == .local ? .question : .template)
        let progress = ProgressSink("eval", total: problems.count * samples * list.count)
        let (results, failure) = try await EvalPipeline.run(
            problems: problems, model: model, sampling: sampling.sampling, options: options, prompts: try PromptSet(),
            selector: try await retrieval.selector(backend), maxInFlight: backend.concurrency, progress: progress.callback)
        progress.finish()
        try JSONLines.write(results, to: dir.appendingPathComponent("samples.jsonl"))
        if !results.isEmpty {
            let summary = try Summary(samples: results)
            try summary.write(to: dir.appendingPathComponent("summary.json"))
            print(String(format: "accuracy %.1f%% [%.1f, %.1f] over %d problems x %d samples, mean output tokens %.1f, truncated %.1f%% -> %@",
                         100 * summary.accuracy, 100 * summary.accuracyCI.low, 100 * summary.accuracyCI.high, summary.problems,
                         summary.samplesPerProblem, summary.outputTokens.mean, 100 * summary.truncationRate, dir.path))
        }
        if let failure { throw failure }
    }
}
