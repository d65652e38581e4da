import Behaviors
import Evaluation
import Foundation
import Pipelines
import Recipes

/// `kind: generate`: an SFT set of teacher responses (`sft.jsonl`, `summary.json`), vanilla,
/// or behavior-conditioned when the stage has a `handbook` input.
struct GenerateStage: StageKind {
    let name = "generate"
    let version = "1"
    let settingKeys: Set<String> = SamplingSetting.keys.union(["backend", "limit", "samples", "retrieval", "k", "filter_correct", "keep_truncated", "prompts"])
    let inputNames: Set<String>? = ["problems", "handbook"]

    func validate(_ s: StageSettings, inputs: StageInputs) throws {
        _ = try inputs.url("problems")
        _ = try BackendSetting.read(s)
        _ = try SamplingSetting.read(s)
        _ = try RetrievalSetting.method(s)
        guard try s.value("samples", default: 1) >= 1 else { throw s.error("samples", "must be at least 1") }
    }

    func run(_ context: StageContext) async throws {
        let s = context.settings
        let problems = try Problem.load(try context.inputs.url("problems"), limit: try s.optional("limit"))
        let backend = try BackendSetting.read(s)
        let teacher = try backend.make(cache: BackendSetting.cache(context))
        let selector = try await RetrievalSetting.selector(s, inputs: context.inputs, backend: backend)
        var options = GeneratePipeline.Options()
        options.samples = try s.value("samples", default: 1)
        options.filterCorrect = try s.value("filter_correct", default: false)
        options.keepTruncated = try s.value("keep_truncated", default: false)
        let (records, summary, failure) = try await GeneratePipeline.run(
            problems: problems, teacher: teacher, sampling: try SamplingSetting.read(s), options: options,
            prompts: try PromptSet(overrides: try s.optional("prompts", as: String.self).map { URL(fileURLWithPath: $0) }),
            selector: selector, verify: Grading.verify, maxInFlight: backend.concurrency,
            progress: { done, total in context.progress(Double(done) / Double(total), "\(done)/\(total) responses") })
        if let failure { throw failure }
        try JSONLines.write(records, to: context.output.appendingPathComponent("sft.jsonl"))
        try StageFiles.writeJSON(summary, to: context.output.appendingPathComponent("summary.json"))
        context.log(String(format: "%@: kept %d of %d responses, mean %.1f output tokens, %d behavior citations",
                           selector == nil ? "vanilla" : "behavior-conditioned", summary.kept, summary.requested, summary.meanOutputTokens, summary.citedBehaviors))
    }
}

/// The `retrieval` and `k` settings with a `handbook` input: behavior-conditioned or not.
enum RetrievalSetting {
    static func method(_ s: StageSettings) throws -> RetrievalMethod {
        let name: String = try s.value("retrieval", default: "bm25")
        guard let m = RetrievalMethod(rawValue: name) else { throw s.error("retrieval", "'\(name)' is not one of topic, bm25, embedding") }
        return m
    }

    static func selector(_ s: StageSettings, inputs: StageInputs, backend: Backend) async throws -> BehaviorSelector? {
        guard let url = try inputs.optionalURL("handbook") else { return nil }
        let path = url.pathExtension == "jsonl" ? url : url.appendingPathComponent("handbook.jsonl")
        return try await BehaviorSelector(handbook: try Handbook.load(path), method: try method(s), k: try s.value("k", default: 5),
                                          embed: try backend.embedder())
    }
}
