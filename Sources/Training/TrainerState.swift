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
    /// this state (exact resume): the same seed and rows per step (batch_size x grad_accum x
    /// processes, however split; the losses then match to float rounding, not bitwise, and LoRA's
    /// dropout masks, drawn per rank, differ when the split does). Other settings (lr, steps, schedule, device, dtype, zero, ...)
    /// may change, and are returned as "key: old -> new".
    func changes(resumingWith config: TrainConfig, worldSize: Int, trainRows: Int, tokenizerSHA256: String, path: String) throws -> [String] {
        guard self.tokenizerSHA256 == tokenizerSHA256 else {
            throw TrainingError.badState(path: path, reason: "the checkpoint was trained on data from another tokenizer")
        }
        guard self.config.seed == config.seed else {
            throw TrainingError.badState(path: path, reason: "seed is \(config.seed) here but the checkpoint was trained with \(self.config.seed); "
                + "resuming would feed other rows than the uninterrupted run. Resume with seed \(self.config.seed), or start a new output with model.from set to the checkpoint")
        }
        // Step s takes rows [s*R, (s+1)*R) of the shuffled order, R = batch_size x grad_accum x
        // processes, and normalises the loss by the window's loss tokens: any split of R over
        // micro-batches and ranks feeds the same rows to the same step. Checkpoints from before
        // world_size was recorded: rows_consumed tells it.
        let per = step * self.config.gradAccum * self.config.batchSize
        let was = self.worldSize ?? (per > 0 ? rowsConsumed / per : 1)
        let (rowsWas, rowsNow) = (self.config.batchSize * self.config.gradAccum * was, config.batchSize * config.gradAccum * worldSize)
        if rowsWas != rowsNow {
            throw TrainingError.badState(path: path, reason: "each step of the checkpoint took batch_size x grad_accum x processes = "
                + "\(self.config.batchSize) x \(self.config.gradAccum) x \(was) = \(rowsWas) rows, here \(config.batchSize) x \(config.gradAccum) x \(worldSize) = \(rowsNow); "
                + "resuming would feed other rows than the uninterrupted run. Resume with batch_size, grad_accum and nproc (or WORLD_SIZE under torchrun) "
                + "whose product is \(rowsWas) (e.g. batch_size \(self.config.batchSize), grad_accum \(self.config.gradAccum), nproc \(was)), "
                + "or start a new output with model.from set to the checkpoint")
        }
        if let r = self.trainRows, r != trainRows {
            throw TrainingError.badState(path: path, reason: "the checkpoint was trained on \(r) training rows, the data folder \(config.data) holds \(trainRows): "
                + "another dataset; resume on the one it was trained on, or start a new output with model.from set to the checkpoint")
        }
        let old = try Self.settings(self.config), new = try Self.settings(config)
        // nproc is the launcher's business; the rows per step were compared above.
        let exempt = Set(["data", "output", "model", "nproc"])
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
