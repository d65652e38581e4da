import Common
import Foundation
import Recipes
import World

/// `kind: world`: the SCRIPTED offline world's problems, `train.jsonl` and `test.jsonl`.
struct WorldStage: StepStage {
    typealias Step = WorldSettings
    let name = "world"
    let version = "1"
    let inputNames: Set<String>? = []

    func validate(_ s: StageSettings, inputs: StageInputs) throws { _ = try s.decode(Step.self) }

    func run(_ context: StageContext) async throws {
        let settings = try context.settings.decode(Step.self)
        let (tr, te) = try settings.splits()
        try JSONLines.write(tr, to: context.output.appendingPathComponent("train.jsonl"))
        try JSONLines.write(te, to: context.output.appendingPathComponent("test.jsonl"))
        context.log("\(tr.count) train and \(te.count) test problems")
    }
}
