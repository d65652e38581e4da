import ArgumentParser
import Backends
import Common
import Foundation
import Pipelines

struct SolveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "solve",
        abstract: "Answer a problems file, vanilla or with behaviors in context (behavior-conditioned inference, BCI).",
        discussion: "Without --handbook the solution prompt is used; with it, the BCI prompt with the K retrieved behaviors."
    )
    @OptionGroup var io: ProblemOptions
    @OptionGroup var retrieval: RetrievalOptions
    @OptionGroup var model: ModelOptions
    @Option(help: help("Samples per problem.", default: SolveSettings().samples)) var samples: Int?
    @Option(name: .customLong("prompt-style"), help: help("template (the solution/BCI prompts) or question (the bare question, as SFT students were trained).",
                                                          default: SolveSettings().promptStyle))
    var promptStyle: String?

    func settings() throws -> SolveSettings {
        try model.settings(SolveSettings.self) { g in
            io.fill(&g)
            retrieval.fill(&g)
            g.set("samples", samples)
            g.set("prompt_style", promptStyle)
        }
    }

    func run() async throws {
        let step = try settings()
        let problems = try step.problems.load(io.problemsURL)
        let model = try model.backend.make(step.backend, output: io.outURL)
        let selector = try await retrieval.selector(step.retrieval, backend: step.backend)
        let progress = ProgressSink(selector == nil ? "solve" : "solve (BCI)", total: problems.count * step.samples)
        let (records, failure) = await SolvePipeline.run(
            problems: problems, model: model, sampling: step.sampling, samples: step.samples, prompts: try step.promptSet(), selector: selector,
            style: step.promptStyle, maxInFlight: step.backend.concurrency, progress: progress.callback)
        progress.finish()
        try JSONLines.write(records, to: io.outURL)
        try retrieval.record(citations: records.map(\.cited))
        let tokens = records.map(\.outputTokens)
        print("\(records.count) responses (\(SolvePipeline.modeLine(records))), mean output tokens \(tokens.isEmpty ? 0 : tokens.reduce(0, +) / tokens.count), \(records.filter { !$0.cited.isEmpty }.count) cite a behavior -> \(io.out)")
        if let failure { throw failure }
    }
}
