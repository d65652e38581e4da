import Datasets
import Foundation
import Models
import Torch

/// What a training run will hold per device, worked out from the settings before any weight is
/// loaded: `bcsft train --dry-run` prints it and every run checks it first.
///
/// Per trainable parameter (bytes), for each way of training (e: the dtype's size, 4 or 2; W:
/// the ranks sharing the optimizer state):
///
/// | setting                                | optimizer           | bytes                          |
/// |----------------------------------------|---------------------|--------------------------------|
/// | dtype float32                          | `ReplicatedAdamW`   | 16: weight, gradient, 2 moments |
/// | dtype bfloat16, master_weights false   | `ReplicatedAdamW`   | 8: the same in bf16            |
/// | dtype bfloat16 (fp32 master weights)   | `ShardedAdamW`, W 1 | 2e + 16 = 20                   |
/// | zero 1 over W > 1 ranks                | `ShardedAdamW`      | 2e + m + 4m / W                |
///
/// `ShardedAdamW` keeps a master copy (m bytes: 4, or 2 for master_weights false) with its
/// gradient and two moments for its shard, and gathers every gradient into one flat buffer of
/// the master's dtype each step (with one shard that buffer is the master's gradient). LoRA's
/// frozen base holds its weights alone (e bytes); its adapters, in the base's dtype, count as
/// trainable parameters above.
///
/// The activations are an estimate of what one micro-batch keeps for backward, per token: each
/// decoder layer's inputs and intermediates (norms, q/k/v and the repeated k/v of grouped-query
/// attention, the attention output, the MLP's gate, up and product) in the training dtype, or with
/// activation checkpointing each layer's input plus one layer's intermediates while it is
/// recomputed; the logits and their gradient (fp32) for the micro-batch, or one chunk of them when
/// the loss is chunked. Attention's own buffers are per row and head (the CPU kernels and
/// `scaled_dot_product_attention` keep no [T, T] scores). The estimate errs high; a run that the
/// plan passes can still fail on fragmentation, which the plan says.
public struct MemoryPlan: Sendable {
    public let parameters: Double
    /// Parameters the optimizer updates: all of them, or LoRA's adapters.
    public let trainableParameters: Double
    /// Bytes of the frozen (non-training) parameters: LoRA's base, else 0.
    public let frozenBytes: Double
    /// Bytes per trainable parameter: weight, gradient and this rank's share of the optimizer.
    public let bytesPerParameter: Double
    public let activationBytes: Double
    /// The micro-batches' own tensors (ids, targets, masks, positions) for grad_accum steps.
    public let batchBytes: Double
    /// Each device's memory: `deviceMemory` when given (a plan for a GPU made anywhere), this
    /// machine's for the CPU; nil for CUDA when not given (not queried here).
    public let deviceBytes: Double?
    /// Data-parallel ranks sharing the optimizer state (zero 1); 1 otherwise.
    public let shards: Int
    let config: TrainConfig
    let seqLen: Int

    public var parameterBytes: Double { trainableParameters * bytesPerParameter + frozenBytes }
    public var peakBytes: Double { parameterBytes + activationBytes + batchBytes }

    /// - worldSize: the data-parallel ranks (`nproc`, or torchrun's WORLD_SIZE).
    /// - deviceMemory: bytes of each device, for a plan of a GPU run made on another machine.
    public init(_ c: TrainConfig, model m: LlamaConfig, seqLen: Int, device: Device, worldSize: Int? = nil, deviceMemory: Double? = nil) {
        self.init(c, model: m, seqLen: seqLen, isCUDA: device.isCUDA, worldSize: worldSize, deviceMemory: deviceMemory)
    }

    public init(_ c: TrainConfig, model m: LlamaConfig, seqLen: Int, isCUDA: Bool, worldSize: Int? = nil, deviceMemory: Double? = nil) {
        config = c
        self.seqLen = seqLen
        parameters = m.parameterCount
        let world = max(1, worldSize ?? c.nproc)
        shards = c.zero == 1 ? world : 1
        let e = Double(c.dtype.dtype.size)
        // The trainable parameters (every weight, or LoRA's adapters, which take the base's dtype)
        // hold weight, gradient and the optimizer's share; a LoRA base only its weights.
        trainableParameters = c.lora.map { Double(LoRAConfig.parameterCount(m, $0.adapterConfig)) } ?? parameters
        frozenBytes = c.lora == nil ? 0 : parameters * e
        let master = Double(c.masterDType.size)
        if !c.stepsOnMasterCopy {
            bytesPerParameter = 4 * e
        } else {
            bytesPerParameter = 2 * e + master + (shards == 1 ? 3 * master : 4 * master / Double(shards))
        }
        let tokens = Double(c.batchSize) * Double(seqLen)
        let (d, f, layers) = (Double(m.hiddenSize), Double(m.intermediateSize), Double(m.numHiddenLayers))
        let (dq, dkv) = (Double(m.numAttentionHeads * m.headDim), Double(m.numKeyValueHeads * m.headDim))
        let repeated = m.numKeyValueHeads == m.numAttentionHeads ? 0 : 2 * dq
        let perLayer = (4 * d + 2 * dq + 2 * dkv + repeated + 3 * f) * e
        // Checkpointed: every layer's input stays; one layer's intermediates exist at a time, twice
        // over while its gradients are formed.
        let layerBytes = c.activationCheckpointing ? layers * d * e + 2 * perLayer : layers * perLayer
        // Logits (in the dtype) and their fp32 softmax / gradient: past loss_chunk_tokens one
        // chunk's at a time, plus the head's float32 gradient the chunked loss keeps.
        let chunked = c.lossChunkTokens > 0 && tokens > Double(c.lossChunkTokens)
        let logitBytes = (chunked ? Double(c.lossChunkTokens) : tokens) * Double(m.vocabSize) * (e + 8)
            + (chunked ? Double(m.vocabSize) * d * 4 : 0)
        activationBytes = tokens * layerBytes + logitBytes + tokens * d * 4
        batchBytes = Double(c.gradAccum) * tokens * 32
        // On the CPU the nproc ranks of this machine share its memory.
        deviceBytes = deviceMemory ?? (isCUDA ? nil : Double(ProcessInfo.processInfo.physicalMemory) / Double(max(1, c.nproc)))
    }

