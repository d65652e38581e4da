import Foundation
import Recipes
import Settings
import Torch
import Training

/// `kind: train`: a student trained on a `data` input (a dataset stage), from scratch or
/// from an HF checkpoint (`from` input). Settings are the keys of a `bcsft train`
/// configuration but `data` and `output`, which the inputs and the stage's folder fill;
/// `nproc: N` trains on N processes of this machine. A killed stage resumes from its last
/// checkpoint with the same losses. Output: the trainer's folder (checkpoints/step-*,
/// metrics.jsonl, config.resolved.json).
struct TrainStage: StepStage {
    typealias Step = TrainConfig
    let name = "train"
    let version = "1"
    let filledKeys: Set<String> = ["data", "output"]
    let inputNames: Set<String>? = ["data", "from"]

    func cacheVersion(_ settings: StageSettings, inputs: StageInputs) throws -> String { StudentNumerics.version(version) }

    func validate(_ s: StageSettings, inputs: StageInputs) throws {
        _ = try inputs.url("data")
        _ = try config(s, inputs: inputs, output: URL(fileURLWithPath: "/out"))
    }

    /// The trainer's configuration: the settings, with the data input, the stage's folder and
    /// the `from` input (model.from) filled in.
    func config(_ s: StageSettings, inputs: StageInputs, output: URL) throws -> TrainConfig {
        let data = StageFiles.dataset(try inputs.url("data"))
        let from = try inputs.optionalURL("from").map { try RunDirectory.modelFolder($0) }
        return try s.decode(TrainConfig.self, adding: ["data": .string(data.path), "output": .string(output.path)]) { c in
            if let from {
                guard c.model.from == nil else { throw s.error("model", "model.from and the `from` input both name a checkpoint; keep one") }
                c.model.from = from.path
            }
        }
    }

    func run(_ context: StageContext) async throws {
        let cfg = try config(context.settings, inputs: context.inputs, output: context.output)
        let launcher = try Launcher(cfg, resume: context.resuming, resumeFrom: nil, source: "stages.\(context.stage).settings")
        defer { launcher.stop() }
        let trainer = try Trainer(cfg, resume: context.resuming, group: launcher.group, device: launcher.device)
        context.log("model: \(trainer.model.parameterCount) parameters, \(cfg.steps) steps on \(launcher.worldSize) process(es)")
        for line in trainer.memoryPlan.text.split(separator: "\n") { context.log("plan: \(line)") }
        // Ctrl-C stops between steps; the next run resumes from the last checkpoint.
        try trainer.run(progress: { event in
            switch event {
            case let .resumed(step, _, _): context.log("resumed at step \(step)")
            case let .step(m, total):
                var note = String(format: "step %d/%d  loss %.4f  %.0f tok/s", m.step, total, m.loss ?? .nan, m.tokensPerSecond ?? 0)
                if let v = m.valLoss { note += String(format: "  val %.4f", v) }
                context.progress(Double(m.step) / Double(total), note)
            case .checkpoint: break
            }
        }, shouldStop: { context.isCancelled })
        if trainer.step < cfg.steps { try context.checkCancellation() }
        try launcher.wait()
        context.log("done: \(cfg.steps) steps")
    }
}
