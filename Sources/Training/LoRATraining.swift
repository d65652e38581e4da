import Common
import Foundation
import Models
import Torch

extension TrainConfig.LoRASpec {
    /// What the model needs of these settings.
    public var adapterConfig: LoRAConfig { LoRAConfig(rank: rank, alpha: alpha, dropout: dropout, targets: targets) }
}

/// Training low-rank adapters (`lora`): the base from `model.from` is frozen, only the adapters
/// go to the optimizer, and each checkpoint is a PEFT adapter folder (adapter_config.json naming
/// the base's absolute path, adapter_model.safetensors) with the adapters' optimizer state and
/// the trainer state: no base weights.
extension Trainer {
    /// The model a new run starts from: `model.from`'s, with fresh adapters attached when `lora`
    /// is set (A drawn from `model.seed`), or a model from scratch.
    static func startingModel(_ config: TrainConfig, scratch: () throws -> LlamaConfig, device: Device) throws -> Llama {
        guard let from = config.model.from else {
            return try Llama(config: try scratch(), generator: Generator(seed: config.model.seed), device: device)
        }
        let url = URL(fileURLWithPath: from)
        let dtype = try loadDType(config, folder: url)
        guard let lora = config.lora else { return try Checkpoint.load(url, dtype: dtype, device: device) }
        if AdapterCheckpoint.isAdapterFolder(url) {
            // PEFT and vLLM find adapters' base through one path; adapters on adapters have none.
            throw TrainingError.invalidConfig(source: "train config", key: "model.from",
                                              reason: "\(from) is an adapter folder; lora trains on a plain model: export it merged first (bcsft export \(from) --output DIR) and start from DIR")
        }
        let model = try Checkpoint.load(url, dtype: dtype, device: device)
        // In the base's dtype: the adapter terms add to its projections' outputs.
        try model.attach(LoRAAdapters(lora.adapterConfig, model: model.config, generator: Generator(seed: config.model.seed),
                                      dtype: model.weights["model.embed_tokens.weight"]!.dtype, device: device))
        return model
    }

    /// The dtype to read `model.from` in: the training dtype, so a bf16 run of a bf16 student
    /// never holds it in float32 (an 8B student is 32 GB so); float32 where the run keeps float32
    /// master weights and the folder's config.json says its weights are float32 (or does not say),
    /// so the master starts from the values the files hold.
    static func loadDType(_ config: TrainConfig, folder: URL) throws -> DType {
        guard config.keepsFloat32Master, config.lora == nil else { return config.dtype.dtype }
        let data = try Data(contentsOf: Checkpoint.modelConfigURL(folder))
        let stored = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["torch_dtype"] as? String
        return stored == "bfloat16" ? .bfloat16 : .float32
    }

    /// Reseeds the adapters' dropout for the step about to run, from the seed, the step and the
    /// rank: the masks depend on nothing a resume loses.
    func seedDropout() {
        guard let adapters = model.adapters, adapters.config.dropout > 0 else { return }
        var mix = SplitMix64(seed: config.seed &+ UInt64(step) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(rank) << 48)
        adapters.dropoutSeed = mix.next()
    }

    /// Writes the model part of a checkpoint: the HF folder, or the adapter folder with lora;
    /// in `dtype`, with the exact float32 copy that resume reads beside it when that rounds and
    /// `exactCopy` asks for it. `beforeCommit` adds the trainer's files.
    func saveModel(to dir: URL, dtype: DType, exactCopy: Bool, beforeCommit: (URL) throws -> Void) throws {
        let exact = { (tmp: URL) throws -> URL? in
            guard exactCopy else { return nil }
            let url = tmp.appendingPathComponent(RunDirectory.exactWeightsFolder)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            return url
        }
        guard let adapters = model.adapters else {
            try Checkpoint.save(model, to: dir, tokenizerFiles: tokenizerFiles, dtype: dtype, maxShardBytes: config.maxShardBytes) { tmp in
                if let e = try exact(tmp) { try SafeTensors.write(model.parameters, into: e, dtype: .float32, maxShardBytes: config.maxShardBytes) }
                try beforeCommit(tmp)
            }
            return
        }
        let base = try baseFolder()
        try AdapterCheckpoint.save(adapters, base: base, to: dir, tokenizerFiles: tokenizerFiles, dtype: dtype) { tmp in
            if let e = try exact(tmp) { try AdapterCheckpoint.writeWeights(adapters, into: e, dtype: .float32) }
            try beforeCommit(tmp)
        }
    }

    /// The base the adapters train on: the resumed checkpoint's (its adapter_config.json), else
    /// `model.from`, as an absolute path.
    func baseFolder() throws -> URL {
        if let r = resumedFrom, AdapterCheckpoint.isAdapterFolder(r) { return try AdapterCheckpoint.readConfig(r).base }
        return URL(fileURLWithPath: config.model.from ?? "").standardizedFileURL
    }

    /// An adapter checkpoint's model as training left it: its base with the float32 adapters
    /// attached (from fp32_weights/ when the adapters beside them were saved rounded).
    static func resumableAdapterModel(_ dir: URL, device: Device) throws -> Llama {
        if let exact = RunDirectory.exactWeights(of: dir), FileManager.default.fileExists(atPath: exact.appendingPathComponent(AdapterCheckpoint.weightsFile).path) {
            return try AdapterCheckpoint.loadUnmerged(dir, weights: exact, device: device)
        }
        try refuseRoundedResume(dir, what: "adapters", restart: "the merged export (bcsft export)")
        return try AdapterCheckpoint.loadUnmerged(dir, device: device)
    }

    /// A resume continues what the checkpoint trained: adapters of the same shape with lora set,
    /// the whole model without it.
    func checkLoRA(resuming dir: URL) throws {
        let path = dir.appendingPathComponent(RunDirectory.stateFile).path
        switch (model.adapters?.config, config.lora?.adapterConfig) {
        case (nil, nil): return
        case (nil, .some):
            throw TrainingError.badState(path: path, reason: "the checkpoint trained every weight and this run sets lora; to train adapters on it, start a new output with model.from set to it")
        case (.some, nil):
            throw TrainingError.badState(path: path, reason: "the checkpoint trained LoRA adapters and this run sets no lora; resume with the checkpoint's lora settings")
        case let (.some(was), .some(now)):
            var a = was, b = now
            a.targets.sort()
            b.targets.sort()
            if a != b {
                throw TrainingError.badState(path: path, reason: "lora is {rank: \(now.rank), alpha: \(now.alpha), dropout: \(now.dropout), targets: \(now.targets)} here but the checkpoint's "
                    + "adapters are {rank: \(was.rank), alpha: \(was.alpha), dropout: \(was.dropout), targets: \(was.targets)}; resume with the checkpoint's lora settings")
            }
        }
    }
}
