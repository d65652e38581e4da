import ArgumentParser
import Backends
import Behaviors
import Common
import Foundation
import Pipelines

struct ExtractCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Build a behavior handbook: for each problem a solution, a reflection and the behaviors in it (the strategist).",
        discussion: "Records (solution, reflection, parsed behaviors, provenance) go to --out; behaviors merge into --handbook, deduplicated, with their source problems."
    )
    @OptionGroup var io: ProblemOptions
    @Option(help: "Handbook JSONL to create or merge into.") var handbook: String
    @OptionGroup var model: ModelOptions
    @Option(help: help("Solutions (traces) per problem, each reflected on.", default: ExtractSettings().samples)) var samples: Int?
    @Flag(name: .customLong("include-unfinished"), inversion: .prefixedNo,
          help: help("Also reflect on solutions cut off while thinking (no answer).", default: ExtractSettings().includeUnfinished))
    var includeUnfinished: Bool?
    @Option(name: .customLong("merge-similar"), help: "Also merge behaviors whose embeddings have cosine similarity at least this (e.g. 0.92); needs an embedding server (--embed-base-url) or the scripted backend.")
    var mergeSimilar: Double?
    @OptionGroup var embedding: EmbeddingOptions

    func settings() throws -> ExtractSettings {
        try model.settings(ExtractSettings.self) { g in
            io.fill(&g)
            g.set("samples", samples)
            g.set("include_unfinished", includeUnfinished)
            g.set("merge_similar", mergeSimilar)
            embedding.fill(&g)
        }
    }

    func run() async throws {
        let step = try settings()
        let problems = try step.problems.load(io.problemsURL)
        let model = try model.backend.make(step.backend, output: io.outURL)
        let url = URL(fileURLWithPath: handbook)
        var book = FileManager.default.fileExists(atPath: url.path) ? try Handbook.load(url) : Handbook()
        let progress = ProgressSink("extract", total: problems.count * step.samples)
        let (records, summary, failure) = try await ExtractPipeline.run(
            problems: problems, strategist: model, sampling: step.sampling, samples: step.samples, includeUnfinished: step.includeUnfinished,
            prompts: try step.promptSet(),
            handbook: &book, maxInFlight: step.backend.concurrency, progress: progress.callback)
        progress.finish()
        if let threshold = step.mergeSimilar {
            let merged = try await ExtractPipeline.mergeSimilar(&book, threshold: threshold, embed: try step.embedding.embedder(for: step.backend))
            print("merged \(merged) near-duplicate behaviors (cosine >= \(threshold)); handbook of \(book.count)")
        }
        try JSONLines.write(records, to: io.outURL)
        try book.save(url)
        try printJSON(summary)
        if let failure { throw failure }
    }
}
