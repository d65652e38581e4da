import Foundation
import Models
import TestSupport
import Torch
import Training
import XCTest

/// `bcsft train` given sizes and values a careless or hostile configuration holds: each is an
/// error naming the key, raised before anything large is allocated; a folder that is not a
/// run is never written into; --resume with nothing to resume is said, not ignored.
final class TrainingHardeningTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func train(_ yaml: String, _ extra: [String] = []) throws -> (Int32, String, String) {
        let file = dir.appendingPathComponent("run-\(UUID().uuidString.prefix(6)).yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        return try runProcess(try bcsftExecutable(), ["train", "--config", file.path] + extra)
    }

    func testNonFiniteAndHugeValuesAreErrorsNamingTheKey() throws {
        let base = try TinyData.yaml(output: dir.appendingPathComponent("out"), steps: 2)
        var r = try train(base, ["--set", "lr=.nan"])
        XCTAssertTrue(r.2.contains("--set lr=.nan: key 'lr': expected a finite number, got .nan"), r.2)
        r = try train(base.replacingOccurrences(of: "lr: 3.0e-3", with: "lr: .inf"))
        XCTAssertTrue(r.2.contains(": key 'lr': expected a finite number, got .inf"), r.2)
        let started = Date()
        r = try train(base, ["--set", "batch_size=100000000"])
        XCTAssertNotEqual(r.0, 0)
        XCTAssertTrue(r.2.contains("key 'batch_size': batch_size 100000000 x grad_accum 2 rows of 64 tokens need about"), r.2)
        r = try train(base, ["--set", "model.config.num_hidden_layers=1000000000"])
        XCTAssertNotEqual(r.0, 0)
        XCTAssertTrue(r.2.contains("field 'num_hidden_layers': 1000000000 is above 1024"), r.2)
        r = try train(base, ["--set", "model.config.num_hidden_layers=1000", "--set", "model.config.hidden_size=8192", "--set", "model.config.intermediate_size=32768"])
        XCTAssertNotEqual(r.0, 0)
        XCTAssertTrue(r.2.contains("key 'model.config'") && r.2.contains("parameters need") && r.2.contains("for full fine-tuning in float32"), r.2)
        XCTAssertLessThan(Date().timeIntervalSince(started), 60, "refused before allocating")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out/metrics.jsonl").path), "no step ran")
    }

    /// --dry-run prints the memory plan and trains nothing; a plan that cannot fit is refused
    /// with what to lower, before any weight exists.
    func testDryRunPrintsTheMemoryPlanAndTrainsNothing() throws {
        let out = dir.appendingPathComponent("planned")
        let base = try TinyData.yaml(output: out, steps: 2)
        var r = try train(base, ["--dry-run"])
        XCTAssertEqual(r.0, 0, r.2)
        for line in ["parameters ", "per parameter     16 bytes per trainable parameter (fp32 weight, gradient, AdamW's two moments)", "activations ", "peak per device ", ": fits"] {
            XCTAssertTrue(r.1.contains(line), "\(line) in:\n\(r.1)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "a dry run writes nothing")
        r = try train(base, ["--dry-run", "--set", "model.config.num_hidden_layers=1000", "--set", "model.config.hidden_size=8192",
                             "--set", "model.config.intermediate_size=32768"])
        XCTAssertNotEqual(r.0, 0)
        XCTAssertTrue(r.1.contains("does not fit"), r.1)
        XCTAssertTrue(r.2.contains("key 'model.config'") && r.2.contains("for full fine-tuning in float32") && r.2.contains("try dtype bfloat16"), r.2)
        r = try train(base, ["--dry-run", "--set", "batch_size=100000000"])
        XCTAssertTrue(r.2.contains("key 'batch_size'") && r.2.contains("lower batch_size"), r.2)
        // A GPU run planned here: the size given, CUDA only parsed.
        r = try train(base, ["--dry-run", "--set", "device=cuda", "--set", "dtype=bfloat16", "--device-memory", "1MB"])
        XCTAssertTrue(r.1.contains("mode              full fine-tuning in bfloat16, float32 master weights") && r.1.contains("does not fit"), r.1)
        // A real run prints the same plan before its first step.
        r = try train(base)
        XCTAssertEqual(r.0, 0, r.2)
        XCTAssertTrue(r.1.contains("plan: per parameter     16 bytes per trainable parameter"), r.1)
    }

    func testAFolderThatIsNotARunIsNotWrittenInto() throws {
        let mine = dir.appendingPathComponent("mine")
        try FileManager.default.createDirectory(at: mine, withIntermediateDirectories: true)
        try "keep".write(to: mine.appendingPathComponent("metrics.txt"), atomically: true, encoding: .utf8)
        let r = try train(try TinyData.yaml(output: mine, steps: 2))
        XCTAssertNotEqual(r.0, 0)
        XCTAssertTrue(r.2.contains("\(mine.path): cannot write: the folder holds other files"), r.2)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: mine.path), ["metrics.txt"])
    }

    func testResumeWithNothingToResumeIsAnError() throws {
        let r = try train(try TinyData.yaml(output: dir.appendingPathComponent("fresh"), steps: 2), ["--resume"])
        XCTAssertNotEqual(r.0, 0)
        XCTAssertTrue(r.2.contains("holds no checkpoint to continue; drop --resume to start a new run there"), r.2)
    }

    func testDuplicateKeysInAConfigurationAreErrors() throws {
        let r = try train(try TinyData.yaml(output: dir.appendingPathComponent("dup"), steps: 2) + "\nsteps: 3\n")
        XCTAssertNotEqual(r.0, 0)
        XCTAssertTrue(r.2.contains("key 'steps': appears twice"), r.2)
    }
}