    /// The model a run would train: `model.from`'s config.json (read alone, no weights), or the
    /// from-scratch config with the dataset's vocabulary.
    public static func modelConfig(_ c: TrainConfig, manifest: Manifest) throws -> LlamaConfig {
        if let from = c.model.from { return try LlamaConfig.load(Checkpoint.modelConfigURL(URL(fileURLWithPath: from))) }
        return try Trainer.scratchConfig(c, manifest)
    }

    /// How this run trains, in words.
    var mode: String {
        var parts = [config.lora.map { "LoRA rank \($0.rank) on \($0.targets.joined(separator: ", ")) over a frozen \(config.dtype.rawValue) base" }
            ?? "full fine-tuning in \(config.dtype.rawValue)"]
        if config.dtype == .bfloat16 { parts.append(config.masterWeights ? "float32 master weights" : "no master weights") }
        if config.activationCheckpointing { parts.append("activation checkpointing") }
        if shards > 1 { parts.append("optimizer state sharded over \(shards) ranks (zero 1)") }
        return parts.joined(separator: ", ")
    }

    /// What each trainable parameter holds, in words.
    var perParameter: String {
        let w = config.dtype == .float32 ? "fp32" : "bf16"
        if !config.stepsOnMasterCopy { return "\(w) weight, gradient, AdamW's two moments" }
        let m = config.masterDType == .float32 ? "fp32" : "bf16"
        return "\(w) weight and gradient, a \(m) flat gradient buffer; \(m) master weight, its gradient and two moments"
            + (shards > 1 ? " sharded over \(shards) ranks" : "")
    }

    /// Refuses a plan that cannot fit the device, naming what to lower: the model (or the mode)
    /// when its weights, gradients and optimizer state alone do not fit, else batch_size or
    /// grad_accum.
    public func check() throws {
        guard let memory = deviceBytes, peakBytes >= memory else { return }
        let gib = 1073741824.0
        if parameterBytes >= memory {
            throw TrainingError.invalidConfig(source: "train config", key: config.model.from != nil ? "model.from" : "model.config", reason: String(
                format: "%.3g parameters need %.1f GiB for %@ (%.3g bytes per trainable parameter), more than the device's %.1f GiB%@",
                parameters, parameterBytes / gib, mode, bytesPerParameter, memory / gib, hint))
        }
        let key = batchBytes > activationBytes ? "grad_accum" : config.activationCheckpointing ? "batch_size" : "batch_size (or set activation_checkpointing)"
        throw TrainingError.invalidConfig(source: "train config", key: key.components(separatedBy: " ")[0], reason: String(
            format: "batch_size %d x grad_accum %d rows of %d tokens need about %.1f GiB for one step, more than the device's %.1f GiB: lower %@",
            config.batchSize, config.gradAccum, seqLen, peakBytes / gib, memory / gib, key))
    }

    /// What else would shrink the per-parameter bytes, for the refusal's message.
    var hint: String {
        var ways: [String] = []
        if config.lora == nil {
            if config.dtype == .float32 { ways.append("dtype bfloat16") }
            if config.dtype == .bfloat16, config.masterWeights { ways.append("master_weights false") }
            if config.zero == 0 { ways.append("zero 1 over several ranks") }
            ways.append("lora")
        }
        return ways.isEmpty ? "" : ": try " + ways.joined(separator: ", ")
    }

    /// The plan as `bcsft train --dry-run` prints it.
    public var text: String {
        let gib = 1073741824.0
        var lines = [
            "mode              \(mode)",
            String(format: "parameters        %.4g (trainable %.4g)", parameters, trainableParameters),
            String(format: "per parameter     %.3g bytes per trainable parameter (%@)%@ = %.2f GiB", bytesPerParameter, perParameter,
                   frozenBytes > 0 ? String(format: " + %.2f GiB frozen base", frozenBytes / gib) : "", parameterBytes / gib),
            String(format: "activations       %.2f GiB for a micro-batch of %d x %d tokens (estimate, errs high)", activationBytes / gib, config.batchSize, seqLen),
            String(format: "batches           %.2f GiB (grad_accum %d)", batchBytes / gib, config.gradAccum),
            String(format: "peak per device   %.2f GiB", peakBytes / gib),
        ]
        if let d = deviceBytes {
            lines.append(String(format: "device memory     %.1f GiB: %@", d / gib, peakBytes < d ? "fits" : "does not fit"))
        } else {
            lines.append("device memory     not queried for CUDA: compare the peak with the GPU's, or give --device-memory")
        }
        return lines.joined(separator: "\n")
    }
}
