import ArgumentParser
import Backends
import Common
import Evaluation
import Foundation
import Pipelines

struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Run a model on a problems file at one or more budgets, grade every response, write samples.jsonl and summary.json.",
        discussion: """
        --checkpoint DIR evaluates a student in process (prompt: the bare question, as it was trained);
        any other backend gets the solution prompt (or BCI with --handbook). Token usage counts output tokens only
        (thinking plus answer), as the paper does. Rerunning resumes from the response cache.
        """
    )
    @Option(help: "Problems JSONL (id, problem, answer, optional subject and level).") var problems: String
    @OptionGroup var selection: SelectionOptions
    @Option(help: "Output folder: samples.jsonl and summary.json.") var out: String
    @OptionGroup var retrieval: RetrievalOptions
    @OptionGroup var model: ModelOptions
    @Option(help: help("Samples per problem and budget.", default: EvalSettings().samples)) var samples: Int?
    @Option(help: "Comma-separated budgets (max output tokens) (default: --max-tokens).") var budgets: String?
    @Option(help: "Label written into every sample (e.g. bc-sft).") var arm: String?
    @Option(name: .customLong("prompt-style"), help: "question or template (default: question for a local student, else template).")
    var promptStyle: String?

    func settings() throws -> EvalSettings {
        try model.settings(EvalSettings.self) { g in
            selection.fill(&g)
            retrieval.fill(&g)
            g.set("samples", samples)
            g.set("budgets", try parseBudgets(budgets))
            g.set("arm", arm)
            g.set("prompt_style", promptStyle)
        }
    }

    func run() async throws {
        let step = try settings()
        let problems = try step.problems.load(URL(fileURLWithPath: self.problems))
        let dir = URL(fileURLWithPath: out)
        try OutputFolder.check(dir, markers: ["samples.jsonl", "summary.json", "responses.cache.sqlite"], what: "an evaluation")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let model = try model.backend.make(step.backend, output: dir.appendingPathComponent("responses"))
        let progress = ProgressSink("eval", total: problems.count * step.samples * step.resolvedBudgets.count)
        let (results, failure) = try await EvalPipeline.run(
            problems: problems, model: model, settings: step, prompts: try step.promptSet(),
            selector: try await retrieval.selector(step.retrieval, backend: step.backend), progress: progress.callback)
        progress.finish()
        try JSONLines.write(results, to: dir.appendingPathComponent("samples.jsonl"))
        if !results.isEmpty {
            let summary = try Summary(samples: results)
            try summary.write(to: dir.appendingPathComponent("summary.json"))
            print(summary.headline + " -> " + dir.path)
        }
        if let failure { throw failure }
    }
}
