import Foundation

/// What a checkpoint records besides the weights and the optimizer's moments
/// (`trainer_state.json`): where in the data the run was, and with which settings, so a resume
/// continues exactly where the run stopped, or refuses with the reason.
struct TrainerState: Codable {
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

    static func read(from checkpoint: URL) throws -> TrainerState {
        let url = checkpoint.appendingPathComponent(RunDirectory.stateFile)
        do { return try JSONDecoder().decode(TrainerState.self, from: try Data(contentsOf: url)) } catch {
            throw TrainingError.badState(path: url.path, reason: "cannot be read: " + (TrainingError.decodingFailure(error).map { "field '\($0.field)': \($0.reason)" }
                                                                                      ?? error.localizedDescription))
        }
    }

    func write(into checkpoint: URL) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(self).write(to: checkpoint.appendingPathComponent(RunDirectory.stateFile))
    }

    /// Checks that `config` on `worldSize` processes over a dataset of `trainRows` rows and
    /// tokenizer `tokenizerSHA256` feeds the same rows in the same order as the run that wrote
    /// this state (exact resume). Settings that decide the rows must not change; others (lr,
    /// steps, schedule, device, ...) may, and are returned as "key: old -> new".
    func changes(resumingWith config: TrainConfig, worldSize: Int, trainRows: Int, tokenizerSHA256: String, path: String) throws -> [String] {
        guard self.tokenizerSHA256 == tokenizerSHA256 else {
            throw TrainingError.badState(path: path, reason: "the checkpoint was trained on data from another tokenizer")
        }
        let fixed: [(String, String, String)] = [
            ("batch_size", "\(self.config.batchSize)", "\(config.batchSize)"),
            ("grad_accum", "\(self.config.gradAccum)", "\(config.gradAccum)"),
            ("seed", "\(self.config.seed)", "\(config.seed)"),
        ]
        for (key, was, now) in fixed where was != now {
            throw TrainingError.badState(path: path, reason: "\(key) is \(now) here but the checkpoint was trained with \(was); "
                + "resuming would feed other rows than the uninterrupted run. Resume with \(key) \(was), or start a new output with model.from set to the checkpoint")
        }
        // Checkpoints from before world_size was recorded: rows_consumed tells it.
        let per = step * self.config.gradAccum * self.config.batchSize
        if let w = self.worldSize ?? (per > 0 ? rowsConsumed / per : nil), w != worldSize {
            throw TrainingError.badState(path: path, reason: "the checkpoint was trained by \(w) data-parallel process(es), this run has \(worldSize); "
                + "resume with nproc \(w) (or WORLD_SIZE=\(w) under torchrun), since the rows of each step depend on it")
        }
        if let r = self.trainRows, r != trainRows {
            throw TrainingError.badState(path: path, reason: "the checkpoint was trained on \(r) training rows, the data folder \(config.data) holds \(trainRows): "
                + "another dataset; resume on the one it was trained on, or start a new output with model.from set to the checkpoint")
        }
        let old = try Self.settings(self.config), new = try Self.settings(config)
        // nproc is the launcher's business; world size was compared above.
        let exempt = Set(["data", "output", "model", "nproc"] + fixed.map(\.0))
        return new.keys.sorted().compactMap { k in
            guard !exempt.contains(k), old[k] != new[k] else { return nil }
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
