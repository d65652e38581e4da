import Backends
import Common
import Evaluation
import Foundation
import Pipelines
import Recipes
import Training

/// `kind: eval`: a model on a problems file, every response graded (`samples.jsonl`,
/// `summary.json`). The model is the `backend` setting, or a `checkpoint` input run in process
/// (a checkpoint folder, or a train stage's folder: its newest checkpoint, and its
/// metrics.jsonl copied beside the samples for the report). A `handbook` input makes it BCI.
struct EvalStage: ModelStepStage {
    typealias Step = EvalSettings
    let name = "eval"
    let version = "2"
    let inputNames: Set<String>? = ["problems", "checkpoint", "handbook"]

    func cacheVersion(_ settings: StageSettings, inputs: StageInputs) throws -> String {
        // The student's numerics decide its answers where it runs in process.
        try inputs.optionalURL("checkpoint") != nil ? StudentNumerics.version(version) : version
    }

    func run(_ context: StageContext) async throws {
        let (step, problems) = try prepare(context)
        if let checkpoint = try context.inputs.optionalURL("checkpoint") {
            let metrics = RunDirectory(checkpoint).metricsURL
            if FileManager.default.fileExists(atPath: metrics.path) {
                try FileManager.default.copyItem(at: metrics, to: context.output.appendingPathComponent("metrics.jsonl"))
            }
        }
        let selector = try await StageFiles.selector(context.inputs, retrieval: step.retrieval, backend: step.backend)
        let (samples, failure) = try await EvalPipeline.run(
            problems: problems, model: try model(step, context), settings: step, prompts: try step.promptSet(), selector: selector,
            progress: progress(context, "responses"))
        if let failure { throw failure }
        try JSONLines.write(samples, to: context.output.appendingPathComponent("samples.jsonl"))
        let summary = try Summary(samples: samples)
        try summary.write(to: context.output.appendingPathComponent("summary.json"))
        context.log(summary.headline)
    }
}
