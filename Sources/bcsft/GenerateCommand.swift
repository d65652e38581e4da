import ArgumentParser
import Evaluation
import Foundation
import Pipelines

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Teacher responses for an SFT set (messages records): vanilla, or behavior-conditioned with --handbook (BC-SFT).",
        discussion: "The user turn holds the question only, also for BC data. Feed --out to `bcsft dataset build`."
    )
    @OptionGroup var io: ProblemOptions
    @OptionGroup var retrieval: RetrievalOptions
    @OptionGroup var backend: BackendOptions
    @OptionGroup var sampling: SamplingOptions
    @Option(help: "Responses per question.") var samples = 1
    @Flag(name: .customLong("filter-correct"), help: "Keep only responses whose answer the grader accepts.") var filterCorrect = false
    @Flag(name: .customLong("keep-truncated"), help: "Keep responses that ran out of budget.") var keepTruncated = false
    @Option(help: "Folder of prompt templates overriding data/prompts.") var prompts: String?

    func run() async throws {
        let problems = try io.load()
        let teacher = try backend.make(output: io.outURL)
        let selector = try await retrieval.selector(backend)
        var options = GeneratePipeline.Options()
        options.samples = samples
        options.filterCorrect = filterCorrect
        options.keepTruncated = keepTruncated
        let progress = ProgressSink(selector == nil ? "generate" : "generate (BC)", total: problems.count * samples)
        let (records, summary, failure) = try await GeneratePipeline.run(
            problems: problems, teacher: teacher, sampling: sampling.sampling, options: options,
            prompts: try PromptSet(overrides: prompts.map { URL(fileURLWithPath: $0) }), selector: selector,
            verify: Grading.verify, maxInFlight: backend.concurrency, progress: progress.callback)
        progress.finish()
        try JSONLines.write(records, to: io.outURL)
        try retrieval.record(citations: records.map(\.meta.cited))
        try printJSON(summary)
        if let failure { throw failure }
    }
}
