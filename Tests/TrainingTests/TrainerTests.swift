import Datasets
import Foundation
import Models
import TestSupport
import Tokenizers
import Torch
import Training
import XCTest

/// A small packed dataset (arithmetic conversations) built once per test process.
enum TinyData {
    nonisolated(unsafe) static var cached: URL?
    static let lock = NSLock()

    static func folder() throws -> URL {
        lock.lock()
        defer { lock.unlock() }
        if let c = cached { return c }
        let dir = try temporaryDirectory()
        let tok = try markerTokenizer(vocabularySize: 400)
        let lines = try (0..<120).map { i -> String in
            let (a, b) = (i * 7 % 50 + 3, i * 13 % 40 + 2)
            return try SFTRecord(id: "t\(i)", messages: [.user("What is \(a) + \(b)?"), .assistant("\(a) + \(b) = \(a + b).")]).jsonLine()
        }
        let input = dir.appendingPathComponent("sft.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: input, atomically: true, encoding: .utf8)
        var o = DatasetBuilder.Options(input: input, output: dir.appendingPathComponent("ds"), seqLen: 64)
        o.validationFraction = 0.1
        try DatasetBuilder(o, tokenizer: tok).build()
        cached = dir.appendingPathComponent("ds")
        return cached!
    }

    /// NAME.yaml in `dir` for a run into dir/NAME: the file's path and the output folder.
    static func configFile(in dir: URL, _ name: String, steps: Int, extra: String = "", batchSize: Int = 2) throws -> (String, URL) {
        let out = dir.appendingPathComponent(name)
        let yaml = dir.appendingPathComponent("\(name).yaml")
        try self.yaml(output: out, steps: steps, extra: extra).replacingOccurrences(of: "batch_size: 2", with: "batch_size: \(batchSize)")
            .write(to: yaml, atomically: true, encoding: .utf8)
        return (yaml.path, out)
    }

    /// `extra` lines replace the base's lines of the same key (a key written twice is an error).
    static func yaml(output: URL, steps: Int, extra: String = "") throws -> String {
        let base = """
        data: \(try folder().path)
        output: \(output.path)
        model:
          config: {hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2}
          seed: 1
        steps: \(steps)
        batch_size: 2
        grad_accum: 2
        lr: 3.0e-3
        warmup_steps: 2
        save_every: 4
        """
        let replaced = Set(extra.split(separator: "\n").compactMap { $0.split(separator: ":").first.map(String.init) })
        return base.split(separator: "\n").filter { line in !replaced.contains(where: { line.hasPrefix($0 + ":") }) }
            .joined(separator: "\n") + "\n" + extra
    }
}

func losses(_ output: URL) throws -> [Double] {
    let text = try String(contentsOf: output.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
    return try text.split(separator: "\n").map { line in
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        return try XCTUnwrap(o["loss"] as? Double)
    }
}

final class TrainerTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func config(_ name: String, steps: Int, extra: String = "", overrides: [String] = []) throws -> TrainConfig {
        try TrainConfig.load(yaml: TinyData.yaml(output: dir.appendingPathComponent(name), steps: steps, extra: extra), source: "test.yaml", overrides: overrides)
    }

    func testLossFallsAndMetricsAreWritten() throws {
        let c = try config("run", steps: 12, extra: "eval_every: 6")
        try Trainer(c).run()
        let l = try losses(URL(fileURLWithPath: c.output))
        XCTAssertEqual(l.count, 12)
        XCTAssertLessThan(l.suffix(3).reduce(0, +) / 3, l.prefix(3).reduce(0, +) / 3 - 0.5, "loss must fall: \(l)")
        let text = try String(contentsOf: URL(fileURLWithPath: c.output).appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        XCTAssertTrue(text.contains("\"val_loss\""), "validation loss every 6 steps")
        let final = URL(fileURLWithPath: c.output).appendingPathComponent("checkpoints/step-000012")
        XCTAssertNoThrow(try Checkpoint.load(final), "checkpoints are HF folders")
        XCTAssertTrue(FileManager.default.fileExists(atPath: final.appendingPathComponent("tokenizer.model").path))
        let kept = try FileManager.default.contentsOfDirectory(atPath: URL(fileURLWithPath: c.output).appendingPathComponent("checkpoints").path).sorted()
        XCTAssertEqual(kept, ["step-000008", "step-000012"], "keep_last 2")
    }

    /// A run on a dataset built with a tokenizer.json tokenizer leaves checkpoints that carry
    /// tokenizer.json and tokenizer_config.json, and load back as the same tokenizer.
    func testCheckpointsCarryABPEDatasetsTokenizer() throws {
        let tok = try loadTokenizer(at: repoRoot.appendingPathComponent("Tests/TokenizersTests/Fixtures/bpe/llama3"))
        let lines = try (0..<40).map { i in
            try SFTRecord(id: "b\(i)", messages: [.user("What is \(i) + 2?"), .assistant("\(i) + 2 = \(i + 2).")]).jsonLine()
        }
        let input = dir.appendingPathComponent("sft.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: input, atomically: true, encoding: .utf8)
        var o = DatasetBuilder.Options(input: input, output: dir.appendingPathComponent("bpe-ds"), seqLen: 128)
        o.settings.template = "llama2" // bcsft's markers are not tokens of this vocabulary
        try DatasetBuilder(o, tokenizer: tok).build()
        let c = try config("run", steps: 4, extra: "data: \(dir.appendingPathComponent("bpe-ds").path)")
        try Trainer(c).run()
        let ck = URL(fileURLWithPath: c.output).appendingPathComponent("checkpoints/step-000004")
        XCTAssertTrue(FileManager.default.fileExists(atPath: ck.appendingPathComponent("tokenizer_config.json").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: ck.appendingPathComponent("tokenizer.model").path))
        let back = try loadTokenizer(at: ck)
        XCTAssertTrue(back is BPETokenizer)
        XCTAssertEqual(back.sha256, tok.sha256)
        XCTAssertEqual(back.eosID, tok.eosID)
    }

    func testResumeReproducesTheUninterruptedRunExactly() throws {
        let straight = try config("straight", steps: 8)
        try Trainer(straight).run()
        let split = try config("split", steps: 8)
        try Trainer(split).run(stopAfter: 6)  // checkpoint at 4; steps 5 and 6 are lost with the "kill"
        let resumed = try Trainer(split, resume: true)
        XCTAssertEqual(resumed.step, 4)
        try resumed.run()
        let a = try losses(URL(fileURLWithPath: straight.output)), b = try losses(URL(fileURLWithPath: split.output))
        XCTAssertEqual(b.count, 8, "metrics hold each step once")
        XCTAssertEqual(a, b, "bit-identical per-step losses after resume")
    }

    func testScratchConfigTakesHFValuesOfEveryType() throws {
        // Booleans and objects, not only numbers: a tied head and Llama 3 rope scaling.
        let c = try config("typed", steps: 2, overrides: [
            "model.config.tie_word_embeddings=true", "model.config.rope_theta=500000",
            "model.config.rope_scaling={rope_type: llama3, factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 64}",
        ])
        let t = try Trainer(c)
        XCTAssertTrue(t.model.config.tieWordEmbeddings)
        XCTAssertFalse(t.model.parameters.contains { $0.0 == "lm_head.weight" }, "a tied head has no weight of its own")
        XCTAssertEqual(t.model.config.ropeTheta, 500000)
        XCTAssertNotNil(t.model.config.ropeScaling)
        try t.run()
        let saved = try Checkpoint.load(URL(fileURLWithPath: c.output).appendingPathComponent("checkpoints/step-000002"))
        XCTAssertEqual(saved.config, t.model.config, "the checkpoint's config.json says the same")
    }

    /// Decoupled weight decay on matrices only: one step with and without decay differs by
    /// exactly lr * wd * w0 on a matrix and not at all on a norm weight.
    func testWeightDecayTakesMatricesAndSparesNorms() throws {
        let common = ["steps=1", "warmup_steps=0", "schedule=constant", "lr=1e-2"]
        let plain = try Trainer(try config("wd0", steps: 1, overrides: common + ["weight_decay=0"]))
        let decayed = try Trainer(try config("wd5", steps: 1, overrides: common + ["weight_decay=0.5"]))
        var before: [String: [Float]] = [:]
        for (n, w) in plain.model.parameters { before[n] = try w.toArray(Float.self) }
        try plain.run()
        try decayed.run()
        for ((n, a), (_, b)) in zip(plain.model.parameters, decayed.model.parameters) {
            let x = try a.toArray(Float.self), y = try b.toArray(Float.self), w0 = try XCTUnwrap(before[n])
            if a.rank >= 2 {
                let err = zip(zip(x, y), w0).reduce(Float(0)) { max($0, abs(($1.0.0 - $1.0.1) - 1e-2 * 0.5 * $1.1)) }
                XCTAssertLessThan(err, 1e-6, "\(n) decays by lr * wd * w")
                XCTAssertNotEqual(x, y, n)
            } else {
                XCTAssertEqual(x, y, "\(n) is not decayed")
            }
        }
    }

    func testMetricsLinesCarryEveryFieldAndCheckpointsTheResolvedConfig() throws {
        let c = try config("fields", steps: 4, extra: "eval_every: 2")
        try Trainer(c).run()
        let out = URL(fileURLWithPath: c.output)
        let lines = try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 4)
        for (i, line) in lines.enumerated() {
            let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertEqual(o["step"] as? Int, i + 1)
            XCTAssertEqual(try XCTUnwrap(o["lr"] as? Double), c.learningRate(at: i + 1), accuracy: 1e-12)
            XCTAssertGreaterThan(try XCTUnwrap(o["grad_norm"] as? Double), 0)
            XCTAssertGreaterThan(try XCTUnwrap(o["loss_tokens"] as? Int), 0)
            XCTAssertGreaterThan(try XCTUnwrap(o["tokens_per_s"] as? Double), 0)
            XCTAssertEqual(o["val_loss"] != nil, (i + 1) % 2 == 0, "val_loss every 2 steps")
        }
        let state = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("checkpoints/step-000004/trainer_state.json"))) as? [String: Any])
        let stored = try JSONDecoder().decode(TrainConfig.self, from: JSONSerialization.data(withJSONObject: try XCTUnwrap(state["config"])))
        XCTAssertEqual(stored, c, "every checkpoint holds the resolved config")
        XCTAssertEqual(state["step"] as? Int, 4)
    }

    /// model.from: fine-tuning starts from the HF folder's weights, not a fresh draw.
    func testFineTuningStartsFromTheCheckpointsWeights() throws {
        let base = try config("base", steps: 4)
        try Trainer(base).run()
        let ckpt = URL(fileURLWithPath: base.output).appendingPathComponent("checkpoints/step-000004")
        let tune = try TrainConfig.load(yaml: "data: \(try TinyData.folder().path)\noutput: \(dir.appendingPathComponent("tune").path)\n"
                                          + "model: {from: \(ckpt.path)}\nsteps: 2\n", source: "tune.yaml")
        let t = try Trainer(tune)
        let saved = try Checkpoint.load(ckpt)
        for ((n, a), (_, b)) in zip(t.model.parameters, saved.parameters) { XCTAssertEqual(try a.toArray(Float.self), try b.toArray(Float.self), n) }
        try t.run()
        XCTAssertEqual(try losses(URL(fileURLWithPath: tune.output)).count, 2)
    }

    func testGradientAccumulationEqualsOneLargerBatch() throws {
        let accum = try config("accum", steps: 1, overrides: ["batch_size=2", "grad_accum=2", "warmup_steps=0"])
        let whole = try config("whole", steps: 1, overrides: ["batch_size=4", "grad_accum=1", "warmup_steps=0"])
        let t1 = try Trainer(accum), t2 = try Trainer(whole)
        try t1.run()
        try t2.run()
        let l1 = try losses(URL(fileURLWithPath: accum.output)), l2 = try losses(URL(fileURLWithPath: whole.output))
        XCTAssertEqual(l1[0], l2[0], accuracy: 1e-6, "loss normalised by loss tokens over the whole window")
        for ((n, a), (_, b)) in zip(t1.model.parameters, t2.model.parameters) {
            let d = zip(try a.toArray(Float.self), try b.toArray(Float.self)).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
            XCTAssertLessThan(d, 1e-5, n)
        }
    }

    func testNonFiniteLossStopsAndNamesACheckpointThatAvoidsIt() throws {
        let c = try config("nan", steps: 12, overrides: ["lr=1e4", "grad_clip=0", "warmup_steps=3", "save_every=1", "keep_last=4", "schedule=constant"])
        var failed: (step: Int, newest: String?, resumable: String?)?
        do { try Trainer(c).run() } catch let TrainingError.nonFiniteLoss(step, _, _, newest, resumable) { failed = (step, newest, resumable) }
        let (step, newest, resumable) = try XCTUnwrap(failed, "a loss of inf or nan must stop training")
        XCTAssertGreaterThan(step, 2)
        // The newest checkpoint's weights gave the bad loss: it must not be offered for resuming.
        XCTAssertEqual(newest.map { URL(fileURLWithPath: $0).lastPathComponent }, String(format: "step-%06d", step - 1))
        let earlier = URL(fileURLWithPath: try XCTUnwrap(resumable))
        XCTAssertEqual(earlier.lastPathComponent, String(format: "step-%06d", step - 2))
        let message = TrainingError.nonFiniteLoss(step: step, loss: .nan, what: "loss", newest: newest, resumable: earlier.path).localizedDescription
        XCTAssertTrue(message.contains("Continue from \(earlier.path) with a lower lr"), message)

        // Continuing from it with a sane lr gets past the step that failed; the abandoned
        // checkpoints and metrics are kept aside, not lost.
        let out = URL(fileURLWithPath: c.output)
        let abandoned = try losses(out).count
        var calm = c
        calm.lr = 3e-3
        let t = try Trainer(calm, resumeFrom: earlier)
        XCTAssertEqual(t.step, step - 2)
        XCTAssertTrue(t.changedSinceCheckpoint.contains { $0.hasPrefix("lr: ") }, "\(t.changedSinceCheckpoint)")
        try t.run()
        let after = try losses(out)
        XCTAssertEqual(after.count, 12)
        XCTAssertTrue(after.allSatisfy(\.isFinite))
        let aside = out.appendingPathComponent("superseded").appendingPathComponent(String(format: "from-step-%06d", step - 2))
        XCTAssertTrue(FileManager.default.fileExists(atPath: aside.appendingPathComponent(String(format: "step-%06d", step - 1)).path))
        let moved = try String(contentsOf: aside.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        XCTAssertEqual(moved.split(separator: "\n").count, abandoned - (step - 2), "the abandoned steps' metrics lines")

        // Back to the abandoned branch, from outside checkpoints/: the continued branch's
        // checkpoints (every step from there on) move to a folder of their own.
        let branch = aside.appendingPathComponent(String(format: "step-%06d", step - 1))
        let back = try Trainer(c, resumeFrom: branch)
        XCTAssertEqual(back.step, step - 1)
        let fm = FileManager.default
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: out.appendingPathComponent("checkpoints").path), [])
        let second = out.appendingPathComponent("superseded").appendingPathComponent(String(format: "from-step-%06d", step - 1))
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: second.path).filter { $0.hasPrefix("step-") }.count, 4, "keep_last 4 of the continued run")
        XCTAssertEqual(try losses(out).count, step - 1)
    }

    func testANewRunRefusesAnOutputWithCheckpoints() throws {
        let c = try config("used", steps: 4)
        try Trainer(c).run()
        XCTAssertThrowsError(try Trainer(c)) { error in
            XCTAssertEqual(error as? TrainingError, .outputHasCheckpoints(output: c.output, newest: "step-000004"))
            XCTAssertTrue(error.localizedDescription.contains("resume it, or choose another output folder"), error.localizedDescription)
        }
        XCTAssertEqual(try losses(URL(fileURLWithPath: c.output)).count, 4, "the old run's metrics are untouched")
    }

    func testResumeRefusesSettingsThatChangeTheDataOrder() throws {
        let c = try config("order", steps: 8)
        try Trainer(c).run(stopAfter: 4)
        // Rows per step (batch_size x grad_accum x processes) and the seed decide the rows.
        for (key, value, expected) in [("batch_size", "4", "= 4 rows, here 4 x 2 x 1 = 8;"), ("grad_accum", "1", "= 4 rows, here 2 x 1 x 1 = 2;"),
                                       ("seed", "7", "seed is 7 here")] {
            let changed = try config("order", steps: 8, overrides: ["\(key)=\(value)"])
            XCTAssertThrowsError(try Trainer(changed, resume: true), key) { error in
                XCTAssertTrue(error.localizedDescription.contains(expected), error.localizedDescription)
            }
        }
        // What trainer_state.json records about the run: its processes and the dataset's rows.
        let state = URL(fileURLWithPath: c.output).appendingPathComponent("checkpoints/step-000004/trainer_state.json")
        let original = try Data(contentsOf: state)
        func edited(_ edit: (inout [String: Any]) -> Void, expect fragment: String, line: UInt = #line) throws {
            var o = try XCTUnwrap(JSONSerialization.jsonObject(with: original) as? [String: Any])
            edit(&o)
            try JSONSerialization.data(withJSONObject: o).write(to: state)
            XCTAssertThrowsError(try Trainer(c, resume: true), line: line) { error in
                XCTAssertTrue(error.localizedDescription.contains(fragment), error.localizedDescription, line: line)
            }
            try original.write(to: state)
        }
        try edited({ $0["world_size"] = 2 }, expect: "2 x 2 x 2 = 8 rows, here 2 x 2 x 1 = 4; resuming would feed other rows than the uninterrupted run. "
                   + "Resume with batch_size, grad_accum and nproc (or WORLD_SIZE under torchrun) whose product is 8 (e.g. batch_size 2, grad_accum 2, nproc 2)")
        // A checkpoint from before world_size was recorded: rows_consumed tells it.
        try edited({ $0["world_size"] = nil; $0["rows_consumed"] = 4 * 2 * 2 * 2 }, expect: "2 x 2 x 2 = 8 rows")
        try edited({ $0["train_rows"] = 5 }, expect: "trained on 5 training rows")
        let longer = try config("order", steps: 10, overrides: ["lr=1e-3"])
        let t = try Trainer(longer, resume: true)
        XCTAssertEqual(t.step, 4)
        XCTAssertEqual(t.changedSinceCheckpoint, ["lr: 0.003 -> 0.001", "steps: 8 -> 10"])
    }

    func testResumeRefusesAMissingOptimizerMoment() throws {
        let c = try config("moments", steps: 4)
        try Trainer(c).run()
        let ckpt = URL(fileURLWithPath: c.output).appendingPathComponent("checkpoints/step-000004")
        let file = ckpt.appendingPathComponent("optimizer.pt").path
        try TensorFile.save(try TensorFile.load(file).filter { !$0.0.hasPrefix("exp_avg_sq/model.norm") }, to: file)
        XCTAssertThrowsError(try Trainer(c, resume: true)) { error in
            XCTAssertTrue(error.localizedDescription.contains("no AdamW state for model.norm.weight"), error.localizedDescription)
        }
        try "{\"step\": 4}".write(to: ckpt.appendingPathComponent("trainer_state.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Trainer(c, resume: true)) { error in
            XCTAssertTrue(error.localizedDescription.contains("cannot be read: field 'config': missing"), error.localizedDescription)
        }
    }

    func testConfigErrorsNameTheKey() throws {
        let base = try TinyData.yaml(output: dir.appendingPathComponent("x"), steps: 2)
        XCTAssertThrowsError(try TrainConfig.load(yaml: base + "\nlearning_rate: 0.1", source: "run.yaml")) { error in
            let line = base.split(separator: "\n", omittingEmptySubsequences: false).count + 1
            XCTAssertTrue(error.localizedDescription.hasPrefix("run.yaml:\(line): key 'learning_rate': unknown key (known: "), error.localizedDescription)
        }
        XCTAssertThrowsError(try TrainConfig.load(yaml: base, source: "run.yaml", overrides: ["steps=many"])) { error in
            XCTAssertTrue(error.localizedDescription.contains("key 'steps'"), error.localizedDescription)
        }
        XCTAssertThrowsError(try TrainConfig.load(yaml: base, source: "run.yaml", overrides: ["model.colour=red"])) { error in
            XCTAssertTrue(error.localizedDescription.contains("key 'model.colour'"), error.localizedDescription)
        }
        XCTAssertThrowsError(try TrainConfig.load(yaml: base, source: "run.yaml", overrides: ["schedule=step"]))
        let c = try TrainConfig.load(yaml: base, source: "run.yaml", overrides: ["lr=1e-4", "model.config.hidden_size=64"])
        XCTAssertEqual(c.lr, 1e-4)
        XCTAssertEqual(c.model.config?["hidden_size"], 64)
        XCTAssertThrowsError(try TrainConfig.load(yaml: base, source: "run.yaml", overrides: ["model.config.rope_thta=5e5"])) { error in
            XCTAssertTrue(error.localizedDescription.hasPrefix("--set model.config.rope_thta=5e5: key 'model.config.rope_thta': not a Llama config.json key"),
                          error.localizedDescription)
        }
    }

    func testLearningRateScheduleByHand() throws {
        var c = TrainConfig(data: "d", output: "o", steps: 10)
        c.lr = 1.0
        c.minLR = 0.1
        c.warmupSteps = 2
        XCTAssertEqual(c.learningRate(at: 1), 0.5)
        XCTAssertEqual(c.learningRate(at: 2), 1.0)
        XCTAssertEqual(c.learningRate(at: 6), 0.55, accuracy: 1e-12)   // halfway through the cosine
        XCTAssertEqual(c.learningRate(at: 10), 0.1, accuracy: 1e-12)
        c.schedule = .linear
        XCTAssertEqual(c.learningRate(at: 6), 0.55, accuracy: 1e-12)
    }
}

