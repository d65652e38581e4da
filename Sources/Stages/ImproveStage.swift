import Backends
import Common
import Foundation
import Pipelines
import Recipes

/// `kind: improve`: critique-and-revise vs behavior-guided self-improvement over budgets
/// (`records.jsonl`, `points.json`: accuracy and mean tokens per method and budget).
struct ImproveStage: ModelStepStage {
    typealias Step = ImproveSettings
    let name = "improve"
    let version = "2"
    let inputNames: Set<String>? = ["problems", "checkpoint"]

    func run(_ context: StageContext) async throws {
        let (step, problems) = try prepare(context)
        let (records, points, failure) = await ImprovePipeline.run(
            problems: problems, model: try model(step, context), settings: step, prompts: try step.promptSet(),
            verify: Grading.verify, progress: progress(context, "attempts"))
        if let failure { throw failure }
        try JSONLines.write(records, to: context.output.appendingPathComponent("records.jsonl"))
        try StageFiles.writeJSON(points, to: context.output.appendingPathComponent("points.json"))
        for line in ImprovePipeline.table(points) { context.log(line) }
    }
}
