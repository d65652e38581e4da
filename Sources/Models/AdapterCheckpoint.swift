import Common
import Crypto
import Foundation
import Torch

/// PEFT's adapter folders: adapter_config.json (peft_type LORA, r, lora_alpha, target_modules,
/// base_model_name_or_path, ...) and adapter_model.safetensors (PEFT's tensor names), with no
/// base weights: what `PeftModel.from_pretrained(base, folder)` and vLLM's `--lora-modules`
/// load, and what a LoRA run's checkpoints are. The base is found through
/// base_model_name_or_path: absolute, or relative to the adapter folder.
public enum AdapterCheckpoint {
    public static let configFile = "adapter_config.json"
    public static let weightsFile = "adapter_model.safetensors"

    /// Whether `dir` is an adapter folder (it holds adapter_config.json).
    public static func isAdapterFolder(_ dir: URL) -> Bool {
        FileManager.default.fileExists(atPath: dir.appendingPathComponent(configFile).path)
    }

    /// adapter_config.json as PEFT writes it for these adapters on the base at `base` (absolute).
    public static func configJSON(_ lora: LoRAConfig, base: URL) throws -> Data {
        // PEFT writes lora_alpha as an int; an integral alpha stays one.
        let alpha: Any = lora.alpha == lora.alpha.rounded() && abs(lora.alpha) < 1e15 ? Int(lora.alpha) : lora.alpha
        let json: [String: Any] = [
            "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": lora.rank, "lora_alpha": alpha, "lora_dropout": lora.dropout,
            "target_modules": lora.orderedTargets, "base_model_name_or_path": base.absoluteURL.standardizedFileURL.path,
            "bias": "none", "lora_bias": false, "fan_in_fan_out": false, "inference_mode": true, "use_rslora": false, "use_dora": false,
            "init_lora_weights": true, "modules_to_save": NSNull(), "layers_to_transform": NSNull(), "layers_pattern": NSNull(),
            "rank_pattern": [String: Any](), "alpha_pattern": [String: Any](), "revision": NSNull(),
        ]
        return try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
    }

    /// An adapter folder's settings and the base folder they adapt. Settings this model cannot
    /// apply (DoRA, rslora, per-module ranks, other bias modes, extra trained modules) are errors
    /// naming the key, as is a base that is not there.
    public static func readConfig(_ dir: URL) throws -> (lora: LoRAConfig, base: URL) {
        let url = dir.appendingPathComponent(configFile)
        let path = url.path
        let any: Any
        do { any = try JSONSerialization.jsonObject(with: try Data(contentsOf: url)) } catch {
            throw ModelError.invalidConfig(path: path, field: "-", reason: "cannot be read as JSON: \(error.localizedDescription)")
        }
        guard let j = any as? [String: Any] else { throw ModelError.invalidConfig(path: path, field: "-", reason: "not a JSON object") }
        func bad(_ key: String, _ reason: String) -> ModelError { .invalidConfig(path: path, field: key, reason: reason) }
        if let t = j["peft_type"] as? String, t != "LORA" { throw bad("peft_type", "'\(t)' adapters are not supported (LORA only)") }
        guard let r = j["r"] as? Int, r >= 1 else { throw bad("r", "missing or not a positive integer") }
        guard let alpha = (j["lora_alpha"] as? NSNumber)?.doubleValue, alpha > 0 else { throw bad("lora_alpha", "missing or not a positive number") }
        let dropout = (j["lora_dropout"] as? NSNumber)?.doubleValue ?? 0
        guard let targets = j["target_modules"] as? [String], !targets.isEmpty else {
            throw bad("target_modules", "must list module names (\(LoRAConfig.knownTargets.joined(separator: ", "))); a regular expression is not supported")
        }
        for t in targets where !LoRAConfig.knownTargets.contains(t) {
            throw bad("target_modules", "'\(t)' is not a projection of this model (known: \(LoRAConfig.knownTargets.joined(separator: ", ")))")
        }
        for key in ["use_dora", "use_rslora", "fan_in_fan_out", "lora_bias", "use_qalora"] where (j[key] as? Bool) == true { throw bad(key, "true is not supported") }
        if let b = j["bias"] as? String, b != "none" { throw bad("bias", "'\(b)' is not supported (none)") }
        for key in ["modules_to_save", "layers_to_transform", "layer_replication", "target_parameters", "trainable_token_indices"] where j[key] != nil && !(j[key] is NSNull) { throw bad(key, "is not supported (null)") }
        for key in ["rank_pattern", "alpha_pattern"] where !((j[key] as? [String: Any])?.isEmpty ?? true) { throw bad(key, "per-module ranks are not supported ({})") }
        guard let basePath = j["base_model_name_or_path"] as? String, !basePath.isEmpty else {
            throw bad("base_model_name_or_path", "missing: the base model folder the adapters apply to")
        }
        let base = basePath.hasPrefix("/") ? URL(fileURLWithPath: basePath) : dir.appendingPathComponent(basePath)
        guard FileManager.default.fileExists(atPath: base.appendingPathComponent("config.json").path) else {
            throw bad("base_model_name_or_path", "'\(basePath)' is not a model folder here (no \(base.appendingPathComponent("config.json").path)); "
                + "it must name the base checkpoint's folder, absolute or relative to the adapter folder")
        }
        return (LoRAConfig(rank: r, alpha: alpha, dropout: dropout, targets: targets), base.standardizedFileURL)
    }

