import Common
import Crypto
import Foundation
import Torch

/// HF-style checkpoint folders: config.json, model.safetensors or its shards with
/// model.safetensors.index.json (HF tensor names), generation_config.json and, when given, the
/// tokenizer's files (tokenizer.model, or tokenizer.json and tokenizer_config.json). What
/// `LlamaForCausalLM.from_pretrained` loads, and what it saves.
public enum Checkpoint {
    /// Loads a Llama from a folder (single or sharded safetensors), converting to `dtype`, onto
    /// `device`. Files are read on the CPU; a saved folder is the same whichever device wrote it.
    /// An adapter folder (`AdapterCheckpoint`) loads its base with the adapters merged in.
    public static func load(_ dir: URL, dtype: DType = .float32, device: Device = .cpu) throws -> Llama {
        if AdapterCheckpoint.isAdapterFolder(dir) { return try AdapterCheckpoint.loadUnmerged(dir, dtype: dtype, device: device).merged() }
        let config = try LlamaConfig.load(dir.appendingPathComponent("config.json"))
        var weights = try SafeTensors.loadFolder(dir)
        // Converted one tensor at a time, each file tensor released as its copy is made: a bf16
        // folder loaded in fp32 never holds both copies whole.
        for name in Array(weights.keys) where weights[name]!.dtype != dtype && weights[name]!.dtype.isFloatingPoint {
            weights[name] = try weights[name]!.to(dtype)
        }
        return try Llama(config: config, weights: weights, source: dir.path, dtype: dtype, device: device)
    }

    /// The dtypes a checkpoint's weights can be exported in, with config.json's name for each.
    public static let exportDTypes: [DType: String] = [.float32: "float32", .bfloat16: "bfloat16", .float16: "float16"]

    /// The tokenizer files a folder may hold; they decide its answers as much as the weights do.
    static let tokenizerFileNames: Set<String> = ["tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja", "bcsft_chat_template.json"]

    /// A short content hash of a checkpoint folder (config, every weight file, tokenizer): what
    /// identifies a model's answers, whatever the folder is called. Reads the files in chunks.
    /// An adapter folder's covers its base's too.
    public static func fingerprint(_ dir: URL) throws -> String {
        if AdapterCheckpoint.isAdapterFolder(dir) { return try AdapterCheckpoint.fingerprint(dir) }
        return try contentHash(dir) { $0.hasSuffix(".safetensors") || $0 == "config.json" || tokenizerFileNames.contains($0) }
    }

    /// The config.json that describes a folder's model: its own, or an adapter folder's base's.
    public static func modelConfigURL(_ dir: URL) throws -> URL {
        let base = try AdapterCheckpoint.isAdapterFolder(dir) ? AdapterCheckpoint.readConfig(dir).base : dir
        return base.appendingPathComponent("config.json")
    }

    /// The folder whose tokenizer a model folder uses: its own, or, for an adapter folder without
    /// one (PEFT saves none), its base's, as PEFT and vLLM fall back to the base's.
    public static func tokenizerFolder(_ dir: URL) throws -> URL {
        let own = ["tokenizer.json", "tokenizer.model"].contains { FileManager.default.fileExists(atPath: dir.appendingPathComponent($0).path) }
        return try !own && AdapterCheckpoint.isAdapterFolder(dir) ? AdapterCheckpoint.readConfig(dir).base : dir
    }

