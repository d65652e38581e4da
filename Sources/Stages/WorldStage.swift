import Evaluation
import Foundation
import Pipelines
import Recipes
import World

/// `kind: world`: the SCRIPTED offline world's problems, `train.jsonl` and `test.jsonl`.
struct WorldStage: StageKind {
    let name = "world"
    let version = "1"
    let settingKeys: Set<String> = ["train", "test", "seed"]
    let inputNames: Set<String>? = []

    func validate(_ s: StageSettings, inputs: StageInputs) throws {
        guard try s.value("train", default: 1000) >= 0 else { throw s.error("train", "must be >= 0") }
        guard try s.value("test", default: 200) >= 1 else { throw s.error("test", "must be at least 1") }
    }

    func run(_ context: StageContext) async throws {
        let s = context.settings
        let train: Int = try s.value("train", default: 1000), test: Int = try s.value("test", default: 200)
        let seed: Int = try s.value("seed", default: 0)
        let (tr, te) = World(seed: UInt64(seed)).splits(train: train, test: test)
        guard tr.count == train, te.count == test else {
            throw s.error("train", "the world has only \(tr.count + te.count) distinct problems for seed \(seed); ask for fewer")
        }
        try JSONLines.write(tr, to: context.output.appendingPathComponent("train.jsonl"))
        try JSONLines.write(te, to: context.output.appendingPathComponent("test.jsonl"))
        context.log("\(train) train and \(test) test problems")
    }
}