/// `bcsft train` killed with SIGKILL mid-run, then `--resume`, against an uninterrupted run.
final class TrainCLITests: XCTestCase {
    func testKillNineAndResumeGivesTheSameLosses() throws {
        let exe = try bcsftExecutable()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (yamlA, outA) = try TinyData.configFile(in: dir, "straight", steps: 16, extra: "save_every: 3")
        let (yamlB, outB) = try TinyData.configFile(in: dir, "killed", steps: 16, extra: "save_every: 3")
        XCTAssertEqual(try runProcess(exe, ["train", "--config", yamlA]).0, 0)

        let p = try launch(exe, ["train", "--config", yamlB])
        let marker = outB.appendingPathComponent("checkpoints/step-000006/trainer_state.json").path
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: marker), p.isRunning, Date() < deadline { usleep(20_000) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let r = try runProcess(exe, ["train", "--config", yamlB, "--resume"])
        XCTAssertEqual(r.0, 0, r.2)
        XCTAssertTrue(r.1.contains("resumed at step"), r.1)
        XCTAssertEqual(try losses(outA), try losses(outB))
    }

    /// The library's messages name settings; the command adds the flags that act on them.
    func testErrorsSayWhichFlagsActOnThem() throws {
        let exe = try bcsftExecutable()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (yaml, _) = try TinyData.configFile(in: dir, "nan", steps: 12)
        let nan = try runProcess(exe, ["train", "--config", yaml, "--set", "lr=1e4", "--set", "grad_clip=0", "--set", "warmup_steps=3",
                                       "--set", "save_every=1", "--set", "keep_last=4", "--set", "schedule=constant"])
        XCTAssertNotEqual(nan.0, 0)
        XCTAssertTrue(nan.2.contains("Continue from ") && nan.2.contains("(bcsft train --config \(yaml) --resume-from "), nan.2)
        let again = try runProcess(exe, ["train", "--config", yaml])
        XCTAssertNotEqual(again.0, 0)
        XCTAssertTrue(again.2.contains("resume it, or choose another output folder to start afresh (add --resume to continue it)"), again.2)
        let zero = try runProcess(exe, ["train", "--config", yaml, "--nproc", "0"])
        XCTAssertTrue(zero.2.contains("--set nproc=0: key 'nproc': must be at least 1"), zero.2)
    }
}

