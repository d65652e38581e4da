import Foundation
import Models
import TestSupport
import Torch
import XCTest

/// The shipped recipes, run end to end by the real `bcsft run` with small settings: the
/// offline ablation on the scripted world in process, and the real-server recipes against
/// `bcsft serve --scripted` and a tiny local checkpoint, so none of them can rot.
final class RecipeRunTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    @discardableResult
    func run(_ recipe: String, _ extra: [String], environment: [String: String] = [:], expect status: Int32 = 0) throws -> (String, String) {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let args = ["run", repoRoot.appendingPathComponent("recipes/\(recipe)").path, "--workdir", dir.appendingPathComponent(recipe).path] + extra
        let (code, so, se) = try runProcess(try bcsftExecutable(), args, environment: env, currentDirectory: repoRoot)
        XCTAssertEqual(code, status, "bcsft run \(recipe) \(extra)\nstdout: \(so.suffix(3000))\nstderr: \(se.suffix(3000))")
        return (so, se)
    }

    func statuses(_ recipe: String) throws -> [String: String] {
        let data = try Data(contentsOf: dir.appendingPathComponent(recipe).appendingPathComponent("run.json"))
        let o = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        var out: [String: String] = [:]
        for s in o["stages"] as! [[String: Any]] { out[s["name"] as! String] = s["status"] as? String }
        return out
    }

    static let smallAblation = ["--set", "vars.train_problems=120", "--set", "vars.test_problems=30", "--set", "vars.steps=12",
                                "--set", "stages.extract.settings.sample=30"]

    func testOfflineAblationRunsCachesAndRerunsOnlyWhatASettingChanges() throws {
        let recipe = "offline-ablation.yaml"
        try run(recipe, Self.smallAblation)
        let report = dir.appendingPathComponent("offline-ablation.yaml/report")
        let result = try String(contentsOf: report.appendingPathComponent("result.txt"), encoding: .utf8)
        XCTAssertTrue(result.contains("vanilla-sft") && result.contains("bc-sft"), result)
        XCTAssertTrue(result.contains("report: "), result)
        // Three seeds per arm, grouped by the eval `arm`: the difference over seeds and problems at every budget.
        XCTAssertTrue(result.contains("bc-sft = eval_bc_s0, eval_bc_s1, eval_bc_s2"), result)
        XCTAssertTrue(result.contains("bc-sft − vanilla-sft, mean over seeds"), result)
        XCTAssertEqual(result.components(separatedBy: "\n").filter { $0.hasPrefix("  budget ") }.count, 3, result)
        // Both arms train on the same questions, and the dataset logs say what each step dropped.
        let log = try String(contentsOf: dir.appendingPathComponent("offline-ablation.yaml/data_bc.log"), encoding: .utf8)
        XCTAssertTrue(log.contains("match dropped 0 records"), log)
        XCTAssertTrue(log.contains("generate kept"), log)
        let html = try String(contentsOf: report.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<svg"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("offline-ablation.yaml/eval_bc_s0/samples.jsonl").path))

        // Nothing changed: every stage is cached.
        let start = Date()
        try run(recipe, Self.smallAblation)
        let cached = try statuses(recipe)
        XCTAssertTrue(cached.values.allSatisfy { $0 == "cached" }, "\(cached)")
        XCTAssertLessThan(Date().timeIntervalSince(start), 30)

        // One training setting changed: training, evaluation and report rerun, nothing upstream.
        try run(recipe, Self.smallAblation.map { $0 == "vars.steps=12" ? "vars.steps=13" : $0 })
        let s = try statuses(recipe)
        for stage in ["world", "extract", "sft_vanilla", "sft_bc", "tokenizer", "data_vanilla", "data_bc"] {
            XCTAssertEqual(s[stage], "cached", stage)
        }
        for stage in ["student_vanilla_s0", "student_bc_s2", "eval_vanilla_s1", "eval_bc_s0", "report"] {
            XCTAssertEqual(s[stage], "completed", stage)
        }
    }

    func testKilledTrainingStageResumesWithTheSameLosses() throws {
        let recipe = dir.appendingPathComponent("train-only.yaml")
        try """
        name: train-only
        stages:
          world: {kind: world, settings: {train: 100, test: 1}}
          sft:
            kind: generate
            inputs: {problems: "${stages.world.out}/train.jsonl"}
            settings: {temperature: 0, backend: {kind: scripted}}
          tokenizer:
            kind: tokenizer
            inputs: {corpus: "${stages.sft.out}/sft.jsonl"}
            settings: {vocab_size: 400}
          data:
            kind: dataset
            inputs: {records: "${stages.sft.out}/sft.jsonl", tokenizer: "${stages.tokenizer.out}/tokenizer.model"}
            settings: {seq_len: 256}
          student:
            kind: train
            inputs: {data: "${stages.data.out}"}
            settings:
              model: {config: {hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4}}
              steps: 40
              batch_size: 4
              lr: 3.0e-3
              eval_every: 20
              save_every: 10
              log_every: 10
        """.write(to: recipe, atomically: true, encoding: .utf8)
        let bcsft = try bcsftExecutable()
        let straight = dir.appendingPathComponent("straight"), killed = dir.appendingPathComponent("killed")
        var (status, out, err) = try runProcess(bcsft, ["run", recipe.path, "--workdir", straight.path])
        XCTAssertEqual(status, 0, err)

        let p = try launch(bcsft, ["run", recipe.path, "--workdir", killed.path])
        // Kill -9 once the student has logged step 20 (and so checkpointed at 10 and 20).
        let partialMetrics = killed.appendingPathComponent("student.partial/metrics.jsonl")
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, ((try? String(contentsOf: partialMetrics, encoding: .utf8)) ?? "").split(separator: "\n").count < 2 {
            Thread.sleep(forTimeInterval: 0.02)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        (status, out, err) = try runProcess(bcsft, ["run", recipe.path, "--workdir", killed.path])
        XCTAssertEqual(status, 0, err)
        XCTAssertTrue(out.contains("resumed"), out)
        func losses(_ root: URL) throws -> [String] {
            try String(contentsOf: root.appendingPathComponent("student/metrics.jsonl"), encoding: .utf8).split(separator: "\n").map { line in
                let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                return "\(o["step"]!) \(o["loss"]!) \(o["val_loss"] ?? "-")"
            }
        }
        XCTAssertEqual(try losses(killed).count, 4)
        XCTAssertEqual(try losses(killed), try losses(straight), "per-step losses after kill -9 and resume equal the straight run's")
    }

    /// `nproc: 2` in a train stage starts the same ranks as `bcsft train --nproc 2` (the
    /// launcher is one, in Training): the same losses, step for step.
    func testRecipeTrainsOnTwoProcessesLikeTheCommand() throws {
        let training = """
          model: {config: {hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4}, seed: 3}
          steps: 6
          batch_size: 2
          lr: 3.0e-3
          seed: 5
          log_every: 1
          nproc: 2
        """
        let recipe = dir.appendingPathComponent("two.yaml")
        try """
        name: two
        stages:
          world: {kind: world, settings: {train: 60, test: 1}}
          sft:
            kind: generate
            inputs: {problems: "${stages.world.out}/train.jsonl"}
            settings: {temperature: 0, backend: {kind: scripted}}
          tokenizer:
            kind: tokenizer
            inputs: {corpus: "${stages.sft.out}/sft.jsonl"}
            settings: {vocab_size: 400}
          data:
            kind: dataset
            inputs: {records: "${stages.sft.out}/sft.jsonl", tokenizer: "${stages.tokenizer.out}/tokenizer.model"}
            settings: {seq_len: 256}
          student:
            kind: train
            inputs: {data: "${stages.data.out}"}
            settings:
        \(training.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
        """.write(to: recipe, atomically: true, encoding: .utf8)
        let bcsft = try bcsftExecutable()
        let work = dir.appendingPathComponent("work")
        var (status, out, err) = try runProcess(bcsft, ["run", recipe.path, "--workdir", work.path])
        XCTAssertEqual(status, 0, err)
        let log = try String(contentsOf: work.appendingPathComponent("student.log"), encoding: .utf8)
        XCTAssertTrue(log.contains("on 2 process(es)"), log)
        let config = dir.appendingPathComponent("cli.yaml")
        try ("data: \(work.appendingPathComponent("data/data").path)\noutput: \(dir.appendingPathComponent("cli").path)\n"
            + training.split(separator: "\n").map { $0.dropFirst(2) }.joined(separator: "\n").replacingOccurrences(of: "nproc: 2", with: ""))
            .write(to: config, atomically: true, encoding: .utf8)
        (status, out, err) = try runProcess(bcsft, ["train", "--config", config.path, "--nproc", "2"])
        XCTAssertEqual(status, 0, err)
        XCTAssertTrue(out.contains("x 2 process(es)"), out)
        func losses(_ run: URL) throws -> [String] {
            try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n").map { line in
                let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                return "\(o["step"]!) \(o["loss"]!)"
            }
        }
        let stage = try losses(work.appendingPathComponent("student"))
        XCTAssertEqual(stage.count, 6)
        XCTAssertEqual(stage, try losses(dir.appendingPathComponent("cli")), "the stage's two ranks and the command's two ranks train alike")
    }

    func worldProblems() throws -> (train: String, test: String) {
        let w = dir.appendingPathComponent("world")
        let (status, _, err) = try runProcess(try bcsftExecutable(), ["world", "--out", w.path, "--train", "60", "--test", "12"])
        XCTAssertEqual(status, 0, err)
        return (w.appendingPathComponent("train.jsonl").path, w.appendingPathComponent("test.jsonl").path)
    }

    func testRealServerRecipesRunAgainstTheScriptedServer() throws {
        let (server, url) = try startServe(["--scripted"])
        defer { server.terminate(); server.waitUntilExit() }
        let (train, test) = try worldProblems()
        let env = ["BCSFT_TEACHER_URL": url.absoluteString, "BCSFT_TEACHER_MODEL": "scripted-teacher", "BCSFT_MATH_TRAIN": train, "BCSFT_MATH500": test, "BCSFT_AIME": test]

        try run("math500-bci.yaml", ["--set", "vars.extract_problems=30", "--set", "vars.eval_problems=12", "--set", "vars.budgets=[40, 400]"], environment: env)
        let result = try String(contentsOf: dir.appendingPathComponent("math500-bci.yaml/report/result.txt"), encoding: .utf8)
        XCTAssertTrue(result.contains("bci") && result.contains("vanilla"), result)

        let bciEnv = env.merging(["BCSFT_EMBED_URL": url.absoluteString, "BCSFT_EMBED_MODEL": "scripted-embedding", "BCSFT_AIME_PAST": train,
                                  "BCSFT_AIME24": test, "BCSFT_AIME25": test]) { $1 }
        try run("aime-bci.yaml", ["--set", "vars.traces=2", "--set", "vars.k=3", "--set", "vars.samples=2", "--set", "vars.budgets=[40, 400]"],
                environment: bciEnv)
        let aime = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("aime-bci.yaml/extract/summary.json"))) as! [String: Any]
        XCTAssertEqual(aime["traces"] as? Int, 2 * 60, "two traces per handbook question")
        let bci = try String(contentsOf: dir.appendingPathComponent("aime-bci.yaml/bci_aime24/samples.jsonl"), encoding: .utf8)
        XCTAssertTrue(bci.contains("\"mode\":\"bci\""), "behaviors retrieved by embedding")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("aime-bci.yaml/report_aime25/result.txt").path))

        try run("aime-self-improve.yaml", ["--set", "vars.problems=8", "--set", "vars.samples=2", "--set", "vars.budgets=[40, 400]"], environment: env)
        let points = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("aime-self-improve.yaml/improve/points.json"))) as! [[String: Any]]
        XCTAssertEqual(points.count, 4)
        XCTAssertTrue(points.allSatisfy { $0["k"] as? Int == 2 && $0["pass_at_k"] is Double }, "\(points)")
    }

    /// The real-student recipe on a Hugging Face folder: the tiny Qwen2 student transformers saved
    /// (ModelsTests' family fixture: q/k/v biases, tied embeddings, byte-level BPE tokenizer.json,
    /// its ChatML template in tokenizer_config.json).
    func testStudentAblationRecipeFineTunesALocalCheckpoint() throws {
        let (server, url) = try startServe(["--scripted"])
        defer { server.terminate(); server.waitUntilExit() }
        let (train, test) = try worldProblems()
        let fixture = repoRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/families/qwen2")
        let student = dir.appendingPathComponent("student")
        try FileManager.default.copyItem(at: fixture, to: student)
        let env = ["BCSFT_TEACHER_URL": url.absoluteString, "BCSFT_TEACHER_MODEL": "scripted-teacher", "BCSFT_MATH_TRAIN": train, "BCSFT_MATH500": test,
                   "BCSFT_STUDENT": student.path]
        try run("math-bcsft-ablation.yaml", ["--set", "vars.extract_problems=20", "--set", "vars.sft_problems=40", "--set", "vars.eval_problems=8",
                                             "--set", "vars.seq_len=2048", "--set", "vars.steps=4", "--set", "vars.lr=1e-3", "--set", "vars.eval_budget=24"],
                environment: env)
        let s = try statuses("math-bcsft-ablation.yaml")
        XCTAssertEqual(s.count, 10)
        XCTAssertTrue(s.values.allSatisfy { $0 == "completed" }, "\(s)")
        let checkpoint = dir.appendingPathComponent("math-bcsft-ablation.yaml/student_bc/checkpoints/step-000004")
        XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint.appendingPathComponent("config.json").path))
        // The checkpoint carries the student's tokenizer and chat template, byte for byte.
        for name in ["tokenizer.json", "tokenizer_config.json"] {
            XCTAssertEqual(try Data(contentsOf: checkpoint.appendingPathComponent(name)), try Data(contentsOf: fixture.appendingPathComponent(name)), name)
        }
        let config = try String(contentsOf: checkpoint.appendingPathComponent("config.json"), encoding: .utf8)
        XCTAssertTrue(config.contains("Qwen2ForCausalLM"), config)
        // The template came from tokenizer_config.json; the checkpoint also holds it as chat_template.jinja.
        let template = try String(contentsOf: checkpoint.appendingPathComponent("chat_template.jinja"), encoding: .utf8)
        XCTAssertTrue(template.contains("<|im_start|>"), template)
        let manifest = try String(contentsOf: dir.appendingPathComponent("math-bcsft-ablation.yaml/data_bc/data/manifest.json"), encoding: .utf8)
        XCTAssertTrue(manifest.contains("\"template\" : \"tokenizer_config.json#chat_template\""), manifest)
    }
}
