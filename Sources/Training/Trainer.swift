import Datasets
import Foundation
import Models
import Torch

/// The SFT loop: packed rows in, loss on masked tokens normalised by the number of loss tokens
/// across gradient accumulation, AdamW with decay on matrices only, warmup then cosine or
/// linear decay, clipping, periodic validation and checkpoints, exact resume.
public final class Trainer {
    public struct Metrics: Codable, Sendable, Equatable {
        public var step: Int
        public var loss: Double
        public var lr: Double
        public var gradNorm: Double
        public var lossTokens: Int
        public var tokensPerSecond: Double
        public var valLoss: Double?
        enum CodingKeys: String, CodingKey {
            case step, loss, lr, valLoss = "val_loss", gradNorm = "grad_norm", lossTokens = "loss_tokens", tokensPerSecond = "tokens_per_s"
        }
    }

    public enum Event: Sendable {
        /// `changed`: settings that differ from the checkpoint's ("lr: 0.003 -> 0.001").
        case resumed(step: Int, from: String, changed: [String])
        case step(Metrics, of: Int)
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
    let data: PackedDataset
    let optimizer: AdamW
    var source: BatchSource
    let output: URL
    let tokenizerModel: Data?
    /// Data parallelism: each rank takes its slice of every micro-batch, gradients and counts
    /// are summed across ranks, and only rank 0 writes. nil: one process.
    let group: ProcessGroup?
    var rank: Int { group?.rank ?? 0 }
    var worldSize: Int { group?.worldSize ?? 1 }

    var checkpointsDir: URL { output.appendingPathComponent("checkpoints") }
    var metricsURL: URL { output.appendingPathComponent("metrics.jsonl") }

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
        output = URL(fileURLWithPath: config.output)
        data = try PackedDataset(directory: URL(fileURLWithPath: config.data), tokenizerSHA256: nil)
        tokenizerModel = try? Data(contentsOf: data.tokenizerURL)
        source = try BatchSource(data: data, split: "train", seed: config.seed)
        let checkpoints = output.appendingPathComponent("checkpoints")
        try FileManager.default.createDirectory(at: checkpoints, withIntermediateDirectories: true)

        let newest = Self.latestCheckpoint(in: checkpoints)
        if !resume, resumeFrom == nil, let newest {
            throw TrainingError.outputHasCheckpoints(output: config.output, newest: newest.lastPathComponent)
        }
        let latest = try resumeFrom.map { try Self.checkedCheckpoint($0) } ?? (resume ? newest : nil)
        if let latest {
            model = try Checkpoint.load(latest, device: device)
        } else if let from = config.model.from {
            model = try Checkpoint.load(URL(fileURLWithPath: from), device: device)
        } else {
            model = try Llama(config: try Self.scratchConfig(config, data.manifest), generator: Generator(seed: config.model.seed), device: device)
        }
        guard model.config.vocabSize >= data.manifest.vocabularySize else {
            throw TrainingError.invalidConfig(source: "model", key: "vocab_size",
                                              reason: "\(model.config.vocabSize) is smaller than the dataset's tokenizer (\(data.manifest.vocabularySize))")
        }
        // Weight decay on matrices (projections, embeddings), none on norm weights.
        optimizer = try AdamW(.init(learningRate: config.lr, beta1: config.beta1, beta2: config.beta2, eps: config.eps,
                                    weightDecay: config.weightDecay))
        let params = model.parameters
        try optimizer.addGroup(params.filter { $0.1.rank >= 2 }.map(\.1), weightDecay: config.weightDecay)
        try optimizer.addGroup(params.filter { $0.1.rank < 2 }.map(\.1), weightDecay: 0)
        if let latest { try restoreState(from: latest) }
        resumedFrom = latest
        if let latest, resumeFrom != nil, group?.rank ?? 0 == 0 { try supersedeAfter(step, resumedFrom: latest) }
        if let group {
            // Every rank starts from rank 0's weights (identical anyway when seeded alike).
            for (_, w) in model.parameters { try withNoGrad { try group.broadcast(w, root: 0) } }
        }
        if group?.rank ?? 0 == 0 {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try enc.encode(config).write(to: output.appendingPathComponent("config.resolved.json"), options: .atomic)
        }
    }

    /// The device a rank trains on: `config.device`, with "cuda" meaning the local rank's GPU.
    /// A device this process cannot use is a config error naming the key.
    public static func device(for config: TrainConfig, localRank: Int = 0, source: String = "train config") throws -> Device {
        do { return try Device.resolve(config.device, defaultIndex: localRank) } catch let e as TorchError {
            throw TrainingError.invalidConfig(source: source, key: "device", reason: e.message)
        }
    }

