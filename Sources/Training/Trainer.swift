import Common
import Datasets
import Foundation
import Models
import Torch

/// The SFT loop: packed rows in, loss on masked tokens normalised by the number of loss tokens
/// across gradient accumulation, AdamW with decay on matrices only, warmup then cosine or
/// linear decay, clipping, periodic validation and checkpoints, exact resume.
///
/// The run's folder is a `RunDirectory`; what a checkpoint records beside the weights is a
/// `TrainerState`; data-parallel processes come from a `Launcher` (or torchrun).
public final class Trainer {
    public enum Event: Sendable {
        /// `changed`: settings that differ from the checkpoint's ("lr: 0.003 -> 0.001").
        case resumed(step: Int, from: String, changed: [String])
        case step(MetricsLine, of: Int)
        case checkpoint(String)
    }

    public let config: TrainConfig
    public let model: Llama
    /// Where the model, its gradients, the optimizer's moments and every batch live.
    public let device: Device
    public private(set) var step = 0
    /// Settings changed since the resumed checkpoint was written, as "key: old -> new".
    public private(set) var changedSinceCheckpoint: [String] = []
    /// The checkpoint this run continues, if any.
    public private(set) var resumedFrom: URL?
    public let folder: RunDirectory
    /// What this run holds per device, as `bcsft train --dry-run` prints it (checked before
    /// any weight was loaded).
    public let memoryPlan: MemoryPlan
    let data: PackedDataset
    let optimizer: TrainingOptimizer
    var source: BatchSource
    /// The dataset's tokenizer files, copied into every checkpoint.
    let tokenizerFiles: [String: Data]
    /// Data parallelism: each rank takes its slice of every micro-batch, gradients and counts
    /// are summed across ranks, and only rank 0 writes. nil: one process.
    let group: ProcessGroup?
    var rank: Int { group?.rank ?? 0 }
    var worldSize: Int { group?.worldSize ?? 1 }