/// `bcsft train --nproc 2` (two processes, Gloo on loopback) against one process with the
/// same global batch.
final class DataParallelTests: XCTestCase {
    func testTwoProcessesMatchOneWithTheSameGlobalBatch() throws {
        let exe = try bcsftExecutable()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (one, outOne) = try TinyData.configFile(in: dir, "one", steps: 6, batchSize: 4)
        let (two, outTwo) = try TinyData.configFile(in: dir, "two", steps: 6, batchSize: 2)
        var r = try runProcess(exe, ["train", "--config", one])
        XCTAssertEqual(r.0, 0, r.2)
        r = try runProcess(exe, ["train", "--config", two, "--nproc", "2"])
        XCTAssertEqual(r.0, 0, r.2)
        XCTAssertTrue(r.1.contains("x 2 process(es)"), r.1)
        let a = try losses(outOne), b = try losses(outTwo)
        XCTAssertEqual(a.count, 6)
        XCTAssertEqual(b.count, 6, "only rank 0 writes metrics")
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        // The final weights agree too.
        let m1 = try Checkpoint.load(outOne.appendingPathComponent("checkpoints/step-000006"))
        let m2 = try Checkpoint.load(outTwo.appendingPathComponent("checkpoints/step-000006"))
        for ((n, p), (_, q)) in zip(m1.parameters, m2.parameters) {
            let d = zip(try p.toArray(Float.self), try q.toArray(Float.self)).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
            XCTAssertLessThan(d, 1e-5, n)
        }
    }

