import Foundation
import Torch

/// Trainable parameters that share a weight decay: an optimizer group. The trainer makes two,
/// "decay" (matrices) and "no_decay" (norm weights and biases), over whatever trains (every
/// weight in full fine-tuning; the adapters alone with LoRA).
struct ParameterGroup {
    /// The group's name in checkpoint files ("decay", "no_decay").
    let name: String
    let weightDecay: Double
    /// (HF name, weight) in a fixed order: the order of the group's flat index space.
    let parameters: [(String, Tensor)]
}

/// What the trainer asks of its optimizer, whichever keeps the state: `ReplicatedAdamW` (fp32
/// weights, zero 0: the moments beside each weight, every rank a full copy) or `ShardedAdamW`
/// (bf16 weights and/or zero 1: float32 master weights and moments over a flat index space,
/// each rank its shard).
protocol TrainingOptimizer: AnyObject {
    func zeroGrad() throws
    /// After backward: the gradients summed over the data-parallel ranks and clipped to a joint
    /// L2 norm of `maxNorm`; returns the norm before clipping (inf or nan when a gradient is).
    func synchronizeAndClip(maxNorm: Double) throws -> Double
    /// One AdamW step at `learningRate`; the model's weights hold the result.
    func step(learningRate: Double) throws
    /// Bytes of optimizer state this rank holds now: moments, and master weights where kept.
    var stateBytes: Int { get throws }
    /// Whether the checkpoint's exact weights are in the optimizer's files (the master copy),
    /// so the HF weights beside them may be rounded without an fp32_weights/ copy.
    var keepsMasterWeights: Bool { get }
    /// Whether every rank writes a part of the state at a checkpoint (zero 1 over several ranks):
    /// then each calls `stage(into:)` before rank 0 writes the checkpoint.
    var stagesShards: Bool { get }
    /// Writes this rank's part of the state into `staging` (a folder beside the checkpoint).
    func stage(into staging: URL) throws
    /// Rank 0, inside the checkpoint's atomic write: the state's files into `checkpoint`, taking
    /// the other ranks' parts from `staging`.
    func save(into checkpoint: URL, staging: URL) throws
    /// Restores the state, and where the checkpoint keeps master weights, the model's weights.
    func restore(from checkpoint: OptimizerCheckpoint) throws
}