    /// The base model with the folder's adapters attached (not merged: what a resumed run
    /// trains). `weights`: the folder holding adapter_model.safetensors (default `dir`).
    public static func loadUnmerged(_ dir: URL, weights: URL? = nil, dtype: DType = .float32, device: Device = .cpu) throws -> Llama {
        let (lora, base) = try readConfig(dir)
        let model = try Checkpoint.load(base, dtype: dtype, device: device)
        let file = (weights ?? dir).appendingPathComponent(weightsFile)
        let adapters = try LoRAAdapters(lora, model: model.config, weights: try SafeTensors.load(file), source: file.path, dtype: dtype, device: device)
        try model.attach(adapters)
        return model
    }

    /// Writes an adapter folder atomically (replacing only a trainer's checkpoint): the config,
    /// the adapters in `dtype` and the tokenizer's files. `beforeCommit` adds the trainer's files.
    public static func save(_ adapters: LoRAAdapters, base: URL, to dir: URL, tokenizerFiles: [String: Data] = [:], dtype: DType = .float32,
                            beforeCommit: (URL) throws -> Void = { _ in }) throws {
        guard Checkpoint.exportDTypes[dtype] != nil else {
            throw ModelError.unsupported("saving adapters as \(dtype) (float32, bfloat16 or float16)")
        }
        try AtomicDirectory.write(to: dir, owns: { FileManager.default.fileExists(atPath: $0.appendingPathComponent("trainer_state.json").path) },
                                  what: "a training checkpoint (it holds no trainer_state.json)") { tmp in
            try configJSON(adapters.config, base: base).write(to: tmp.appendingPathComponent(configFile))
            try writeWeights(adapters, into: tmp, dtype: dtype)
            for (name, data) in tokenizerFiles { try data.write(to: tmp.appendingPathComponent(name)) }
            try beforeCommit(tmp)
        }
    }

    /// adapter_model.safetensors in `dir`, each tensor as `dtype`.
    public static func writeWeights(_ adapters: LoRAAdapters, into dir: URL, dtype: DType) throws {
        var tensors: [String: Tensor] = [:]
        for (name, t) in adapters.parameters { tensors[name] = try withNoGrad { try t.detach().to(dtype).to(.cpu) } }
        try SafeTensors.save(tensors, to: dir.appendingPathComponent(weightsFile))
    }

    /// What identifies an adapter folder's answers: its settings without the base's path (a
    /// moved base is the same model), the adapter weights and tokenizer files, and the base's
    /// own fingerprint.
    static func fingerprint(_ dir: URL) throws -> String {
        let url = dir.appendingPathComponent(configFile)
        var json = try JSONSerialization.jsonObject(with: try Data(contentsOf: url)) as? [String: Any] ?? [:]
        json["base_model_name_or_path"] = nil
        var h = SHA256()
        h.update(data: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]))
        h.update(data: Data(try Checkpoint.fingerprint(try readConfig(dir).base).utf8))
        h.update(data: Data(try Checkpoint.contentHash(dir, names: { $0 == weightsFile || Checkpoint.tokenizerFileNames.contains($0) }).utf8))
        return h.finalize().prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}
