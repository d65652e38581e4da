import Foundation
import Recipes
import Torch
import Training

/// `kind: train`: a student trained on a `data` input (a dataset stage), from scratch or
/// from an HF checkpoint (`from` input). Settings are the keys of a `bcsft train` config
/// (steps, batch_size, lr, model: {config: {...}, seed}, ...) except data and output. A killed
/// stage resumes from its last checkpoint with the same losses. Output: the trainer's folder
/// (checkpoints/step-*, metrics.jsonl, config.resolved.json).
struct TrainStage: StageKind {
    let name = "train"
    let version = "1"
    let settingKeys: Set<String> = ["model", "steps", "batch_size", "grad_accum", "lr", "min_lr", "warmup_steps", "schedule", "weight_decay",
                                    "beta1", "beta2", "eps", "grad_clip", "seed", "eval_every", "eval_batches", "save_every", "keep_last", "log_every"]
    let inputNames: Set<String>? = ["data", "from"]

    func cacheVersion(_ settings: StageSettings, inputs: StageInputs) throws -> String { StudentNumerics.version(version) }

    func validate(_ s: StageSettings, inputs: StageInputs) throws {
        _ = try inputs.url("data")
        _ = try config(s, data: URL(fileURLWithPath: "/data"), from: try inputs.optionalURL("from"), output: URL(fileURLWithPath: "/out"))
    }

    /// The trainer's configuration: the settings as `--set` overrides, so a typo is the
    /// trainer's own unknown-key error.
    func config(_ s: StageSettings, data: URL, from: URL?, output: URL) throws -> TrainConfig {
        var overrides: [String] = []
        func flatten(_ prefix: String, _ v: RecipeValue) {
            if case let .map(m) = v {
                for k in m.keys.sorted() { flatten(prefix + "." + k, m[k]!) }
            } else {
                overrides.append("\(prefix)=\(v.description)")
            }
        }
        for k in s.values.keys.sorted() { flatten(k, s.values[k]!) }
        if let from { overrides.append("model.from=\(from.path)") }
        do {
            return try TrainConfig.load(yaml: "data: \(data.path)\noutput: \(output.path)\nsteps: 1\n", source: "stages.\(s.stage).settings", overrides: overrides)
        } catch let TrainingError.invalidConfig(_, key, reason) {
            // Name the setting the trainer complained about (its top-level key).
            let top = String(key.split(separator: ".").first ?? "steps")
            throw s.error(s.values[top] == nil ? "steps" : top, "\(key): \(reason)")
        }
    }

    func run(_ context: StageContext) async throws {
        let cfg = try config(context.settings, data: StageFiles.dataset(try context.inputs.url("data")),
                             from: try context.inputs.optionalURL("from").map { try StageFiles.checkpoint(in: $0) }, output: context.output)
        try Runtime.apply(Runtime.Settings.fromEnvironment())
        let trainer = try Trainer(cfg, resume: context.resuming)
        context.log("model: \(trainer.model.parameterCount) parameters, \(cfg.steps) steps")
        // Ctrl-C stops between steps; the next run resumes from the last checkpoint.
        try trainer.run(progress: { event in
            switch event {
            case let .resumed(step, _, _): context.log("resumed at step \(step)")
            case let .step(m, total):
                var note = String(format: "step %d/%d  loss %.4f  %.0f tok/s", m.step, total, m.loss, m.tokensPerSecond)
                if let v = m.valLoss { note += String(format: "  val %.4f", v) }
                context.progress(Double(m.step) / Double(total), note)
            case .checkpoint: break
            }
        }, shouldStop: { context.isCancelled })
        if trainer.step < cfg.steps { try context.checkCancellation() }
        context.log("done: \(cfg.steps) steps")
    }
}