    /// Names of optimizer parameters in the order the groups were added.
    var optimizerNames: [String] {
        let p = model.parameters
        return p.filter { $0.1.rank >= 2 }.map(\.0) + p.filter { $0.1.rank < 2 }.map(\.0)
    }

    static func scratchConfig(_ c: TrainConfig, _ m: Manifest) throws -> LlamaConfig {
        var d = (c.model.config ?? [:]).mapValues(\.json)
        d["vocab_size"] = d["vocab_size"] ?? m.vocabularySize
        d["max_position_embeddings"] = d["max_position_embeddings"] ?? max(m.seqLen, 2048)
        d["eos_token_id"] = d["eos_token_id"] ?? Int(m.eosID)
        return try LlamaConfig.decode(try JSONSerialization.data(withJSONObject: d), source: "model.config")
    }

    static func latestCheckpoint(in dir: URL) -> URL? {
        checkpoints(in: dir).last.map(\.url)
    }

    /// The complete checkpoints in `dir` (step-N folders with a trainer state), oldest first.
    static func checkpoints(in dir: URL) -> [(step: Int, url: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.compactMap { name -> (Int, URL)? in
            guard name.hasPrefix("step-"), let n = Int(name.dropFirst(5)),
                  FileManager.default.fileExists(atPath: dir.appendingPathComponent("\(name)/trainer_state.json").path) else { return nil }
            return (n, dir.appendingPathComponent(name))
        }.sorted { $0.0 < $1.0 }
    }

    /// A folder `--resume-from` can continue: a checkpoint this trainer wrote.
    static func checkedCheckpoint(_ dir: URL) throws -> URL {
        let state = dir.appendingPathComponent("trainer_state.json")
        guard FileManager.default.fileExists(atPath: state.path) else {
            throw TrainingError.badState(path: dir.path, reason: "not a training checkpoint (no trainer_state.json); to fine-tune an HF folder, set model.from")
        }
        return dir.standardizedFileURL
    }

    /// After `--resume-from`: moves the output's checkpoints from `step` on (but the one
    /// resumed) and the metrics lines past `step` into a folder of their own,
    /// `superseded/from-step-NNNNNN[.k]/`, so the continued run neither resumes nor prunes them,
    /// one abandoned branch is never mixed with another, and nothing of it is lost.
    func supersedeAfter(_ step: Int, resumedFrom: URL) throws {
        let fm = FileManager.default
        let moved = Self.checkpoints(in: checkpointsDir).filter {
            $0.step >= step && $0.url.standardizedFileURL.path != resumedFrom.standardizedFileURL.path
        }
        let (kept, later) = Self.splitMetrics((try? String(contentsOf: metricsURL, encoding: .utf8)) ?? "", after: step)
        guard !moved.isEmpty || !later.isEmpty else { return }
        let base = output.appendingPathComponent("superseded").appendingPathComponent(String(format: "from-step-%06d", step))
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
            try (later.joined(separator: "\n") + "\n").write(to: aside.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
            try (kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).write(to: metricsURL, atomically: true, encoding: .utf8)
        }
        for (_, url) in moved { try fm.moveItem(at: url, to: aside.appendingPathComponent(url.lastPathComponent)) }
    }

    /// Trains until `config.steps` (or `stopAfter` steps in this call, for tests), or until
    /// `shouldStop` returns true between steps (Ctrl-C in a recipe; resume continues from the
    /// last checkpoint). Each step's metrics go to metrics.jsonl as it finishes.
    public func run(stopAfter: Int? = nil, progress: (Event) -> Void = { _ in }, shouldStop: () -> Bool = { false }) throws {
        let params = model.parameters.map(\.1)
        let metricsHandle = rank == 0 ? try openMetrics() : nil
        defer { try? metricsHandle?.close() }
        if step > 0, let from = resumedFrom { progress(.resumed(step: step, from: from.path, changed: changedSinceCheckpoint)) }
        let end = min(config.steps, stopAfter.map { step + $0 } ?? config.steps)
        while step < end, !shouldStop() {
            let started = DispatchTime.now().uptimeNanoseconds
            let stepNumber = step + 1
            let lr = config.learningRate(at: stepNumber)
            // Gather the accumulation window first so the loss is normalised by its total loss
            // tokens (over all ranks). Micro-batch a spans rows [a*G, (a+1)*G) of the step's
            // window, G = batch_size * world_size; rank r takes its batch_size slice of it.
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
                    let logits = try model.forward(m.ids, positions: m.positions, documentIDs: m.documents)
                    let ce = try crossEntropy(logits.view([-1, model.config.vocabSize]), m.targets.view([-1]), reduction: .sum)
                    try (ce / Double(total)).backward()
                    lossSum += try ce.item()
                }
            }
            if let group {
                lossSum = try allReduced(lossSum, group)
                // One flat all-reduce of every gradient: the sum over ranks is the gradient of
                // the global loss, since each rank divided by the global token count.
                try group.allReduceSum(try params.compactMap { try $0.grad })
            }
            let loss = total > 0 ? lossSum / Double(total) : 0
            let norm = try clipGradNorm(params, maxNorm: config.gradClip > 0 ? config.gradClip : .greatestFiniteMagnitude)
            guard loss.isFinite, norm.isFinite else {
                // Stopped before the update, so every checkpoint holds finite weights; but the one
                // saved after step k-1 is exactly what gave this loss, and resuming it repeats it.
                let kept = Self.checkpoints(in: checkpointsDir)
                throw TrainingError.nonFiniteLoss(step: stepNumber, loss: loss.isFinite ? norm : loss, what: loss.isFinite ? "gradient norm" : "loss",
                                                  newest: kept.last?.url.path,
                                                  resumable: kept.last { $0.step < stepNumber - 1 }?.url.path)
            }
            try optimizer.step(learningRate: lr)
            step = stepNumber
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            var metrics = Metrics(step: step, loss: loss, lr: lr, gradNorm: norm, lossTokens: total,
                                  tokensPerSecond: Double(micro.count * config.batchSize * data.manifest.seqLen) / seconds, valLoss: nil)
            metrics.tokensPerSecond *= Double(worldSize)
            guard rank == 0 else { continue }
            if config.evalEvery > 0, step % config.evalEvery == 0 || step == config.steps { metrics.valLoss = try validationLoss() }
            if step % max(1, config.logEvery) == 0 || step == config.steps || metrics.valLoss != nil {
                try metricsHandle?.write(contentsOf: Data((try Self.jsonLine(metrics)).utf8))
            }
            progress(.step(metrics, of: config.steps))
            if (config.saveEvery > 0 && step % config.saveEvery == 0) || step == config.steps {
                progress(.checkpoint(try saveCheckpoint().path))
            }
        }
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
                let logits = try model.forward(b.ids, positions: b.positions, documentIDs: b.documents)
                sum += try crossEntropy(logits.view([-1, model.config.vocabSize]), b.targets.view([-1]), reduction: .sum).item()
                tokens += b.lossTokens
            }
            return tokens > 0 ? sum / Double(tokens) : nil
        }
    }

    static func jsonLine(_ m: Metrics) throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return String(decoding: try enc.encode(m), as: UTF8.self) + "\n"
    }

    /// Opens metrics.jsonl for appending, first dropping lines past the current step (what a
    /// killed run wrote after its last checkpoint), so the file never holds a step twice.
    func openMetrics() throws -> FileHandle {
        let fm = FileManager.default
        if let text = try? String(contentsOf: metricsURL, encoding: .utf8) {
            let kept = Self.splitMetrics(text, after: step).kept
            try (kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).write(to: metricsURL, atomically: true, encoding: .utf8)
        } else {
            guard fm.createFile(atPath: metricsURL.path, contents: nil) else {
                throw TrainingError.badState(path: metricsURL.path, reason: "cannot create the metrics file")
            }
        }
        let h = try FileHandle(forWritingTo: metricsURL)
        try h.seekToEnd()
        return h
    }

    /// metrics.jsonl's lines up to `step`, and the rest (later steps, and lines that do not parse).
    static func splitMetrics(_ text: String, after step: Int) -> (kept: [Substring], later: [Substring]) {
        var kept: [Substring] = [], later: [Substring] = []
        for line in text.split(separator: "\n") {
            if let m = try? JSONDecoder().decode(Metrics.self, from: Data(line.utf8)), m.step <= step { kept.append(line) } else { later.append(line) }
        }
        return (kept, later)
    }

    struct State: Codable {
        var step: Int
        var rowsConsumed: Int
        var tokenizerSHA256: String
        var config: TrainConfig
        /// Absent in checkpoints written before they were recorded.
        var worldSize: Int?
        var trainRows: Int?
        enum CodingKeys: String, CodingKey {
            case step, config, rowsConsumed = "rows_consumed", tokenizerSHA256 = "tokenizer_sha256", worldSize = "world_size", trainRows = "train_rows"
        }
    }

    /// Writes checkpoints/step-NNNNNN (HF folder + optimizer.pt + trainer_state.json)
    /// atomically and keeps the last `keepLast`.
    func saveCheckpoint() throws -> URL {
        let dir = checkpointsDir.appendingPathComponent(String(format: "step-%06d", step))
        let names = optimizerNames
        try Checkpoint.save(model, to: dir, tokenizerModel: tokenizerModel) { tmp in
            var tensors: [(String, Tensor)] = []
            for (i, name) in names.enumerated() {
                let s = try optimizer.state(of: i)
                guard let m = s.expAvg, let v = s.expAvgSq else { continue }
                tensors += [("exp_avg/\(name)", m), ("exp_avg_sq/\(name)", v), ("step/\(name)", try Tensor([Int64(s.step)]))]
            }
            try TensorFile.save(tensors, to: tmp.appendingPathComponent("optimizer.pt").path)
            let state = State(step: step, rowsConsumed: step * config.gradAccum * config.batchSize * worldSize,
                              tokenizerSHA256: data.manifest.tokenizerSHA256, config: config, worldSize: worldSize,
                              trainRows: data.rows("train"))
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try enc.encode(state).write(to: tmp.appendingPathComponent("trainer_state.json"))
        }
        for (_, old) in Self.checkpoints(in: checkpointsDir).dropLast(config.keepLast) { try? FileManager.default.removeItem(at: old) }
        return dir
    }

    func restoreState(from dir: URL) throws {
        let path = dir.appendingPathComponent("trainer_state.json").path
        let state: State
        do { state = try JSONDecoder().decode(State.self, from: try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw TrainingError.badState(path: path, reason: "cannot be read: " + (TrainingError.decodingFailure(error).map { "field '\($0.field)': \($0.reason)" }
                                                                                  ?? error.localizedDescription))
        }
        guard state.tokenizerSHA256 == data.manifest.tokenizerSHA256 else {
            throw TrainingError.badState(path: path, reason: "the checkpoint was trained on data from another tokenizer")
        }
        try checkSameDataOrder(state, path: path)
        var byName: [String: Tensor] = [:]
        for (n, t) in try TensorFile.load(dir.appendingPathComponent("optimizer.pt").path) { byName[n] = t }
        for (i, name) in optimizerNames.enumerated() {
            guard let m = byName["exp_avg/\(name)"], let v = byName["exp_avg_sq/\(name)"], let s = byName["step/\(name)"] else {
                // Silently restarting a moment would change the run without a word.
                throw TrainingError.badState(path: dir.appendingPathComponent("optimizer.pt").path, reason: "no AdamW state for \(name)")
            }
            try optimizer.setState(AdamW.ParameterState(step: Int(try s.item()), expAvg: m, expAvgSq: v), of: i)
        }
        step = state.step
    }

    /// Exact resume needs the same rows in the same order: settings that decide them must not
    /// change. Others (lr, steps, schedule, device...) may, and are reported.
    func checkSameDataOrder(_ state: State, path: String) throws {
        let rows = data.rows("train")
        let fixed: [(String, String, String)] = [
            ("batch_size", "\(state.config.batchSize)", "\(config.batchSize)"),
            ("grad_accum", "\(state.config.gradAccum)", "\(config.gradAccum)"),
            ("seed", "\(state.config.seed)", "\(config.seed)"),
        ]
        for (key, was, now) in fixed where was != now {
            throw TrainingError.badState(path: path, reason: "\(key) is \(now) here but the checkpoint was trained with \(was); "
                + "resuming would feed other rows than the uninterrupted run. Resume with \(key) \(was), or start a new output with model.from set to the checkpoint")
        }
        // Checkpoints from before world_size was recorded: rows_consumed tells it.
        let per = state.step * state.config.gradAccum * state.config.batchSize
        if let w = state.worldSize ?? (per > 0 ? state.rowsConsumed / per : nil), w != worldSize {
            throw TrainingError.badState(path: path, reason: "the checkpoint was trained by \(w) data-parallel process(es), this run has \(worldSize); "
                + "resume with --nproc \(w) (or WORLD_SIZE=\(w)), since the rows of each step depend on it")
        }
        if let r = state.trainRows, r != rows {
            throw TrainingError.badState(path: path, reason: "the checkpoint was trained on \(r) training rows, the data folder \(config.data) holds \(rows): "
                + "another dataset; resume on the one it was trained on, or start a new output with model.from set to the checkpoint")
        }
        let old = try Self.settings(state.config), new = try Self.settings(config)
        changedSinceCheckpoint = new.keys.sorted().compactMap { k in
            guard !(["data", "output", "model"] + fixed.map(\.0)).contains(k), old[k] != new[k] else { return nil }
            return "\(k): \(old[k] ?? "unset") -> \(new[k] ?? "unset")"
        }
    }

    /// Each top-level setting as compact JSON, for comparing two configs key by key.
    static func settings(_ c: TrainConfig) throws -> [String: String] {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        guard let dict = try JSONSerialization.jsonObject(with: enc.encode(c)) as? [String: Any] else { return [:] }
        return try dict.mapValues { v in
            String(decoding: try JSONSerialization.data(withJSONObject: v, options: [.fragmentsAllowed, .sortedKeys]), as: UTF8.self)
        }
    }
}