    /// - resume: continue from the newest checkpoint in the output folder. Without it the folder
    ///   must hold no checkpoint, so a new run never mixes with (or prunes) an old one.
    /// - resumeFrom: continue from this checkpoint instead (an earlier one, after a non-finite
    ///   loss); newer checkpoints and their metrics lines move to `superseded/`, kept, not deleted.
    /// - device: where to train, as `Trainer.device(for:)` resolved it (a caller that resolved it
    ///   already, to pick the process group's backend, passes it). Default: `config.device`,
    ///   "cuda" meaning the GPU of the group's rank.
    public init(_ config: TrainConfig, resume: Bool = false, resumeFrom: URL? = nil, group: ProcessGroup? = nil,
                device resolved: Device? = nil) throws {
        self.config = config
        self.group = group
        device = try resolved ?? Self.device(for: config, localRank: group?.rank ?? 0)
        folder = RunDirectory(URL(fileURLWithPath: config.output))
        data = try PackedDataset(directory: URL(fileURLWithPath: config.data), tokenizerSHA256: nil)
        tokenizerFiles = try data.tokenizerFiles()
        source = try BatchSource(data: data, split: "train", seed: config.seed)
        try OutputFolder.check(folder.url, markers: ["checkpoints", "metrics.jsonl", "config.resolved.json", ".bcsft-attempt.json"], what: "a training run")
        try FileManager.default.createDirectory(at: folder.checkpointsURL, withIntermediateDirectories: true)

        let newest = folder.latest
        if !resume, resumeFrom == nil, let newest {
            throw TrainingError.outputHasCheckpoints(output: config.output, newest: newest.lastPathComponent)
        }
        if let resumeFrom, !RunDirectory.isCheckpoint(resumeFrom) {
            throw TrainingError.badState(path: resumeFrom.path, reason: "not a training checkpoint (no trainer_state.json); to fine-tune an HF folder, set model.from")
        }
        let start = resumeFrom?.standardizedFileURL ?? (resume ? newest : nil)
        // The memory plan first, from config.json alone (a resumed run's own): a run that cannot
        // fit stops before any weight is loaded.
        let planned = try start.map { try LlamaConfig.load(Checkpoint.modelConfigURL($0)) } ?? MemoryPlan.modelConfig(config, manifest: data.manifest)
        memoryPlan = MemoryPlan(config, model: planned, seqLen: data.manifest.seqLen, device: device, worldSize: group?.worldSize ?? 1)
        try memoryPlan.check()
        if let start {
            model = try Self.resumableModel(start, device: device)
        } else {
            let manifest = data.manifest
            model = try Self.startingModel(config, scratch: { try Self.scratchConfig(config, manifest) }, device: device)
        }
        model.activationCheckpointing = config.activationCheckpointing
        if let group {
            // Every rank starts from rank 0's weights (identical anyway when seeded alike).
            for (_, w) in model.trainableParameters { try withNoGrad { try group.broadcast(w, root: 0) } }
        }
        // Loaded (or drawn) in float32, then cast: a seed draws the same numbers in either dtype,
        // and a bf16 run's master weights start from the float32 values.
        let initial = try Self.cast(model, to: config.dtype.dtype)
        guard model.config.vocabSize >= data.manifest.vocabularySize else {
            throw TrainingError.invalidConfig(source: "model", key: "vocab_size",
                                              reason: "\(model.config.vocabSize) is smaller than the dataset's tokenizer (\(data.manifest.vocabularySize))")
        }
        let hp = AdamW.Hyperparameters(learningRate: config.lr, beta1: config.beta1, beta2: config.beta2, eps: config.eps, weightDecay: config.weightDecay)
        let trainable = model.trainableParameters
        let groups = Self.parameterGroups(trainable, weightDecay: config.weightDecay)
        // Without a master copy AdamW updates the weights themselves (fp32, or torchtune's pure bf16).
        if config.stepsOnMasterCopy {
            optimizer = try ShardedAdamW(groups, initial: initial, hyperparameters: hp, group: group, sharded: config.zero == 1, device: device,
                                         masterDType: config.masterDType)
        } else {
            optimizer = try ReplicatedAdamW(groups, trainable: trainable.map(\.1), hyperparameters: hp, group: group)
        }
        if let start { try restore(from: start) }
        resumedFrom = start
        if let start, resumeFrom != nil, rank == 0 { try folder.supersede(after: step, resumedFrom: start) }
        if rank == 0 {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try enc.encode(config).write(to: folder.resolvedConfigURL, options: .atomic)
        }
    }

    /// The device a rank trains on: `config.device`, with "cuda" meaning the local rank's GPU.
    /// A device this process cannot use is a config error naming the key.
    public static func device(for config: TrainConfig, localRank: Int = 0, source: String = "train config") throws -> Device {
        do { return try Device.resolve(config.device, defaultIndex: localRank) } catch let e as TorchError {
            throw TrainingError.invalidConfig(source: source, key: "device", reason: e.message)
        }
    }

    /// `config.device` parsed but not opened (a plan for a GPU made on a machine without one).
    public static func parsedDevice(_ config: TrainConfig, source: String = "train config") throws -> Device {
        do { return try Device.parse(config.device) } catch let e as TorchError {
            throw TrainingError.invalidConfig(source: source, key: "device", reason: e.message)
        }
    }