    /// kill -9 of the `--nproc 2` launcher: its other rank exits on its own (not after the
    /// collective's timeout), and `--nproc 2 --resume` gives the uninterrupted run's losses.
    func testKilledLauncherTakesItsRanksAlongAndTwoProcessesResumeExactly() throws {
        let exe = try bcsftExecutable()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (yamlA, outA) = try TinyData.configFile(in: dir, "straight", steps: 200, extra: "save_every: 5")
        let (yamlB, outB) = try TinyData.configFile(in: dir, "killed", steps: 200, extra: "save_every: 5")
        var r = try runProcess(exe, ["train", "--config", yamlA, "--nproc", "2"])
        XCTAssertEqual(r.0, 0, r.2)

        let launcher = try launch(exe, ["train", "--config", yamlB, "--nproc", "2"])
        let marker = outB.appendingPathComponent("checkpoints/step-000010/trainer_state.json").path
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: marker), launcher.isRunning, Date() < deadline { usleep(20_000) }
        let ranks = childProcesses(of: launcher.processIdentifier)
        XCTAssertEqual(ranks.count, 1, "one rank besides the launcher")
        kill(launcher.processIdentifier, SIGKILL)
        launcher.waitUntilExit()
        let gone = Date().addingTimeInterval(15)
        while ranks.contains(where: isAlive), Date() < gone { usleep(50_000) }
        XCTAssertFalse(ranks.contains(where: isAlive), "an orphaned rank must exit by itself")

