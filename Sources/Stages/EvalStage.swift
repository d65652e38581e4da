import Evaluation
import Foundation
import Pipelines
import Recipes
import Torch

/// `kind: eval`: a model on a problems file, every response graded (`samples.jsonl`,
/// `summary.json`). The model is a `model` input (a checkpoint, or a train stage's folder:
/// its newest checkpoint, run in process, and its metrics.jsonl copied beside the samples for
/// the report) or else the `backend` setting. A `handbook` input makes it BCI.
struct EvalStage: StageKind {
    let name = "eval"
    let version = "1"
    let settingKeys: Set<String> = SamplingSetting.keys.union(["backend", "limit", "samples", "budgets", "arm", "prompt", "retrieval", "k", "batch"])
    let inputNames: Set<String>? = ["problems", "model", "handbook"]

    func cacheVersion(_ settings: StageSettings, inputs: StageInputs) throws -> String {
        // In process only with a `model` input (a local backend takes its checkpoint from it).
        try inputs.optionalURL("model") != nil ? StudentNumerics.version(version) : version
    }

    func validate(_ s: StageSettings, inputs: StageInputs) throws {
        _ = try inputs.url("problems")
        if try inputs.optionalURL("model") == nil { _ = try BackendSetting.read(s) }
        _ = try SamplingSetting.read(s)
        _ = try SamplingSetting.budgets(s)
        _ = try style(s, local: false)
        _ = try RetrievalSetting.method(s)
    }

    func style(_ s: StageSettings, local: Bool) throws -> SolvePipeline.PromptStyle {
        guard let name = try s.optional("prompt", as: String.self) else { return local ? .question : .template }
        guard let st = SolvePipeline.PromptStyle(rawValue: name) else { throw s.error("prompt", "'\(name)' is not question or template") }
        return st
    }

    func run(_ context: StageContext) async throws {
        let s = context.settings
        let problems = try Problem.load(try context.inputs.url("problems"), limit: try s.optional("limit"))
        let modelInput = try context.inputs.optionalURL("model")
        var backend: Backend
        if let modelInput {
            try Runtime.apply(Runtime.Settings.fromEnvironment())
            backend = Backend(kind: .local)
            backend.checkpoint = try StageFiles.checkpoint(in: modelInput)
            backend.maxInFlight = try s.value("batch", default: 32)
            let metrics = modelInput.appendingPathComponent("metrics.jsonl")
            if FileManager.default.fileExists(atPath: metrics.path) {
                try FileManager.default.copyItem(at: metrics, to: context.output.appendingPathComponent("metrics.jsonl"))
            }
        } else {
            backend = try BackendSetting.read(s)
        }
        // A student's answers are cheap to recompute and depend on its weights: no cache.
        let model = try backend.make(cache: modelInput == nil ? BackendSetting.cache(context) : nil)
        var options = EvalPipeline.Options()
        options.samples = try s.value("samples", default: 1)
        options.budgets = try SamplingSetting.budgets(s)
        options.arm = try s.optional("arm")
        options.style = try style(s, local: modelInput != nil)
        let (samples, failure) = try await EvalPipeline.run(
            problems: problems, model: model, sampling: try SamplingSetting.read(s), options: options, prompts: try PromptSet(),
            selector: try await RetrievalSetting.selector(s, inputs: context.inputs, backend: backend), maxInFlight: backend.concurrency,
            progress: { done, total in context.progress(Double(done) / Double(total), "\(done)/\(total) responses") })
        if let failure { throw failure }
        try JSONLines.write(samples, to: context.output.appendingPathComponent("samples.jsonl"))
        let summary = try Summary(samples: samples)
        try summary.write(to: context.output.appendingPathComponent("summary.json"))
        context.log(String(format: "accuracy %.1f%% [%.1f, %.1f], mean output tokens %.1f, truncated %.1f%%", 100 * summary.accuracy,
                           100 * summary.accuracyCI.low, 100 * summary.accuracyCI.high, summary.outputTokens.mean, 100 * summary.truncationRate))
    }
}