    /// A short hash of the names and contents of a folder's top-level files that `names` selects.
    static func contentHash(_ dir: URL, names select: (String) -> Bool) throws -> String {
        let fm = FileManager.default
        let names = try fm.contentsOfDirectory(atPath: dir.path).filter(select).sorted()
        var h = SHA256()
        for name in names {
            h.update(data: Data(name.utf8))
            let handle = try FileHandle(forReadingFrom: dir.appendingPathComponent(name))
            defer { try? handle.close() }
            while let chunk = try handle.read(upToCount: 16 << 20), !chunk.isEmpty { h.update(data: chunk) }
        }
        return h.finalize().prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// Writes a folder atomically: everything goes to a temporary sibling that replaces
    /// `dir` only once complete.
    /// `beforeCommit` may add files (trainer state) to the folder before it is moved into place.
    /// `tokenizerFiles`: the tokenizer's files by name (`Tokenizer.files`), written beside the weights.
    /// `dtype`: the weights' dtype in the files (float32, bfloat16 or float16), whatever the
    /// model's; config.json's torch_dtype says it. `maxShardBytes`: above this, the weights are
    /// split into shards with an index (`ShardPlan`). Tensors are converted and written a slice
    /// at a time (`SafeTensors.write`), so the save needs a few MB beyond the model.
    public static func save(_ model: Llama, to dir: URL, tokenizerFiles: [String: Data] = [:], dtype: DType = .float32,
                            maxShardBytes: Int = ShardPlan.defaultMaxShardBytes,
                            beforeCommit: (URL) throws -> Void = { _ in }) throws {
        guard let hfDType = exportDTypes[dtype] else {
            throw ModelError.unsupported("exporting weights as \(dtype) (float32, bfloat16 or float16)")
        }
        guard maxShardBytes > 0 else {
            throw ModelError.cannotWrite(path: dir.path, reason: "the largest shard size must be positive, got \(maxShardBytes) bytes")
        }
        // Only a trainer's checkpoint is replaced (a resumed run saving a step again); an HF
        // folder at the path (a base model) is the user's.
        try AtomicDirectory.write(to: dir, owns: { FileManager.default.fileExists(atPath: $0.appendingPathComponent("trainer_state.json").path) },
                                  what: "a training checkpoint (it holds no trainer_state.json)") { tmp in
            try write(model, into: tmp, tokenizerFiles: tokenizerFiles, dtype: dtype, hfDType: hfDType, maxShardBytes: maxShardBytes)
            try beforeCommit(tmp)
        }
    }

    /// Writes `checkpoint` (an HF folder, a trainer's checkpoint, or an adapter folder, merged
    /// into its base) to `output` as a plain HF folder with its tokenizer files, in `dtype`,
    /// sharded above `maxShardBytes`. `output` must be new or empty. `exactWeights`: a folder
    /// with the checkpoint's float32 weights (or adapters) when those beside them are rounded.
    public static func export(_ checkpoint: URL, to output: URL, dtype: DType = .float32, maxShardBytes: Int = ShardPlan.defaultMaxShardBytes,
                              exactWeights: URL? = nil) throws {
        guard output.standardizedFileURL.resolvingSymlinksInPath() != checkpoint.standardizedFileURL.resolvingSymlinksInPath() else {
            throw ModelError.cannotWrite(path: output.path, reason: "the output is the checkpoint being exported; name another folder")
        }
        let model: Llama
        if AdapterCheckpoint.isAdapterFolder(checkpoint) {
            model = try AdapterCheckpoint.loadUnmerged(checkpoint, weights: exactWeights).merged()
        } else if let exactWeights {
            model = try Llama(config: try LlamaConfig.load(checkpoint.appendingPathComponent("config.json")),
                              weights: try SafeTensors.loadFolder(exactWeights), source: exactWeights.path)
        } else {
            model = try load(checkpoint)
        }
        let tokenizer = try tokenizerFolder(checkpoint)
        var files: [String: Data] = [:]
        for name in tokenizerFileNames {
            let url = tokenizer.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: url.path) { files[name] = try Data(contentsOf: url) }
        }
        try save(model, to: output, tokenizerFiles: files, dtype: dtype, maxShardBytes: maxShardBytes)
    }

    static func write(_ model: Llama, into tmp: URL, tokenizerFiles: [String: Data], dtype: DType, hfDType: String, maxShardBytes: Int) throws {
        try model.config.hfJSON(dtype: hfDType).write(to: tmp.appendingPathComponent("config.json"))
        try SafeTensors.write(model.parameters, into: tmp, dtype: dtype, maxShardBytes: maxShardBytes)
        // Every eos id (a list for Llama 3.x), so serving stacks stop where this model does.
        var gen: [String: Any] = ["_from_model_config": true]
        if let b = model.config.bosTokenID { gen["bos_token_id"] = b }
        if let e = model.config.eosTokenJSON { gen["eos_token_id"] = e }
        try JSONSerialization.data(withJSONObject: gen, options: [.prettyPrinted, .sortedKeys])
            .write(to: tmp.appendingPathComponent("generation_config.json"))
        for (name, data) in tokenizerFiles { try data.write(to: tmp.appendingPathComponent(name)) }
    }
}
