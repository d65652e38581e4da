import Foundation
import Models
import Torch
import Yams

/// `bcsft train --config FILE.yaml`: every setting of a run. Unknown keys are errors (a typo
/// must not silently fall back to a default); `--set a.b=c` overrides any key.
///
/// ```yaml
/// data: out/ds                 # a folder written by `bcsft dataset build`
/// output: runs/student         # checkpoints/, metrics.jsonl, resolved config
/// model:
///   from: path/to/hf-checkpoint  # or, from scratch:
///   config: {hidden_size: 256, intermediate_size: 688, num_hidden_layers: 4, num_attention_heads: 4}
/// steps: 1000
/// batch_size: 8                # rows per micro-batch
/// grad_accum: 1
/// lr: 3.0e-4
/// device: cpu                  # or cuda, cuda:N (a CUDA libtorch; data-parallel ranks use NCCL)
/// ```
public struct TrainConfig: Codable, Sendable, Equatable {
    public struct ModelSpec: Codable, Sendable, Equatable {
        /// An HF checkpoint folder to start from.
        public var from: String?
        /// HF config.json keys for a model from scratch (vocab_size defaults to the dataset's);
        /// only keys this Llama reads are accepted.
        public var config: [String: ConfigValue]?
        public var seed: UInt64 = 0
        enum CodingKeys: String, CodingKey { case from, config, seed }
        public init() {}
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            from = try c.decodeIfPresent(String.self, forKey: .from)
            config = try c.decodeIfPresent([String: ConfigValue].self, forKey: .config)
            seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0
        }
    }

    public var data: String
    public var output: String
    public var model = ModelSpec()
    public var steps: Int
    public var batchSize = 8
    public var gradAccum = 1
    public var lr = 3e-4
    public var minLR = 0.0
    public var warmupSteps = 0
    /// cosine, linear or constant (after warmup).
    public var schedule = "cosine"
    public var weightDecay = 0.1
    public var beta1 = 0.9
    public var beta2 = 0.95
    public var eps = 1e-8
    public var gradClip = 1.0
    public var seed: UInt64 = 0
    public var evalEvery = 0
    public var evalBatches = 8
    public var saveEvery = 0
    public var keepLast = 2
    public var logEvery = 1
    /// cpu, cuda or cuda:N. With "cuda" each data-parallel rank takes the GPU of its local rank.
    public var device = "cpu"

    enum CodingKeys: String, CodingKey, CaseIterable {
        case data, output, model, steps, schedule, eps, seed
        case batchSize = "batch_size", gradAccum = "grad_accum", lr, minLR = "min_lr", warmupSteps = "warmup_steps"
        case weightDecay = "weight_decay", beta1, beta2, gradClip = "grad_clip", evalEvery = "eval_every"
        case evalBatches = "eval_batches", saveEvery = "save_every", keepLast = "keep_last", logEvery = "log_every", device
    }

    public init(data: String, output: String, steps: Int) {
        self.data = data
        self.output = output
        self.steps = steps
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        data = try c.decode(String.self, forKey: .data)
        output = try c.decode(String.self, forKey: .output)
        steps = try c.decode(Int.self, forKey: .steps)
        model = try c.decodeIfPresent(ModelSpec.self, forKey: .model) ?? ModelSpec()
        func opt<T: Decodable>(_ k: CodingKeys, _ d: T) throws -> T { try c.decodeIfPresent(T.self, forKey: k) ?? d }
        batchSize = try opt(.batchSize, 8)
        gradAccum = try opt(.gradAccum, 1)
        lr = try opt(.lr, 3e-4)
        minLR = try opt(.minLR, 0)
        warmupSteps = try opt(.warmupSteps, 0)
        schedule = try opt(.schedule, "cosine")
        weightDecay = try opt(.weightDecay, 0.1)
        beta1 = try opt(.beta1, 0.9)
        beta2 = try opt(.beta2, 0.95)
        eps = try opt(.eps, 1e-8)
        gradClip = try opt(.gradClip, 1.0)
        seed = try opt(.seed, 0)
        evalEvery = try opt(.evalEvery, 0)
        evalBatches = try opt(.evalBatches, 8)
        saveEvery = try opt(.saveEvery, 0)
        keepLast = try opt(.keepLast, 2)
        logEvery = try opt(.logEvery, 1)
        device = try opt(.device, "cpu")
    }

    /// Reads YAML, applies `key=value` overrides (dotted keys reach into `model`), rejects
    /// unknown keys with the file and key named, and validates the values.
    public static func load(yaml text: String, source: String, overrides: [String] = []) throws -> TrainConfig {
        let loaded: Any?
        do { loaded = try Yams.load(yaml: text) } catch {
            throw TrainingError.invalidConfig(source: source, key: "-", reason: "not valid YAML: \(error)")
        }
        guard var root = (loaded ?? [String: Any]()) as? [String: Any] else {
            throw TrainingError.invalidConfig(source: source, key: "-", reason: "expected a mapping at the top level")
        }
        for o in overrides {
            guard let eq = o.firstIndex(of: "=") else { throw TrainingError.invalidConfig(source: "--set", key: o, reason: "expected key=value") }
            let key = String(o[..<eq]), raw = String(o[o.index(after: eq)...])
            let value = (try? Yams.load(yaml: raw)).flatMap { $0 } ?? raw
            let parts = key.split(separator: ".").map(String.init)
            root = set(root, parts[...], value)
        }
        try checkKeys(root, allowed: Set(CodingKeys.allCases.map(\.rawValue)), path: "", source: source)
        if let m = root["model"] as? [String: Any] {
            try checkKeys(m, allowed: ["from", "config", "seed"], path: "model.", source: source)
        }
        let config: TrainConfig
        do {
            let json = try JSONSerialization.data(withJSONObject: root)
            config = try JSONDecoder().decode(TrainConfig.self, from: json)
        } catch {
            guard let (key, reason) = TrainingError.decodingFailure(error) else { throw error }
            throw TrainingError.invalidConfig(source: source, key: key, reason: reason)
        }
        try config.validate(source: source)
        return config
    }

    static func set(_ dict: [String: Any], _ path: ArraySlice<String>, _ value: Any) -> [String: Any] {
        var d = dict
        guard let head = path.first else { return d }
        if path.count == 1 {
            d[head] = value
        } else {
            d[head] = set(d[head] as? [String: Any] ?? [:], path.dropFirst(), value)
        }
        return d
    }

    static func checkKeys(_ d: [String: Any], allowed: Set<String>, path: String, source: String) throws {
        for k in d.keys.sorted() where !allowed.contains(k) {
            throw TrainingError.invalidConfig(source: source, key: path + k, reason: "unknown key (known: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    public func validate(source: String = "config") throws {
        func bad(_ k: String, _ r: String) -> TrainingError { .invalidConfig(source: source, key: k, reason: r) }
        if steps <= 0 { throw bad("steps", "must be positive") }
        if batchSize <= 0 { throw bad("batch_size", "must be positive") }
        if gradAccum <= 0 { throw bad("grad_accum", "must be positive") }
        if !(lr > 0) { throw bad("lr", "must be positive") }
        if minLR < 0 || minLR > lr { throw bad("min_lr", "must lie in [0, lr]") }
        if warmupSteps < 0 { throw bad("warmup_steps", "must be >= 0") }
        if !["cosine", "linear", "constant"].contains(schedule) { throw bad("schedule", "'\(schedule)' is not cosine, linear or constant") }
        if gradClip < 0 { throw bad("grad_clip", "must be >= 0 (0 disables clipping)") }
        if keepLast < 1 { throw bad("keep_last", "must be at least 1") }
        do { _ = try Device.parse(device) } catch let e as TorchError { throw bad("device", e.message) }
        if (model.from == nil) == (model.config == nil) { throw bad("model", "give exactly one of model.from (a checkpoint) and model.config (from scratch)") }
        // A misspelt HF key would otherwise fall back to its default without a word.
        for k in (model.config ?? [:]).keys.sorted() where !LlamaConfig.understoodKeys.contains(k) {
            throw bad("model.config.\(k)", "not a Llama config.json key this model reads (known: \(LlamaConfig.understoodKeys.sorted().joined(separator: ", ")))")
        }
    }

    /// Learning rate at optimizer step `step` (1-based): linear warmup, then the schedule.
    public func learningRate(at step: Int) -> Double {
        if warmupSteps > 0, step <= warmupSteps { return lr * Double(step) / Double(warmupSteps) }
        let span = max(1, steps - warmupSteps)
        let t = min(1, Double(step - warmupSteps) / Double(span))
        switch schedule {
        case "linear": return lr + (minLR - lr) * t
        case "constant": return lr
        default: return minLR + 0.5 * (lr - minLR) * (1 + Foundation.cos(Double.pi * t))
        }
    }
}

public enum TrainingError: LocalizedError, Equatable {
    case invalidConfig(source: String, key: String, reason: String)
    /// `what` went non-finite at `step`; `newest` is the newest checkpoint and `resumable` the
    /// newest one saved before step-1 (whose weights did not give this value).
    case nonFiniteLoss(step: Int, loss: Double, what: String, newest: String?, resumable: String?)
    case outputHasCheckpoints(output: String, newest: String)
    case badState(path: String, reason: String)
    case noData(String)

    public var errorDescription: String? {
        switch self {
        case let .invalidConfig(source, key, reason): "\(source): key '\(key)': \(reason)"
        case let .nonFiniteLoss(step, loss, what, newest, resumable):
            "\(what) became \(loss) at step \(step): training stopped before applying that update, so no checkpoint holds it. "
                + (newest.map { resumable == $0 ? "" : "\($0) holds the weights that gave it (resuming it repeats the step). " } ?? "")
                + (resumable.map { "Continue from \($0) with a lower lr or a longer warmup: bcsft train ... --resume-from \($0) --set lr=..." }
                    ?? "No earlier checkpoint is kept (save_every, keep_last); start again in a new output folder with a lower lr or a longer warmup.")
        case let .outputHasCheckpoints(output, newest):
            "\(output) already holds checkpoints of a run (newest: \(newest)): pass --resume to continue it, or choose another output folder to start afresh"
        case let .badState(path, reason): "\(path): trainer state unusable: \(reason)"
        case let .noData(m): m
        }
    }
}

extension TrainingError {
    /// The field a decoding error names (dotted path) and what is wrong with it; nil for other errors.
    static func decodingFailure(_ error: Error) -> (field: String, reason: String)? {
        func path(_ keys: [CodingKey]) -> String { keys.map(\.stringValue).joined(separator: ".") }
        switch error {
        case let DecodingError.keyNotFound(k, ctx): return (path(ctx.codingPath + [k]), "missing")
        case let DecodingError.typeMismatch(t, ctx): return (path(ctx.codingPath), "expected \(t)")
        case let DecodingError.valueNotFound(_, ctx): return (path(ctx.codingPath), "null")
        case let DecodingError.dataCorrupted(ctx): return (path(ctx.codingPath), ctx.debugDescription)
        default: return nil
        }
    }
}
