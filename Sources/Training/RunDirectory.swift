import Common
import Foundation
import Models

/// A trainer's output folder, and the one place that knows its layout:
///
/// ```
/// OUTPUT/
///   checkpoints/step-NNNNNN/       an HF model folder + optimizer.pt + trainer_state.json
///                                  (with lora: a PEFT adapter folder instead of the HF model)
///     fp32_weights/                with save_dtype bfloat16: the exact weights (or adapters) resume reads
///     optimizer/                   instead of optimizer.pt with dtype bfloat16 or zero 1: float32
///                                  master weights and moments, one file per shard (OptimizerCheckpoint)
///   checkpoints/.step-NNNNNN.shards/  zero 1: where ranks leave their shards for rank 0 to move in
///   metrics.jsonl                  one MetricsLine per logged step
///   config.resolved.json           the run's settings, every default filled in
///   superseded/from-step-NNNNNN/   what a resume from an earlier checkpoint set aside
/// ```
public struct RunDirectory: Sendable {
    public let url: URL

    public init(_ url: URL) { self.url = url }

    public var checkpointsURL: URL { url.appendingPathComponent("checkpoints") }
    public var metricsURL: URL { url.appendingPathComponent("metrics.jsonl") }
    public var resolvedConfigURL: URL { url.appendingPathComponent("config.resolved.json") }
    static let stateFile = "trainer_state.json"
    static let optimizerFile = "optimizer.pt"
    static let shardedOptimizerFolder = "optimizer"
    /// A subfolder, not `*.safetensors` beside the HF weights: serving stacks load every
    /// safetensors file at a folder's top level when it has no index.
    static let exactWeightsFolder = "fp32_weights"

    /// A checkpoint's exact float32 weights (or adapters), when it was saved rounded.
    public static func exactWeights(of checkpoint: URL) -> URL? {
        let url = checkpoint.appendingPathComponent(exactWeightsFolder)
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    public func checkpointURL(step: Int) -> URL { checkpointsURL.appendingPathComponent(String(format: "step-%06d", step)) }
    /// Hidden, and not a step-N name: never listed, pruned or resumed as a checkpoint.
    func shardStagingURL(step: Int) -> URL { checkpointsURL.appendingPathComponent(String(format: ".step-%06d.shards", step)) }

    /// The complete checkpoints (step-N folders with a trainer state), oldest first.
    public func checkpoints() -> [(step: Int, url: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpointsURL.path)) ?? []
        return names.compactMap { name -> (Int, URL)? in
            let dir = checkpointsURL.appendingPathComponent(name)
            guard name.hasPrefix("step-"), let n = Int(name.dropFirst(5)), Self.isCheckpoint(dir) else { return nil }
            return (n, dir)
        }.sorted { $0.0 < $1.0 }
    }

    public var latest: URL? { checkpoints().last?.url }

    /// Removes all but the newest `keep` checkpoints.
    func prune(keep: Int) {
        for (_, old) in checkpoints().dropLast(keep) { try? FileManager.default.removeItem(at: old) }
    }

    /// Whether `dir` is a checkpoint a trainer wrote (it can be resumed, not only loaded).
    public static func isCheckpoint(_ dir: URL) -> Bool {
        FileManager.default.fileExists(atPath: dir.appendingPathComponent(stateFile).path)
    }

    /// The model folder a path names: an HF checkpoint folder itself (it holds config.json), an
    /// adapter folder (adapter_config.json), or a trainer's output folder, whose newest checkpoint it is.
    public static func modelFolder(_ path: URL) throws -> URL {
        if FileManager.default.fileExists(atPath: path.appendingPathComponent("config.json").path) || AdapterCheckpoint.isAdapterFolder(path) { return path }
        guard let newest = RunDirectory(path).latest else {
            throw TrainingError.notAModel(path: path.path)
        }
        return newest
    }

    /// Opens metrics.jsonl for appending, first dropping lines past `step` (what a killed run
    /// wrote after its last checkpoint), so the file never holds a step twice.
    func openMetrics(after step: Int) throws -> FileHandle {
        if let text = try? String(contentsOf: metricsURL, encoding: .utf8) {
            try Self.write(lines: MetricsLine.split(text, after: step).kept, to: metricsURL)
        } else if !FileManager.default.createFile(atPath: metricsURL.path, contents: nil) {
            throw TrainingError.badState(path: metricsURL.path, reason: "cannot create the metrics file")
        }
        let h = try FileHandle(forWritingTo: metricsURL)
        try h.seekToEnd()
        return h
    }

    /// After a resume from the checkpoint of `step`: moves the checkpoints from `step` on (but
    /// the one resumed) and the metrics lines past `step` into a folder of their own,
    /// `superseded/from-step-NNNNNN[.k]/`, so the continued run neither resumes nor prunes them,
    /// one abandoned branch is never mixed with another, and nothing of it is lost.
    func supersede(after step: Int, resumedFrom: URL) throws {
        let fm = FileManager.default
        let moved = checkpoints().filter { $0.step >= step && $0.url.standardizedFileURL.path != resumedFrom.standardizedFileURL.path }
        let (kept, later) = MetricsLine.split((try? String(contentsOf: metricsURL, encoding: .utf8)) ?? "", after: step)
        guard !moved.isEmpty || !later.isEmpty else { return }
        let base = url.appendingPathComponent("superseded").appendingPathComponent(String(format: "from-step-%06d", step))
        var aside = base
        var n = 0
        while fm.fileExists(atPath: aside.path) {
            n += 1
            aside = URL(fileURLWithPath: "\(base.path).\(n)")
        }
        try fm.createDirectory(at: aside, withIntermediateDirectories: true)
        // The lines are written aside before metrics.jsonl loses them, each file atomically: a
        // kill in between leaves them in both places, never in neither.
        if !later.isEmpty {
            try Self.write(lines: later, to: aside.appendingPathComponent("metrics.jsonl"))
            try Self.write(lines: kept, to: metricsURL)
        }
        for (_, old) in moved { try fm.moveItem(at: old, to: aside.appendingPathComponent(old.lastPathComponent)) }
    }

    private static func write(lines: [Substring], to url: URL) throws {
        try (lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")).write(to: url, atomically: true, encoding: .utf8)
    }
}
