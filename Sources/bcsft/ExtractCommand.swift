import ArgumentParser
import Behaviors
import Evaluation
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
    @OptionGroup var backend: BackendOptions
    @OptionGroup var sampling: SamplingOptions
    @Option(help: "Folder of prompt templates overriding data/prompts.") var prompts: String?
    @Option(name: .customLong("merge-similar"), help: "Also merge behaviors whose embeddings have cosine similarity at least this (e.g. 0.92); needs a backend with embeddings.")
    var mergeSimilar: Float?
    @Option(name: .customLong("embedding-model"), help: "Embedding model for --merge-similar (openai).") var embeddingModel: String?

    func validate() throws {
        if let t = mergeSimilar, !(0...1).contains(t) { throw ValidationError("--merge-similar must be in [0, 1]") }
    }

    func run() async throws {
        let problems = try io.load()
        let model = try backend.make(output: io.outURL)
        let url = URL(fileURLWithPath: handbook)
        var book = FileManager.default.fileExists(atPath: url.path) ? try Handbook.load(url) : Handbook()
        let progress = ProgressSink("extract", total: problems.count)
        let (records, summary, failure) = try await ExtractPipeline.run(
            problems: problems, strategist: model, sampling: sampling.sampling, prompts: try PromptSet(overrides: prompts.map { URL(fileURLWithPath: $0) }),
            handbook: &book, maxInFlight: backend.concurrency, progress: progress.callback)
        progress.finish()
        if let threshold = mergeSimilar {
            guard let embed = try backend.embedder(model: embeddingModel) else {
                throw ValidationError("--merge-similar needs embeddings: use --backend openai (with --embedding-model) or scripted")
            }
            let vectors = try await embed(book.behaviors.map(\.promptLine))
            let merged = book.mergeNearDuplicates(embeddings: Dictionary(uniqueKeysWithValues: zip(book.behaviors.map(\.id), vectors)),
                                                  threshold: threshold)
            print("merged \(merged) near-duplicate behaviors (cosine >= \(threshold)); handbook of \(book.count)")
        }
        try JSONLines.write(records, to: io.outURL)
        try book.save(url)
        try printJSON(summary)
        if let failure { throw failure }
    }
}
