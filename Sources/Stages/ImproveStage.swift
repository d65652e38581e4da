import Evaluation
import Foundation
import Pipelines
import Recipes

/// `kind: improve`: critique-and-revise vs behavior-guided self-improvement over budgets
/// (`records.jsonl`, `points.json`: accuracy and mean tokens per method and budget).
struct ImproveStage: StageKind {
    let name = "improve"
    let version = "1"
    let settingKeys: Set<String> = SamplingSetting.keys.union(["backend", "limit", "budgets", "prompts"])
    let inputNames: Set<String>? = ["problems"]

    func validate(_ s: StageSettings, inputs: StageInputs) throws {
        _ = try inputs.url("problems")
        _ = try BackendSetting.read(s)
        _ = try SamplingSetting.read(s)
        guard s.contains("budgets") else { throw s.error("budgets", "is required: the second attempt's budgets") }
        _ = try SamplingSetting.budgets(s)
    }

    func run(_ context: StageContext) async throws {
        let s = context.settings
        let problems = try Problem.load(try context.inputs.url("problems"), limit: try s.optional("limit"))
        let backend = try BackendSetting.read(s)
        let (records, points, failure) = await ImprovePipeline.run(
            problems: problems, model: try backend.make(cache: BackendSetting.cache(context)), sampling: try SamplingSetting.read(s),
            budgets: try SamplingSetting.budgets(s),
            prompts: try PromptSet(overrides: try s.optional("prompts", as: String.self).map { URL(fileURLWithPath: $0) }),
            verify: Grading.verify, maxInFlight: backend.concurrency,
            progress: { done, total in context.progress(Double(done) / Double(total), "\(done)/\(total) problems") })
        if let failure { throw failure }
        try JSONLines.write(records, to: context.output.appendingPathComponent("records.jsonl"))
        try StageFiles.writeJSON(points, to: context.output.appendingPathComponent("points.json"))
        for p in points {
            context.log(String(format: "%-16@ budget %6d  accuracy %@  mean tokens %.1f", p.method as NSString, p.budget,
                               (p.accuracy.map { String(format: "%.1f%%", 100 * $0) } ?? "n/a") as NSString, p.meanTokens))
        }
    }
}