        r = try runProcess(exe, ["train", "--config", yamlB, "--nproc", "2", "--resume"])
        XCTAssertEqual(r.0, 0, r.2)
        XCTAssertTrue(r.1.contains("resumed at step"), r.1)
        let a = try losses(outA), b = try losses(outB)
        XCTAssertEqual(b.count, 200)
        XCTAssertEqual(a, b, "the same per-step losses after a data-parallel resume")
    }

    /// A rank whose launcher dies while it waits at the rendezvous (nobody hosts the store, so
    /// c10d would retry until its timeout) exits by itself within seconds.
    func testARankExitsWhenItsLauncherDiesBeforeTheRendezvous() throws {
        let exe = try bcsftExecutable()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let yaml = dir.appendingPathComponent("r.yaml")
        try TinyData.yaml(output: dir.appendingPathComponent("out"), steps: 4).write(to: yaml, atomically: true, encoding: .utf8)
        // The shell stands in for the launcher: the rank is its only child, and $$ is its pid.
        let port = Int.random(in: 40000..<60000)
        let shell = try launch("/bin/sh", ["-c", "RANK=1 LOCAL_RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=\(port) "
                                                + "BCSFT_DIST_TIMEOUT=120 BCSFT_LAUNCHER_PID=$$ '\(exe)' train --config '\(yaml.path)' & wait"])
        var rank: [Int32] = []
        let started = Date().addingTimeInterval(20)
        while rank.isEmpty, Date() < started { usleep(50_000); rank = childProcesses(of: shell.processIdentifier) }
        XCTAssertEqual(rank.count, 1)
        usleep(1_000_000)  // in the rendezvous by now
        XCTAssertTrue(rank.allSatisfy(isAlive), "still waiting for rank 0")
        kill(shell.processIdentifier, SIGKILL)
        // Not shell.waitUntilExit(): Foundation notices the exit only once every process holding
        // the shell's inherited descriptors has gone, the rank included.
        let gone = Date().addingTimeInterval(15)
        while rank.contains(where: isAlive), Date() < gone { usleep(50_000) }
        XCTAssertFalse(rank.contains(where: isAlive), "the orphaned rank must exit, not wait out the 120 s timeout")
        for pid in rank where isAlive(pid) { kill(pid, SIGKILL) }
        shell.waitUntilExit()
    }

    /// A rank that dies before the rendezvous ends the run within seconds instead of leaving
    /// rank 0 waiting for it until the timeout; a malformed timeout is refused up front.
    func testALauncherStopsWhenOneOfItsRanksDies() throws {
        let exe = try bcsftExecutable()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (yaml, _) = try TinyData.configFile(in: dir, "run", steps: 400)
        var env = ProcessInfo.processInfo.environment
        env["BCSFT_DIST_TIMEOUT"] = "abc"
        let bad = try runProcess(exe, ["train", "--config", yaml, "--nproc", "2"], environment: env)
        XCTAssertNotEqual(bad.0, 0)
        XCTAssertTrue(bad.2.contains("BCSFT_DIST_TIMEOUT='abc': expected a number of seconds"), bad.2)

        env["BCSFT_DIST_TIMEOUT"] = "120"
        let launcher = try launch(exe, ["train", "--config", yaml, "--nproc", "2"], environment: env)
        var rank: [Int32] = []
        let seen = Date().addingTimeInterval(20)
        while rank.isEmpty, Date() < seen { usleep(5_000); rank = childProcesses(of: launcher.processIdentifier) }
        XCTAssertEqual(rank.count, 1)
        for pid in rank { kill(pid, SIGKILL) }
        let deadline = Date().addingTimeInterval(20)
        while isAlive(launcher.processIdentifier), Date() < deadline { usleep(50_000) }
        XCTAssertFalse(isAlive(launcher.processIdentifier), "the launcher must stop, not wait out the 120 s timeout")
        if isAlive(launcher.processIdentifier) { kill(launcher.processIdentifier, SIGKILL) }
        launcher.waitUntilExit()
        XCTAssertNotEqual(launcher.terminationStatus, 0)
    }

    func childProcesses(of parent: Int32) -> [Int32] {
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init)
        return pids.filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.range(of: ")", options: .backwards) else { return false }
            let fields = stat[close.upperBound...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == parent
        }
    }

    /// Running, or a zombie no one has reaped yet: either way not "alive".
    func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.range(of: ")", options: .backwards) else { return false }
        return stat[close.upperBound...].split(separator: " ").first != "Z"
    }
}
