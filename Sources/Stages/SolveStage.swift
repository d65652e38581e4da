import Backends
import Common
import Foundation
import Pipelines
import Recipes

/// `kind: solve`: vanilla or behavior-conditioned inference (a `handbook` input) on a problems
/// file, n samples each (`records.jsonl`).
struct SolveStage: ModelStepStage {
    typealias Step = SolveSettings
    let name = "solve"
    let version = "2"
    let inputNames: Set<String>? = ["problems", "handbook", "checkpoint"]

    func run(_ context: StageContext) async throws {
        let (step, problems) = try prepare(context)
        let selector = try await StageFiles.selector(context.inputs, retrieval: step.retrieval, backend: step.backend)
        let (records, failure) = await SolvePipeline.run(
            problems: problems, model: try model(step, context), sampling: step.sampling, samples: step.samples, prompts: try step.promptSet(),
            selector: selector, style: step.promptStyle, maxInFlight: step.backend.concurrency, progress: progress(context, "responses"))
        if let failure { throw failure }
        try JSONLines.write(records, to: context.output.appendingPathComponent("records.jsonl"))
        context.log("\(records.count) responses (\(SolvePipeline.modeLine(records))), \(records.filter { !$0.cited.isEmpty }.count) cite a behavior")
    }
}
