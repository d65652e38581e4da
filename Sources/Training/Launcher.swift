import Foundation
import Torch

/// The processes of a training run, torchrun-compatible. Three ways to be started:
///
/// - one process (`nproc: 1`, no WORLD_SIZE): no process group;
/// - by torchrun or a cluster's launcher (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT and
///   LOCAL_RANK set): this process is one rank and joins their group;
/// - `nproc: N` without WORLD_SIZE: this process becomes rank 0 and starts ranks 1..<N on
///   this machine (`bcsft train --config RESOLVED --resume...` with torchrun's variables and
///   its share of the cores), each of which exits when this process is gone.
///
/// Ranks talk over Gloo with a CPU device and NCCL with a CUDA one (one GPU per rank, by
/// local rank). `bcsft train` and a recipe's train stage both start their ranks here.
public final class Launcher {
    public let group: ProcessGroup?
    /// This rank's device ("cuda" resolved to the local rank's GPU).
    public let device: Device
    public var rank: Int { group?.rank ?? 0 }
    public var worldSize: Int { group?.worldSize ?? 1 }
    private var children: [Process] = []
    private let stopping: Flag
    private let configFile: URL?

    /// Joins or starts the run's processes for `config`. `source` names the configuration in
    /// errors. Ranks started here run `executable` (the bcsft binary) with the resolved
    /// configuration and the same resume choice.
    public init(_ config: TrainConfig, resume: Bool, resumeFrom: URL?, source: String,
                executable: URL? = nil, environment env: [String: String] = ProcessInfo.processInfo.environment) throws {
        let flag = Flag()
        stopping = flag
        // "cuda" is this rank's GPU (torchrun's LOCAL_RANK; the launcher sets it for its ranks).
        let localRank = (env["LOCAL_RANK"] ?? env["RANK"]).flatMap(Int.init) ?? 0
        device = try Trainer.device(for: config, localRank: localRank, source: source)
        let backend = device.isCUDA ? "nccl" : "gloo"
        guard config.nproc > 1, env["WORLD_SIZE"] == nil else {
            if env["WORLD_SIZE"] != nil, let launcher = env["BCSFT_LAUNCHER_PID"].flatMap(Int32.init) {
                Self.exitWhenOrphaned(launcher: launcher, rank: env["RANK"] ?? "?")
            }
            try Runtime.apply(Runtime.Settings.fromEnvironment(env))
            group = try ProcessGroup.fromEnvironment(env, backend: backend)
            configFile = nil
            return
        }
        let nproc = config.nproc
        // Every rank's GPU must exist before any starts (rank nproc-1 takes the highest).
        if device.isCUDA { _ = try Trainer.device(for: config, localRank: nproc - 1, source: source) }
        _ = try ProcessGroup.timeout(from: env)
        let exe = try executable ?? Self.bcsftExecutable()
        let port = env["MASTER_PORT"].flatMap(Int.init) ?? Int.random(in: 20000..<60000)
        // Each rank gets its share of the cores, unless the user set the threads.
        let share = try Runtime.Settings.fromEnvironment(env, cores: ProcessInfo.processInfo.activeProcessorCount / nproc)
        try Runtime.apply(share)
        // The ranks read the configuration as resolved here (so `--set` and recipe settings
        // reach them), from a file outside the output folder, which may belong to a run that
        // this one is refused to overwrite.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bcsft-launch-\(getpid())-\(UUID().uuidString.prefix(8)).json")
        try JSONEncoder().encode(config).write(to: file)
        configFile = file
        var started: [Process] = []
        func abandon() {
            flag.set()
            for c in started where c.isRunning { c.terminate() }
            try? FileManager.default.removeItem(at: file)
        }
        var arguments = ["train", "--config", file.path]
        if let resumeFrom { arguments += ["--resume-from", resumeFrom.path] } else if resume { arguments.append("--resume") }
        for rank in 1..<nproc {
            let p = Process()
            p.executableURL = exe
            p.arguments = arguments
            var childEnv = env
            childEnv["RANK"] = String(rank)
            childEnv["LOCAL_RANK"] = String(rank)
            childEnv["WORLD_SIZE"] = String(nproc)
            childEnv["MASTER_ADDR"] = "127.0.0.1"
            childEnv["MASTER_PORT"] = String(port)
            childEnv["BCSFT_LAUNCHER_PID"] = String(getpid())
            childEnv["BCSFT_BLAS_THREADS"] = String(share.blasThreads)
            childEnv["BCSFT_TORCH_THREADS"] = String(share.torchThreads)
            p.environment = childEnv
            p.standardOutput = FileHandle.nullDevice
            // A rank that fails (its stderr is ours) ends the run rather than leave rank 0
            // waiting for it until the collective times out (NCCL does not notice a dead peer).
            p.terminationHandler = { child in
                guard child.terminationStatus != 0 else { return }
                // A grace period: when every rank fails alike (a non-finite loss), rank 0
                // reports its own error and stops the others itself.
                Thread.sleep(forTimeInterval: 3)
                guard !flag.isSet else { return }
                FileHandle.standardError.write(Data("\nrank \(rank) exited with status \(child.terminationStatus); stopping the run\n".utf8))
                _exit(1)  // the other ranks see their launcher gone and exit too
            }
            do { try p.run() } catch {
                abandon()
                throw TrainingError.launch("cannot start rank \(rank) (\(exe.path)): \(error.localizedDescription)")
            }
            started.append(p)
        }
        do {
            group = try ProcessGroup(backend: backend, masterAddress: "127.0.0.1", masterPort: port, rank: 0, worldSize: nproc)
        } catch {
            abandon()
            throw error
        }
        children = started
    }

    deinit {
        stop()
        if let configFile { try? FileManager.default.removeItem(at: configFile) }
    }

    /// Waits for the ranks this process started; one that failed is an error.
    public func wait() throws {
        for c in children {
            c.waitUntilExit()
            guard c.terminationStatus == 0 else { throw TrainingError.launch("a data-parallel rank exited with status \(c.terminationStatus)") }
        }
        stopping.set()
    }

    /// Stops the ranks this process started (after an error, or when the user stops the run).
    public func stop() {
        stopping.set()
        for c in children where c.isRunning { c.terminate() }
    }

    /// The bcsft executable that ranks run: this process when it is bcsft, else the bcsft
    /// built beside it (a test bundle's neighbour).
    public static func bcsftExecutable() throws -> URL {
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        if me.lastPathComponent == "bcsft" { return me }
        var dir = me.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("bcsft")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        throw TrainingError.launch("cannot find the bcsft executable to start data-parallel ranks (looked beside \(me.path))")
    }

    /// A rank started by a launcher ends when the launcher is gone (a SIGKILLed launcher cannot
    /// stop it), instead of holding its port, memory and GPU until a collective or the
    /// rendezvous times out (NCCL does not notice a dead peer by itself).
    static func exitWhenOrphaned(launcher: pid_t, rank: String) {
        Thread {
            while getppid() == launcher { Thread.sleep(forTimeInterval: 0.5) }
            FileHandle.standardError.write(Data("rank \(rank): its launcher (pid \(launcher)) is gone; exiting\n".utf8))
            _exit(3)
        }.start()
    }
}

/// Set once, read from any thread.
private final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
