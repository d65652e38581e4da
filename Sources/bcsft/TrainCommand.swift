import ArgumentParser
import Datasets
import Foundation
import Models
import Settings
import Torch
import Training

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune (or train from scratch) a Llama-family student on a packed dataset.",
        discussion: """
        The configuration's keys are a recipe's train stage settings plus data and output (see
        README, Training). Kill it at any point; `--resume` continues from the last checkpoint
        with the same losses. Data parallel: `--nproc N` (the key nproc) runs N processes on this
        machine; on a cluster, start one process per rank with torchrun's RANK, WORLD_SIZE,
        MASTER_ADDR, MASTER_PORT (and LOCAL_RANK) set. Ranks talk over Gloo with `device: cpu`
        and NCCL with `device: cuda` (one GPU per rank, by local rank). Each rank takes
        batch_size rows per micro-batch; only rank 0 writes.
        """
    )

    @Option(help: "Run configuration (YAML).") var config: String
    @Option(name: .customLong("set"), help: "Override a key, e.g. --set lr=1e-4 --set model.config.hidden_size=128 (repeatable).")
    var overrides: [String] = []
    @Flag(help: "Continue from the latest checkpoint in the output folder.") var resume = false
    @Option(help: ArgumentHelp("Continue from this checkpoint (e.g. an earlier one after a non-finite loss); the output's checkpoints from its step on move to OUTPUT/superseded/from-step-N.",
                               valueName: "checkpoint-dir"))
    var resumeFrom: String?
    @Option(help: help("Data-parallel processes to start on this machine (the key nproc).", default: TrainConfig().nproc)) var nproc: Int?
    @Flag(name: .customLong("dry-run"), help: "Print the memory plan (parameters, bytes per parameter, peak per device) and whether it fits; train nothing.")
    var dryRun = false
    @Option(name: .customLong("device-memory"), help: ArgumentHelp("With --dry-run: each device's memory (\"80GB\", \"141GB\", bytes), to plan a GPU run on any machine; default: this machine's for the CPU.", valueName: "size"))
    var deviceMemory: String?

    func validate() throws {
        guard !(resume && resumeFrom != nil) else { throw ValidationError("give --resume or --resume-from, not both") }
        if let m = deviceMemory {
            guard dryRun else { throw ValidationError("--device-memory plans a run: give it with --dry-run") }
            guard ShardPlan.bytes(parsing: m) != nil else { throw ValidationError("--device-memory '\(m)' is not a size: give bytes or a number with KB, MB, GB, KiB, MiB or GiB (\"80GB\")") }
        }
    }

    func run() throws {
        let cfg = try TrainConfig.load(file: config, overrides: overrides + (nproc.map { ["nproc=\($0)"] } ?? []))
        if dryRun {
            let manifest = try Manifest.load(from: URL(fileURLWithPath: cfg.data))
            // The device is only parsed, not opened: a GPU run can be planned where there is none.
            let device = try Trainer.parsedDevice(cfg)
            let world = ProcessInfo.processInfo.environment["WORLD_SIZE"].flatMap(Int.init) ?? cfg.nproc
            let plan = MemoryPlan(cfg, model: try MemoryPlan.modelConfig(cfg, manifest: manifest), seqLen: manifest.seqLen,
                                  isCUDA: device.isCUDA, worldSize: world, deviceMemory: deviceMemory.flatMap(ShardPlan.bytes(parsing:)).map(Double.init))
            print(plan.text)
            try plan.check()
            return
        }
        let from = resumeFrom.map { URL(fileURLWithPath: $0) }
        if resume, RunDirectory(URL(fileURLWithPath: cfg.output)).latest == nil {
            throw ValidationError("--resume: \(cfg.output) holds no checkpoint to continue; drop --resume to start a new run there")
        }
        do {
            let launcher = try Launcher(cfg, resume: resume, resumeFrom: from, source: config)
            defer { launcher.stop() }
            let trainer = try Trainer(cfg, resume: resume, resumeFrom: from, group: launcher.group, device: launcher.device)
            let lead = launcher.rank == 0
            if lead {
                print("model: \(trainer.model.parameterCount) parameters on \(trainer.device); \(cfg.steps) steps of \(cfg.gradAccum) x \(cfg.batchSize) rows x \(launcher.worldSize) process(es)")
                for line in trainer.memoryPlan.text.split(separator: "\n") { print("plan: \(line)") }
            }
            let bar = ProgressBar(label: "train", total: cfg.steps, startingAt: trainer.step)
            try trainer.run { event in
                guard lead else { return }
                switch event {
                case let .resumed(step, from, changed):
                    print("resumed at step \(step) from \(from)")
                    if !changed.isEmpty { print("changed since that checkpoint: \(changed.joined(separator: "; "))") }
                case let .step(m, _):
                    var note = String(format: "loss %.4f  lr %.2e  %.0f tok/s", m.loss ?? .nan, m.lr ?? 0, m.tokensPerSecond ?? 0)
                    if let v = m.valLoss { note += String(format: "  val %.4f", v) }
                    bar.update(m.step, note: note)
                case .checkpoint: break
                }
            }
            if lead { bar.finish() }
            try launcher.wait()
            if lead { print("done: \(trainer.folder.checkpointsURL.path), metrics in \(trainer.folder.metricsURL.path)") }
        } catch let e as TrainingError {
            throw CLIHint(e, hint: hint(e))
        }
    }

    /// How to type the fix on this command line, where the library's message names a setting.
    func hint(_ e: TrainingError) -> String? {
        switch e {
        case let .nonFiniteLoss(_, _, _, _, resumable?):
            "bcsft train --config \(config) --resume-from \(resumable) --set lr=..."
        case .outputHasCheckpoints: "add --resume to continue it"
        case let .badState(_, reason) where reason.contains("resume with nproc"): "pass --nproc to match"
        default: nil
        }
    }
}

/// A library error with how to act on it from the command line.
struct CLIHint: LocalizedError {
    let error: Error
    let hint: String?
    init(_ error: Error, hint: String?) {
        self.error = error
        self.hint = hint
    }
    var errorDescription: String? { error.localizedDescription + (hint.map { " (\($0))" } ?? "") }
}
