import Common
import Foundation
import Models
import Settings
import Torch

/// Every setting of a training run: `bcsft train --config FILE.yaml` and a recipe's
/// `kind: train` stage (whose `data` input and output folder fill `data` and `output`) read the
/// same keys. Unknown keys are errors (a typo must not silently fall back to a default); `--set
/// a.b=c` overrides any key.
///
/// ```yaml
/// data: out/ds                 # a folder written by `bcsft dataset build`
/// output: runs/student         # checkpoints/, metrics.jsonl, resolved config
/// model:
///   from: path/to/hf-checkpoint  # or, from scratch:
///   config: {hidden_size: 256, intermediate_size: 688, num_hidden_layers: 4, num_attention_heads: 4}
/// steps: 1000
/// batch_size: 8                # rows per micro-batch (per process)
/// grad_accum: 1
/// lr: 3.0e-4
/// device: cpu                  # or cuda, cuda:N (a CUDA libtorch; data-parallel ranks use NCCL)
/// nproc: 1                     # data-parallel processes to start on this machine
/// dtype: float32               # or bfloat16: the weights and gradients while training
/// save_dtype: float32          # or bfloat16: the checkpoints' model weights (default: dtype)
/// max_shard_size: 5GB          # weight files above this are split into shards with an index
/// activation_checkpointing: false  # recompute each decoder layer in backward
/// loss_chunk_tokens: 4096      # micro-batches of more tokens compute head + loss this many at a time
/// lora: {rank: 16, alpha: 32, dropout: 0, targets: [q_proj, v_proj]}  # adapters on a frozen base
/// zero: 0                      # 1: shard AdamW's state across the data-parallel ranks
/// ```
public struct TrainConfig: Settings, Equatable {
    public struct ModelSpec: Codable, Sendable, Equatable {
        /// An HF checkpoint folder to start from.
        public var from: String?
        /// HF config.json keys for a model from scratch (vocab_size defaults to the dataset's);
        /// only keys this Llama reads are accepted.
        public var config: [String: SettingValue]?
        public var seed: UInt64 = 0
        enum CodingKeys: String, CodingKey { case from, config, seed }
        public init() {}
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            try c.update(&from, .from)
            try c.update(&config, .config)
            try c.update(&seed, .seed)
        }
    }

    public enum Schedule: String, Codable, Sendable, CaseIterable, SettingChoice { case cosine, linear, constant }

    /// A floating-point precision: the weights while training (`dtype`) and in checkpoints
    /// (`save_dtype`).
    public enum Precision: String, Codable, Sendable, CaseIterable, SettingChoice {
        case float32, bfloat16
        public var dtype: DType { self == .float32 ? .float32 : .bfloat16 }
    }

    /// Low-rank adapters (LoRA, Hu et al. 2021) on a frozen base: W x + (alpha / rank) B A x for
    /// each target projection, by its HF module name.
    public struct LoRASpec: Codable, Sendable, Equatable {
        public var rank = 16
        public var alpha = 32.0
        public var dropout = 0.0
        /// HF module names: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj.
        public var targets = ["q_proj", "v_proj"]
        public static let knownTargets = LoRAConfig.knownTargets
        enum CodingKeys: String, CodingKey { case rank, alpha, dropout, targets }
        public init() {}
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            try c.update(&rank, .rank)
            try c.update(&alpha, .alpha)
            try c.update(&dropout, .dropout)
            try c.update(&targets, .targets)
        }
    }

    /// Required: a dataset folder.
    public var data = ""
    /// Required: the run's folder.
    public var output = ""
    public var model = ModelSpec()
    /// Required: optimizer steps.
    public var steps = 0
    /// Rows per micro-batch, per process.
    public var batchSize = 8
    public var gradAccum = 1
    public var lr = 3e-4
    public var minLR = 0.0
    public var warmupSteps = 0
    /// After warmup.
    public var schedule = Schedule.cosine
    public var weightDecay = 0.1
    public var beta1 = 0.9
    public var beta2 = 0.95
    public var eps = 1e-8
    /// 0 disables clipping.
    public var gradClip = 1.0
    public var seed: UInt64 = 0
    public var evalEvery = 0
    public var evalBatches = 8
    public var saveEvery = 0
    public var keepLast = 2
    /// The checkpoints' weights: float32, or bfloat16 for serving (the exact float32 weights are
    /// then kept for resume beside them, `RunDirectory.exactWeightsFolder`).
    public var saveDtype: Precision {
        get { saveDtypeSetting ?? dtype }
        set { saveDtypeSetting = newValue }
    }
    /// `save_dtype` as given; nil: the training `dtype`.
    public var saveDtypeSetting: Precision?
    /// The weights and gradients while training. bfloat16 keeps float32 master weights and
    /// moments in the optimizer (docs/training.md says why).
    public var dtype = Precision.float32
    /// With dtype bfloat16: the optimizer keeps float32 master weights and moments (true), or
    /// updates the bf16 weights with bf16 moments (false, torchtune's default: half the memory,
    /// updates below a weight's 2^-8 are lost).
    public var masterWeights = true
    /// Recompute each decoder layer's forward in backward instead of keeping its activations.
    public var activationCheckpointing = false
    /// A micro-batch of more tokens than this computes the output head and its loss this many
    /// tokens at a time (`chunkedCrossEntropy`), so its [tokens, vocab] logits never exist at
    /// once; smaller ones take the plain logits + cross-entropy path. 0: never chunk. The default
    /// keeps the demo's and the offline job's 8 x 256 micro-batches on the plain path.
    public var lossChunkTokens = 4096
    /// Train low-rank adapters on a frozen base instead of every weight.
    public var lora: LoRASpec?
    /// 1: AdamW's moments (and float32 master weights) are sharded across data-parallel ranks.
    public var zero = 0
    /// The largest weight file of a checkpoint: bytes, or HF's notation ("5GB", "500MB", "2GiB").
    public var maxShardSize = "5GB"
    public var logEvery = 1
    /// cpu, cuda or cuda:N. With "cuda" each data-parallel rank takes the GPU of its local rank.
    public var device = "cpu"
    /// Data-parallel processes to start on this machine (`Launcher`); processes started by
    /// torchrun (WORLD_SIZE set) ignore it.
    public var nproc = 1

    enum CodingKeys: String, CodingKey, CaseIterable {
        case data, output, model, steps, batchSize = "batch_size", gradAccum = "grad_accum", lr, minLR = "min_lr"
        case warmupSteps = "warmup_steps", schedule, weightDecay = "weight_decay", beta1, beta2, eps, gradClip = "grad_clip", seed
        case evalEvery = "eval_every", evalBatches = "eval_batches", saveEvery = "save_every", keepLast = "keep_last"
        case saveDtypeSetting = "save_dtype", maxShardSize = "max_shard_size", dtype, activationCheckpointing = "activation_checkpointing", lora, zero
        case masterWeights = "master_weights", lossChunkTokens = "loss_chunk_tokens"
        case logEvery = "log_every", device, nproc
    }

    public init() {}

    public init(data: String, output: String, steps: Int) {
        self.data = data
        self.output = output
        self.steps = steps
    }

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.update(&data, .data)
        try c.update(&output, .output)
        try c.update(&model, .model)
        try c.update(&steps, .steps)
        try c.update(&batchSize, .batchSize)
        try c.update(&gradAccum, .gradAccum)
        try c.update(&lr, .lr)
        try c.update(&minLR, .minLR)
        try c.update(&warmupSteps, .warmupSteps)
        try c.update(&schedule, .schedule)
        try c.update(&weightDecay, .weightDecay)
        try c.update(&beta1, .beta1)
        try c.update(&beta2, .beta2)
        try c.update(&eps, .eps)
        try c.update(&gradClip, .gradClip)
        try c.update(&seed, .seed)
        try c.update(&evalEvery, .evalEvery)
        try c.update(&evalBatches, .evalBatches)
        try c.update(&saveEvery, .saveEvery)
        try c.update(&keepLast, .keepLast)
        try c.update(&saveDtypeSetting, .saveDtypeSetting)
        try c.update(&dtype, .dtype)
        try c.update(&activationCheckpointing, .activationCheckpointing)
        try c.update(&lossChunkTokens, .lossChunkTokens)
        try c.update(&lora, .lora)
        try c.update(&zero, .zero)
        try c.update(&masterWeights, .masterWeights)
        try c.update(&maxShardSize, .maxShardSize)
        try c.update(&logEvery, .logEvery)
        try c.update(&device, .device)
        try c.update(&nproc, .nproc)
    }

    /// Reads a configuration (YAML, or the JSON of a resolved one), applies `key=value`
    /// overrides (dotted keys reach into `model`), and decodes and validates it: errors name the
    /// key and the file:line (or the `--set` argument) that gave it.
    public static func load(yaml text: String, source: String, overrides: [String] = []) throws -> TrainConfig {
        do {
            var tree = try YAMLTree.parse(text, file: source) ?? .map([], SourceLocation(file: source, line: nil))
            for o in overrides { try Override(o).apply(to: &tree) }
            let (value, locations) = tree.resolved()
            return try decode(value, with: SettingsDecoder(locations: locations, fallback: SourceLocation(file: source, line: nil)))
        } catch let e as SettingsError {
            throw TrainingError(e, source: source)
        }
    }

    /// Reads a configuration file.
    public static func load(file: String, overrides: [String] = []) throws -> TrainConfig {
        let text: String
        do {
            try FileCheck.readable(URL(fileURLWithPath: file))
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch let FileError.cannotRead(_, reason) {
            throw TrainingError.invalidConfig(source: file, key: "-", reason: "cannot read: \(reason)")
        } catch {
            throw TrainingError.invalidConfig(source: file, key: "-", reason: "cannot read: \(error.localizedDescription)")
        }
        return try load(yaml: text, source: file, overrides: overrides)
    }

    public func validate() throws {
        func bad(_ k: String, _ r: String) -> SettingsError { .invalid(k, r) }
        if data.isEmpty { throw bad("data", "missing: the dataset folder to train on") }
        if output.isEmpty { throw bad("output", "missing: the folder for checkpoints and metrics") }
        if steps <= 0 { throw bad("steps", steps == 0 ? "missing: the number of optimizer steps" : "must be positive") }
        if batchSize <= 0 { throw bad("batch_size", "must be positive") }
        if gradAccum <= 0 { throw bad("grad_accum", "must be positive") }
        if !(lr > 0) { throw bad("lr", "must be positive") }
        if minLR < 0 || minLR > lr { throw bad("min_lr", "must lie in [0, lr]") }
        if warmupSteps < 0 { throw bad("warmup_steps", "must be >= 0") }
        if gradClip < 0 { throw bad("grad_clip", "must be >= 0 (0 disables clipping)") }
        if keepLast < 1 { throw bad("keep_last", "must be at least 1") }
        if ShardPlan.bytes(parsing: maxShardSize) == nil {
            throw bad("max_shard_size", "'\(maxShardSize)' is not a size: give bytes (5000000000) or a number with KB, MB, GB, KiB, MiB or GiB (\"5GB\")")
        }
        if nproc < 1 { throw bad("nproc", "must be at least 1") }
        if lossChunkTokens < 0 { throw bad("loss_chunk_tokens", "must be 0 (never chunk) or positive") }
        if zero != 0 && zero != 1 {
            throw bad("zero", "\(zero) is not built: 0 (every rank holds the whole optimizer state) or 1 (AdamW's state sharded across ranks); full parameter sharding (zero 3) is not built")
        }
        if let l = lora {
            if l.rank < 1 { throw bad("lora.rank", "must be at least 1") }
            if !(l.alpha > 0) { throw bad("lora.alpha", "must be positive") }
            if !(l.dropout >= 0 && l.dropout < 1) { throw bad("lora.dropout", "must lie in [0, 1)") }
            if l.targets.isEmpty { throw bad("lora.targets", "name at least one projection (\(LoRASpec.knownTargets.joined(separator: ", ")))") }
            for t in l.targets where !LoRASpec.knownTargets.contains(t) {
                throw bad("lora.targets", "'\(t)' is not a projection of this model (known: \(LoRASpec.knownTargets.joined(separator: ", ")))")
            }
            if Set(l.targets).count != l.targets.count { throw bad("lora.targets", "names a projection twice") }
            if model.from == nil { throw bad("lora", "adapters train on a frozen base: set model.from to its checkpoint (a model from scratch, model.config, has nothing to adapt)") }
        }
        do { _ = try Device.parse(device) } catch let e as TorchError { throw bad("device", e.message) }
        if (model.from == nil) == (model.config == nil) { throw bad("model", "give exactly one of model.from (a checkpoint) and model.config (from scratch)") }
        // A misspelt HF key would otherwise fall back to its default without a word.
        for k in (model.config ?? [:]).keys.sorted() where !LlamaConfig.understoodKeys.contains(k) {
            throw bad("model.config.\(k)", "not a Llama config.json key this model reads (known: \(LlamaConfig.understoodKeys.sorted().joined(separator: ", ")))")
        }
    }

    /// The optimizer keeps float32 master weights: bf16 training unless master_weights is false.
    public var keepsFloat32Master: Bool { dtype == .bfloat16 && masterWeights }
    /// AdamW steps on a master copy (`ShardedAdamW`: float32 master weights, or zero 1), not on
    /// the weights themselves (`ReplicatedAdamW`).
    public var stepsOnMasterCopy: Bool { keepsFloat32Master || zero == 1 }
    /// The master copy's dtype: float32, but for a pure bf16 run sharded with zero 1.
    public var masterDType: DType { dtype == .float32 || masterWeights ? .float32 : dtype.dtype }

    /// `max_shard_size` in bytes (validated: `validate()` refuses what does not parse).
    public var maxShardBytes: Int { ShardPlan.bytes(parsing: maxShardSize) ?? ShardPlan.defaultMaxShardBytes }

    /// Learning rate at optimizer step `step` (1-based): linear warmup, then the schedule.
    public func learningRate(at step: Int) -> Double {
        if warmupSteps > 0, step <= warmupSteps { return lr * Double(step) / Double(warmupSteps) }
        let span = max(1, steps - warmupSteps)
        let t = min(1, Double(step - warmupSteps) / Double(span))
        switch schedule {
        case .linear: return lr + (minLR - lr) * t
        case .constant: return lr
        case .cosine: return minLR + 0.5 * (lr - minLR) * (1 + Foundation.cos(Double.pi * t))
        }
    }
}
