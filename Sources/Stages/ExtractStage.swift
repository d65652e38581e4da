import Behaviors
import Evaluation
import Foundation
import Pipelines
import Recipes

/// `kind: extract`: a behavior handbook from a problems file (`handbook.jsonl`,
/// `records.jsonl`, `summary.json`).
struct ExtractStage: StageKind {
    let name = "extract"
    let version = "1"
    let settingKeys: Set<String> = SamplingSetting.keys.union(["backend", "limit", "prompts"])
    let inputNames: Set<String>? = ["problems"]

    func validate(_ s: StageSettings, inputs: StageInputs) throws {
        _ = try inputs.url("problems")
        _ = try BackendSetting.read(s)
        _ = try SamplingSetting.read(s)
    }

    func run(_ context: StageContext) async throws {
        let s = context.settings
        let problems = try Problem.load(try context.inputs.url("problems"), limit: try s.optional("limit"))
        let backend = try BackendSetting.read(s)
        let model = try backend.make(cache: BackendSetting.cache(context))
        var book = Handbook()
        let (records, summary, failure) = try await ExtractPipeline.run(
            problems: problems, strategist: model, sampling: try SamplingSetting.read(s),
            prompts: try PromptSet(overrides: try s.optional("prompts", as: String.self).map { URL(fileURLWithPath: $0) }),
            handbook: &book, maxInFlight: backend.concurrency,
            progress: { done, total in context.progress(Double(done) / Double(total), "\(done)/\(total) problems") })
        if let failure { throw failure }
        try JSONLines.write(records, to: context.output.appendingPathComponent("records.jsonl"))
        try book.save(context.output.appendingPathComponent("handbook.jsonl"))
        try StageFiles.writeJSON(summary, to: context.output.appendingPathComponent("summary.json"))
        context.log("\(summary.problems) problems, \(summary.behaviorsFound) behaviors found, handbook of \(summary.handbookSize) (formats: \(summary.formats))")
    }
}
