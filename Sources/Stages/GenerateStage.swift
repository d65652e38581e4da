import Backends
import Common
import Foundation
import Pipelines
import Recipes

/// `kind: generate`: an SFT set of teacher responses (`sft.jsonl`, `summary.json`), vanilla,
/// or behavior-conditioned when the stage has a `handbook` input.
struct GenerateStage: ModelStepStage {
    typealias Step = GenerateSettings
    let name = "generate"
    let version = "2"
    let inputNames: Set<String>? = ["problems", "handbook", "checkpoint"]

    func run(_ context: StageContext) async throws {
        let (step, problems) = try prepare(context)
        let selector = try await StageFiles.selector(context.inputs, retrieval: step.retrieval, backend: step.backend)
        let (records, summary, failure) = try await GeneratePipeline.run(
            problems: problems, teacher: try model(step, context), settings: step, prompts: try step.promptSet(),
            selector: selector, verify: Grading.verify, progress: progress(context, "responses"))
        if let failure { throw failure }
        try JSONLines.write(records, to: context.output.appendingPathComponent("sft.jsonl"))
        try StageFiles.writeJSON(summary, to: context.output.appendingPathComponent("summary.json"))
        context.log(String(format: "%@: kept %d of %d responses, mean %.1f output tokens, %d behavior citations",
                           selector == nil ? "vanilla" : "behavior-conditioned", summary.kept, summary.requested, summary.meanOutputTokens, summary.citedBehaviors))
    }
}
