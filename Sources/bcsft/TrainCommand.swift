import ArgumentParser
import Foundation
import Training

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune (or train from scratch) a Llama-family student on a packed dataset.",
        discussion: "Kill it at any point; `--resume` continues from the last checkpoint with the same losses."
    )

    @Option(help: "Run configuration (YAML).") var config: String
    @Option(name: .customLong("set"), help: "Override a key, e.g. --set lr=1e-4 --set model.config.hidden_size=128 (repeatable).")
    var overrides: [String] = []
    @Flag(help: "Continue from the latest checkpoint in the output folder.") var resume = false

    func run() throws {
        try configureRuntime()
        let text: String
        do { text = try String(contentsOfFile: config, encoding: .utf8) } catch {
            throw ValidationError("\(config): cannot read (\(error.localizedDescription))")
        }
        let cfg = try TrainConfig.load(yaml: text, source: config, overrides: overrides)
        let trainer = try Trainer(cfg, resume: resume)
        print("model: \(trainer.model.parameterCount) parameters; \(cfg.steps) steps of \(cfg.gradAccum) x \(cfg.batchSize) rows")
        let bar = ProgressBar(label: "train", total: cfg.steps)
        try trainer.run { event in
            switch event {
            case let .resumed(step, from): print("resumed at step \(step) from \(from)")
            case let .step(m, _):
                var note = String(format: "loss %.4f  lr %.2e  %.0f tok/s", m.loss, m.lr, m.tokensPerSecond)
                if let v = m.valLoss { note += String(format: "  val %.4f", v) }
                bar.update(m.step, note: note)
            case .checkpoint: break
            }
        }
        bar.finish()
        print("done: \(cfg.output)/checkpoints, metrics in \(cfg.output)/metrics.jsonl")
    }
}