    /// Trains until `config.steps` (or `stopAfter` steps in this call, for tests), or until
    /// `shouldStop` returns true between steps (Ctrl-C in a recipe; resume continues from the
    /// last checkpoint). Each step's metrics go to metrics.jsonl as it finishes.
    public func run(stopAfter: Int? = nil, progress: (Event) -> Void = { _ in }, shouldStop: () -> Bool = { false }) throws {
        let metrics = rank == 0 ? try folder.openMetrics(after: step) : nil
        defer { try? metrics?.close() }
        if step > 0, let from = resumedFrom { progress(.resumed(step: step, from: from.path, changed: changedSinceCheckpoint)) }
        let end = min(config.steps, stopAfter.map { step + $0 } ?? config.steps)
        while step < end, !shouldStop() {
            let started = DispatchTime.now().uptimeNanoseconds
            let lr = config.learningRate(at: step + 1)
            let (loss, lossTokens, norm) = try forwardBackward()
            guard loss.isFinite, norm.isFinite else { throw nonFinite(loss: loss, norm: norm) }
            try optimizer.step(learningRate: lr)
            step += 1
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            let tokens = config.gradAccum * config.batchSize * data.manifest.seqLen * worldSize
            var line = MetricsLine(step: step, loss: loss, lr: lr, gradNorm: norm, lossTokens: lossTokens,
                                   tokensPerSecond: Double(tokens) / seconds)
            let saving = (config.saveEvery > 0 && step % config.saveEvery == 0) || step == config.steps
            guard rank == 0 else {
                if saving, optimizer.stagesShards { try stageShards() }
                continue
            }
            if config.evalEvery > 0, step % config.evalEvery == 0 || step == config.steps { line.valLoss = try validationLoss() }
            if step % max(1, config.logEvery) == 0 || step == config.steps || line.valLoss != nil {
                try metrics?.write(contentsOf: Data(try line.text.utf8))
            }
            progress(.step(line, of: config.steps))
            if saving { progress(.checkpoint(try saveCheckpoint().path)) }
        }
    }

    /// One optimizer step's gradients: the accumulation window's micro-batches forward and
    /// backward, the loss normalised by the window's loss tokens over all ranks, gradients summed
    /// across ranks and clipped. Returns the mean loss, the loss tokens and the gradient norm.
    func forwardBackward() throws -> (loss: Double, lossTokens: Int, gradNorm: Double) {
        seedDropout()
        // Micro-batch a spans rows [a*G, (a+1)*G) of the step's window, G = batch_size *
        // world_size; rank r takes its batch_size slice of it.
        let global = config.batchSize * worldSize
        let cursor0 = step * config.gradAccum * global
        var micro: [(ids: Tensor, targets: Tensor, positions: Tensor, documents: Tensor, lossTokens: Int)] = []
        for a in 0..<config.gradAccum {
            let rows = (0..<config.batchSize).map { source.row(at: cursor0 + a * global + rank * config.batchSize + $0) }
            micro.append(try source.batch(rows, device: device))
        }
        var total = micro.reduce(0) { $0 + $1.lossTokens }
        if let group { total = Int(try allReduced(Double(total), group)) }
        try optimizer.zeroGrad()
        var lossSum = 0.0
        if total > 0 {
            for m in micro {
                let ce = try summedLoss(m.ids, m.targets, positions: m.positions, documents: m.documents)
                try (ce / Double(total)).backward()
                lossSum += try ce.item()
            }
        }
        if let group { lossSum = try allReduced(lossSum, group) }
        let norm = try optimizer.synchronizeAndClip(maxNorm: config.gradClip > 0 ? config.gradClip : .greatestFiniteMagnitude)
        return (total > 0 ? lossSum / Double(total) : 0, total, norm)
    }

    /// The summed loss of a micro-batch's loss tokens: logits and cross-entropy, or past
    /// `loss_chunk_tokens` tokens the head and loss in chunks of that many (the logits of a long
    /// micro-batch would be the largest tensor of the step).
    func summedLoss(_ ids: Tensor, _ targets: Tensor, positions: Tensor, documents: Tensor) throws -> Tensor {
        let chunk = config.lossChunkTokens
        guard chunk > 0, ids.count > chunk else {
            let logits = try model.forward(ids, positions: positions, documentIDs: documents)
            return try crossEntropy(logits.view([-1, model.config.vocabSize]), targets.view([-1]), reduction: .sum)
        }
        let hidden = try model.hiddenStates(ids, positions: positions, documentIDs: documents)
        return try chunkedCrossEntropy(hidden: hidden.view([-1, model.config.hiddenSize]), weight: model.headWeight, targets: targets.view([-1]),
                                       chunkRows: chunk)
    }

