import ArgumentParser
import Backends
import Common
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
    @OptionGroup var model: ModelOptions
    @Option(help: help("Responses per question.", default: GenerateSettings().samples)) var samples: Int?
    @Flag(inversion: .prefixedNo, help: help("Keep only responses whose answer the grader accepts.", default: GenerateSettings().filterCorrect))
    var filterCorrect: Bool?
    @Flag(inversion: .prefixedNo, help: help("Keep responses that ran out of budget.", default: GenerateSettings().keepTruncated))
    var keepTruncated: Bool?
    @Flag(inversion: .prefixedNo, help: help("Put the teacher's separate reasoning into the answer as a <think> span.", default: GenerateSettings().keepReasoning))
    var keepReasoning: Bool?

    func settings() throws -> GenerateSettings {
        try model.settings(GenerateSettings.self) { g in
            io.fill(&g)
            retrieval.fill(&g)
            g.set("samples", samples)
            g.set("filter_correct", filterCorrect)
            g.set("keep_truncated", keepTruncated)
            g.set("keep_reasoning", keepReasoning)
        }
    }

    func run() async throws {
        let step = try settings()
        let problems = try step.problems.load(io.problemsURL)
        let teacher = try model.backend.make(step.backend, output: io.outURL)
        let selector = try await retrieval.selector(step.retrieval, backend: step.backend)
        let progress = ProgressSink(selector == nil ? "generate" : "generate (BC)", total: problems.count * step.samples)
        let (records, summary, failure) = try await GeneratePipeline.run(
            problems: problems, teacher: teacher, settings: step, prompts: try step.promptSet(), selector: selector,
            verify: Grading.verify, progress: progress.callback)
        progress.finish()
        try JSONLines.write(records, to: io.outURL)
        try retrieval.record(citations: records.map(\.meta.cited))
        try printJSON(summary)
        if let failure { throw failure }
    }
}
