import Backends
import Behaviors
import Common
import Foundation
import Pipelines
import Recipes

/// `kind: extract`: a behavior handbook from a problems file (`handbook.jsonl`,
/// `records.jsonl`, `summary.json`).
struct ExtractStage: ModelStepStage {
    typealias Step = ExtractSettings
    let name = "extract"
    let version = "2"
    let inputNames: Set<String>? = ["problems", "checkpoint"]

    func run(_ context: StageContext) async throws {
        let (step, problems) = try prepare(context)
        var book = Handbook()
        let (records, summary, failure) = try await ExtractPipeline.run(
            problems: problems, strategist: try model(step, context), sampling: step.sampling, samples: step.samples,
            includeUnfinished: step.includeUnfinished, prompts: try step.promptSet(),
            handbook: &book, maxInFlight: step.backend.concurrency, progress: progress(context, "traces"))
        if let failure { throw failure }
        if let threshold = step.mergeSimilar {
            let merged = try await ExtractPipeline.mergeSimilar(&book, threshold: threshold, embed: try step.embedding.embedder(for: step.backend))
            context.log("merged \(merged) near-duplicate behaviors (cosine >= \(threshold))")
        }
        try JSONLines.write(records, to: context.output.appendingPathComponent("records.jsonl"))
        try book.save(context.output.appendingPathComponent("handbook.jsonl"))
        try StageFiles.writeJSON(summary, to: context.output.appendingPathComponent("summary.json"))
        context.log("\(summary.problems) problems, \(summary.traces) traces (\(summary.skippedUnfinished) cut off while thinking, skipped), \(summary.behaviorsFound) behaviors found, handbook of \(book.count) (formats: \(summary.formats))")
    }
}
