import ArgumentParser
import Foundation
import Recipes
import Torch
import Training

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune (or train from scratch) a Llama-family student on a packed dataset.",
        discussion: """
        Kill it at any point; `--resume` continues from the last checkpoint with the same losses.
        Data parallel: `--nproc N` runs N processes on this machine; on a cluster, start one
        process per rank with torchrun's RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (and
        LOCAL_RANK) set. Ranks talk over Gloo with `device: cpu` and NCCL with `device: cuda`
        (one GPU per rank, by local rank). Each rank takes batch_size rows per micro-batch; only
        rank 0 writes.
        """
    )

    @Option(help: "Run configuration (YAML).") var config: String
    @Option(name: .customLong("set"), help: "Override a key, e.g. --set lr=1e-4 --set model.config.hidden_size=128 (repeatable).")
    var overrides: [String] = []
    @Flag(help: "Continue from the latest checkpoint in the output folder.") var resume = false
    @Option(help: ArgumentHelp("Continue from this checkpoint (e.g. an earlier one after a non-finite loss); the output's checkpoints from its step on move to OUTPUT/superseded/from-step-N.",
                               valueName: "checkpoint-dir"))
    var resumeFrom: String?
    @Option(help: "Data-parallel processes to start on this machine.") var nproc = 1

    func validate() throws {
        guard nproc >= 1 else { throw ValidationError("--nproc must be at least 1") }
        guard !(resume && resumeFrom != nil) else { throw ValidationError("give --resume or --resume-from, not both") }
    }

    func run() throws {
        let env = ProcessInfo.processInfo.environment
        let text: String
        do { text = try String(contentsOfFile: config, encoding: .utf8) } catch {
            throw ValidationError("\(config): cannot read (\(error.localizedDescription))")
        }
        let cfg = try TrainConfig.load(yaml: text, source: config, overrides: overrides)
        // Resolved before any rank starts, so a bad device is one clear error, not one per rank;
        // "cuda" is this rank's GPU (torchrun's LOCAL_RANK; the launcher sets it for its ranks).
        let localRank = (env["LOCAL_RANK"] ?? env["RANK"]).flatMap(Int.init) ?? 0
        let device = try Trainer.device(for: cfg, localRank: localRank, source: config)
        let backend = device.isCUDA ? "nccl" : "gloo"
        var children: [Process] = []
        let stopping = CancellationToken()  // set once rank 0 stops the ranks itself
        var group: ProcessGroup?
        if nproc > 1, env["WORLD_SIZE"] == nil {
            // Every rank's GPU must exist before any starts (rank nproc-1 takes the highest).
            if device.isCUDA { _ = try Trainer.device(for: cfg, localRank: nproc - 1, source: config) }
            _ = try ProcessGroup.timeout()
            // Launcher: this process is rank 0; ranks 1..<nproc are copies of it with torchrun's variables.
            let port = env["MASTER_PORT"].flatMap(Int.init) ?? Int.random(in: 20000..<60000)
            // Each rank gets its share of the cores (unless the user set the threads).
            let share = try Runtime.Settings.fromEnvironment(env, cores: ProcessInfo.processInfo.activeProcessorCount / nproc)
            setenv("BCSFT_BLAS_THREADS", String(share.blasThreads), 1)
            setenv("BCSFT_TORCH_THREADS", String(share.torchThreads), 1)
            var args = Array(CommandLine.arguments.dropFirst())
            if let i = args.firstIndex(of: "--nproc") { args.removeSubrange(i...min(i + 1, args.count - 1)) }
            for rank in 1..<nproc {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
                p.arguments = args
                var childEnv = ProcessInfo.processInfo.environment
                childEnv["RANK"] = String(rank)
                childEnv["LOCAL_RANK"] = String(rank)
                childEnv["WORLD_SIZE"] = String(nproc)
                childEnv["MASTER_ADDR"] = "127.0.0.1"
                childEnv["MASTER_PORT"] = String(port)
                childEnv["BCSFT_LAUNCHER_PID"] = String(getpid())
                p.environment = childEnv
                p.standardOutput = FileHandle.nullDevice
                // A rank that fails (its stderr is ours) ends the run rather than leave rank 0
                // waiting for it until the collective times out.
                p.terminationHandler = { [stopping] child in
                    guard child.terminationStatus != 0 else { return }
                    // A grace period: when every rank fails alike (a non-finite loss), rank 0
                    // reports its own error and stops the others itself.
                    Thread.sleep(forTimeInterval: 3)
                    guard !stopping.isCancelled else { return }
                    FileHandle.standardError.write(Data("\nrank \(rank) exited with status \(child.terminationStatus); stopping the run\n".utf8))
                    _exit(1)  // the other ranks see their launcher gone and exit too
                }
                try p.run()
                children.append(p)
            }
            try configureRuntime()
            group = try ProcessGroup(backend: backend, masterAddress: "127.0.0.1", masterPort: port, rank: 0, worldSize: nproc)
        } else {
            if env["WORLD_SIZE"] != nil, let launcher = env["BCSFT_LAUNCHER_PID"].flatMap(Int32.init) { exitWhenOrphaned(launcher: launcher, rank: env["RANK"] ?? "?") }
            try configureRuntime()
            group = try ProcessGroup.fromEnvironment(backend: backend)
        }
        defer {
            stopping.cancel()
            for c in children where c.isRunning { c.terminate() }
        }

        let trainer = try Trainer(cfg, resume: resume, resumeFrom: resumeFrom.map { URL(fileURLWithPath: $0) }, group: group, device: device)
        let lead = (group?.rank ?? 0) == 0
        let world = group?.worldSize ?? 1
        if lead {
            print("model: \(trainer.model.parameterCount) parameters on \(trainer.device); \(cfg.steps) steps of \(cfg.gradAccum) x \(cfg.batchSize) rows x \(world) process(es)")
        }
        let bar = ProgressBar(label: "train", total: cfg.steps, startingAt: trainer.step)
        try trainer.run { event in
            guard lead else { return }
            switch event {
            case let .resumed(step, from, changed):
                print("resumed at step \(step) from \(from)")
                if !changed.isEmpty { print("changed since that checkpoint: \(changed.joined(separator: "; "))") }
            case let .step(m, _):
                var note = String(format: "loss %.4f  lr %.2e  %.0f tok/s", m.loss, m.lr, m.tokensPerSecond)
                if let v = m.valLoss { note += String(format: "  val %.4f", v) }
                bar.update(m.step, note: note)
            case .checkpoint: break
            }
        }
        if lead { bar.finish() }
        for c in children {
            c.waitUntilExit()
            guard c.terminationStatus == 0 else { throw ValidationError("a data-parallel rank exited with status \(c.terminationStatus)") }
        }
        if lead { print("done: \(cfg.output)/checkpoints, metrics in \(cfg.output)/metrics.jsonl") }
    }

    /// A rank started by `--nproc` ends when its launcher is gone (a SIGKILLed launcher cannot
    /// stop it), instead of holding its port, memory and GPU until a collective or the
    /// rendezvous times out (NCCL does not notice a dead peer by itself).
    func exitWhenOrphaned(launcher: pid_t, rank: String) {
        Thread {
            while getppid() == launcher { Thread.sleep(forTimeInterval: 0.5) }
            FileHandle.standardError.write(Data("rank \(rank): its launcher (pid \(launcher)) is gone; exiting\n".utf8))
            _exit(3)
        }.start()
    }
}
