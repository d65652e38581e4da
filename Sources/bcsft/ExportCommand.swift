import ArgumentParser
import Foundation
import Models
import Training

/// A checkpoint as a plain HF folder: an adapter checkpoint merged into its base, a full one
/// re-exported (another dtype, other shards). A utility over a finished run, not a step of the
/// method, so it has no recipe stage; its two settings are the trainer's keys with their defaults.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a checkpoint as a plain HF folder: LoRA adapters merged into their base, or a full checkpoint re-exported."
    )

    @Argument(help: "Checkpoint folder (HF, trainer checkpoint or adapter folder), or a trainer's output folder (its newest checkpoint).") var checkpoint: String
    @Option(help: "The new folder (must not exist, or be empty).") var output: String
    @Option(name: .customLong("save-dtype"), help: "float32 or bfloat16 (default: \(TrainConfig().saveDtype.rawValue)).") var saveDtype: String?
    @Option(name: .customLong("max-shard-size"), help: "Weight files above this are split into shards with an index: bytes or \"5GB\", \"500MB\", \"2GiB\" (default: \(TrainConfig().maxShardSize)).")
    var maxShardSize: String?

    func run() throws {
        let dtype: TrainConfig.Precision
        if let saveDtype {
            guard let p = TrainConfig.Precision(rawValue: saveDtype) else {
                throw ValidationError("--save-dtype: '\(saveDtype)' is not one of \(TrainConfig.Precision.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            dtype = p
        } else {
            dtype = TrainConfig().saveDtype
        }
        let size = maxShardSize ?? TrainConfig().maxShardSize
        guard let bytes = ShardPlan.bytes(parsing: size) else {
            throw ValidationError("--max-shard-size: '\(size)' is not a size: give bytes (5000000000) or a number with KB, MB, GB, KiB, MiB or GiB (\"5GB\")")
        }
        try configureRuntime()
        let dir = try RunDirectory.modelFolder(URL(fileURLWithPath: checkpoint))
        // A checkpoint saved in bfloat16 exports from its exact float32 copy, not the rounded one.
        try Checkpoint.export(dir, to: URL(fileURLWithPath: output), dtype: dtype.dtype, maxShardBytes: bytes, exactWeights: RunDirectory.exactWeights(of: dir))
        print("exported \(dir.path) to \(output)")
    }
}
