import ArgumentParser
import Evaluation
import Foundation
import Pipelines

extension SolvePipeline.PromptStyle: ExpressibleByArgument {}

struct SolveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "solve",
        abstract: "Answer a problems file, vanilla or with behaviors in context (behavior-conditioned inference, BCI).",
        discussion: "Without --handbook the solution prompt is used; with it, the BCI prompt with the K retrieved behaviors."
    )
    @OptionGroup var io: ProblemOptions
    @OptionGroup var retrieval: RetrievalOptions
    @OptionGroup var backend: BackendOptions
    @OptionGroup var sampling: SamplingOptions
    @Option(help: "Samples per problem.") var samples = 1
    @Option(help: "Folder of prompt templates overriding data/prompts.") var prompts: String?
    @Option(name: .customLong("prompt-style"), help: "template (the solution/BCI prompts) or question (the bare question, as SFT students were trained).")
    var promptStyle: SolvePipeline.PromptStyle = .template

    func run() async throws {
        let problems = try io.load()
        let model = try backend.make(output: io.outURL)
        let selector = try await retrieval.selector(backend)
        let progress = ProgressSink(selector == nil ? "solve" : "solve (BCI)", total: problems.count * samples)
        let (records, failure) = await SolvePipeline.run(
            problems: problems, model: model, sampling: sampling.sampling, samples: samples,
            prompts: try PromptSet(overrides: prompts.map { URL(fileURLWithPath: $0) }), selector: selector, style: promptStyle,
            maxInFlight: backend.concurrency, progress: progress.callback)
        progress.finish()
        try JSONLines.write(records, to: io.outURL)
        try retrieval.record(citations: records.map(\.cited))
        let tokens = records.map(\.outputTokens)
        print("\(records.count) responses, mean output tokens \(tokens.isEmpty ? 0 : tokens.reduce(0, +) / tokens.count), \(records.filter { !$0.cited.isEmpty }.count) cite a behavior -> \(io.out)")
        if let failure { throw failure }
    }
}