    /// Training stopped before the update, so every checkpoint holds finite weights; but the
    /// one saved after the previous step is exactly what gave this value, and resuming it
    /// repeats it: name an earlier one.
    func nonFinite(loss: Double, norm: Double) -> TrainingError {
        let kept = folder.checkpoints()
        return .nonFiniteLoss(step: step + 1, loss: loss.isFinite ? norm : loss, what: loss.isFinite ? "gradient norm" : "loss",
                              newest: kept.last?.url.path, resumable: kept.last { $0.step < step }?.url.path)
    }

    /// A scalar summed over all ranks (in float64, so token counts stay exact).
    func allReduced(_ x: Double, _ group: ProcessGroup) throws -> Double {
        let t = try Tensor([x], device: device)  // NCCL reduces CUDA tensors only
        try group.allReduceSum([t])
        return try t.item()
    }

    /// Mean loss per loss token over the first `evalBatches` batches of the validation split.
    public func validationLoss() throws -> Double? {
        guard data.rows("val") > 0 else { return nil }
        let val = try BatchSource(data: data, split: "val", seed: 0)
        return try withNoGrad {
            var sum = 0.0, tokens = 0
            let n = min(config.evalBatches * config.batchSize, val.rows)
            for start in stride(from: 0, to: n, by: config.batchSize) {
                let b = try val.batch(Array(start..<min(n, start + config.batchSize)), device: device)
                sum += try summedLoss(b.ids, b.targets, positions: b.positions, documents: b.documents).item()
                tokens += b.lossTokens
            }
            return tokens > 0 ? sum / Double(tokens) : nil
        }
    }

    /// The model's weights cast to `dtype` in place (each tensor keeps its identity, as torch's
    /// module.to(dtype) does), LoRA's frozen base and adapters alike; returns the trainable
    /// ones' values before, by name (a master copy starts from them; none when nothing changed).
    static func cast(_ model: Llama, to dtype: DType) throws -> [String: Tensor] {
        var before: [String: Tensor] = [:]
        let adapters = model.adapters == nil ? [] : model.trainableParameters
        let trainable = Set(model.trainableParameters.map(\.0))
        for (name, w) in model.parameters + adapters where w.dtype != dtype {
            if trainable.contains(name) { before[name] = try w.detach() }  // the old storage, kept alive by this handle alone
            try w.setData(try w.to(dtype))
        }
        return before
    }

    /// Bytes of optimizer state this rank holds now: AdamW's moments, and the float32 master
    /// weights where the optimizer keeps them (dtype bfloat16, zero 1), for its shard alone.
    public var optimizerStateBytes: Int { get throws { try optimizer.stateBytes } }

    /// The optimizer's groups over `trainable`: weight decay on matrices (projections,
    /// embeddings), none on norm weights and biases.
    static func parameterGroups(_ trainable: [(String, Tensor)], weightDecay: Double) -> [ParameterGroup] {
        [ParameterGroup(name: "decay", weightDecay: weightDecay, parameters: trainable.filter { $0.1.rank >= 2 }),
         ParameterGroup(name: "no_decay", weightDecay: 0, parameters: trainable.filter { $0.1.rank < 2 })]
    }

    static func scratchConfig(_ c: TrainConfig, _ m: Manifest) throws -> LlamaConfig {
        var d = (c.model.config ?? [:]).mapValues(\.json)
        d["vocab_size"] = d["vocab_size"] ?? m.vocabularySize
        d["max_position_embeddings"] = d["max_position_embeddings"] ?? max(m.seqLen, 2048)
        d["eos_token_id"] = d["eos_token_id"] ?? Int(m.eosID)
        return try LlamaConfig.decode(try JSONSerialization.data(withJSONObject: d), source: "model.config")
    }
}

// MARK: - Checkpoints

extension Trainer {
    /// zero 1 over several ranks: this rank's optimizer shard beside the coming checkpoint, then
    /// a barrier, after which rank 0 moves every rank's shard into it.
    func stageShards() throws {
        try optimizer.stage(into: folder.shardStagingURL(step: step))
        try group?.barrier()
    }

    /// Writes checkpoints/step-NNNNNN (HF folder + the optimizer's state + trainer_state.json)
    /// atomically and keeps the last `keep_last`. The HF weights are the model's, in
    /// `save_dtype`; when that rounds them and the optimizer keeps no float32 master, the float32
    /// weights go to fp32_weights/ too, so a resume continues exactly.
    func saveCheckpoint() throws -> URL {
        let dir = folder.checkpointURL(step: step)
        let dtype = config.saveDtype.dtype
        if optimizer.stagesShards { try stageShards() }
        // The exact copy only when the files round below what training holds and the optimizer
        // keeps no master to restore from.
        let exact = dtype.size < config.dtype.dtype.size && !optimizer.keepsMasterWeights
        try saveModel(to: dir, dtype: dtype, exactCopy: exact) { tmp in
            try optimizer.save(into: tmp, staging: folder.shardStagingURL(step: step))
            try TrainerState(step: step, rowsConsumed: step * config.gradAccum * config.batchSize * worldSize,
                             tokenizerSHA256: data.manifest.tokenizerSHA256, config: config, worldSize: worldSize,
                             trainRows: data.rows("train")).write(into: tmp)
        }
        folder.prune(keep: config.keepLast)
        return dir
    }

    /// A checkpoint's model as training left it: its float32 weights, from fp32_weights/ when
    /// the HF weights beside them were saved rounded (save_dtype bfloat16). A checkpoint whose
    /// optimizer keeps float32 master weights gives its HF weights as saved; restoring the
    /// optimizer then writes the master over them.
    static func resumableModel(_ dir: URL, device: Device) throws -> Llama {
        if AdapterCheckpoint.isAdapterFolder(dir) { return try resumableAdapterModel(dir, device: device) }
        guard let exact = RunDirectory.exactWeights(of: dir) else {
            try refuseRoundedResume(dir, what: "weights", restart: "the checkpoint")
            return try Checkpoint.load(dir, device: device)
        }
        let config = try LlamaConfig.load(dir.appendingPathComponent("config.json"))
        return try Llama(config: config, weights: try SafeTensors.loadFolder(exact), source: exact.path, dtype: .float32, device: device)
    }

    /// A checkpoint saved rounded (save_dtype bfloat16 below the training dtype) whose exact
    /// float32 copy is gone and whose optimizer keeps no master: resuming from the rounded values
    /// would silently leave the uninterrupted run's path.
    static func refuseRoundedResume(_ dir: URL, what: String, restart: String) throws {
        let trained = try TrainerState.read(from: dir).config
        guard !OptimizerCheckpoint.hasMasterWeights(dir), trained.saveDtype != .float32, trained.saveDtype != trained.dtype else { return }
        throw TrainingError.badState(path: dir.appendingPathComponent(RunDirectory.exactWeightsFolder).path,
                                     reason: "missing: the exact float32 \(what) are gone and the \(what) beside them were saved in bfloat16, so resuming "
                                         + "would not continue the run exactly; start a new output with model.from set to \(restart)")
    }

    /// Restores the optimizer's moments and the step from a checkpoint, after checking that
    /// resuming it feeds the same rows as the run that wrote it.
    func restore(from dir: URL) throws {
        let state = try TrainerState.read(from: dir)
        try checkLoRA(resuming: dir)
        changedSinceCheckpoint = try state.changes(resumingWith: config, worldSize: worldSize, trainRows: data.rows("train"),
                                                   tokenizerSHA256: data.manifest.tokenizerSHA256,
                                                   path: dir.appendingPathComponent(RunDirectory.stateFile).path)
        try optimizer.restore(from: try OptimizerCheckpoint(dir))
        step = state.step
    }
}
