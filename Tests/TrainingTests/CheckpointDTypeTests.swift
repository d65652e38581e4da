import Foundation
import Models
import TestSupport
import Torch
import Training
import XCTest

/// save_dtype and max_shard_size: checkpoints a serving stack loads (bf16 shards with an index)
/// that still resume exactly.
final class CheckpointDTypeTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func config(_ name: String, steps: Int, extra: String = "", overrides: [String] = []) throws -> TrainConfig {
        try TrainConfig.load(yaml: TinyData.yaml(output: dir.appendingPathComponent(name), steps: steps, extra: extra), source: "run.yaml", overrides: overrides)
    }

    func testBFloat16CheckpointsServeRoundedWeightsAndResumeExactly() throws {
        // The embeddings alone (400 x 32 in bf16, 25.6 kB) pass 20KB: several shards.
        let extra = "save_dtype: bfloat16\nmax_shard_size: 20KB"
        let straight = try config("straight", steps: 8, extra: extra)
        try Trainer(straight).run()
        let split = try config("split", steps: 8, extra: extra)
        try Trainer(split).run(stopAfter: 6)  // checkpoint at 4; steps 5 and 6 are lost with the "kill"

        let ck = URL(fileURLWithPath: split.output).appendingPathComponent("checkpoints/step-000004")
        let files = try FileManager.default.contentsOfDirectory(atPath: ck.path)
        let shards = files.filter { $0.hasSuffix(".safetensors") }
        XCTAssertGreaterThan(shards.count, 2, "sharded: \(files.sorted())")
        XCTAssertTrue(files.contains("model.safetensors.index.json"))
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: ck.appendingPathComponent("config.json"))) as? [String: Any])
        XCTAssertEqual(config["torch_dtype"] as? String, "bfloat16")
        for shard in shards {
            let (entries, _) = try SafeTensors.header(Data(contentsOf: ck.appendingPathComponent(shard)), path: shard)
            XCTAssertTrue(entries.allSatisfy { $0.dtype == .bfloat16 }, shard)
        }
        // What a server loads is the trained weights rounded to bf16; resume reads the exact ones.
        let served = try Checkpoint.load(ck, dtype: .bfloat16)
        let exact = try SafeTensors.loadFolder(ck.appendingPathComponent("fp32_weights"))
        var rounded = 0
        for (name, w) in served.parameters {
            let e = try XCTUnwrap(exact[name], name)
            XCTAssertEqual(e.dtype, .float32, name)
            XCTAssertEqual(try w.bytes(), try e.to(.bfloat16).bytes(), name)
            if try e.toArray(Float.self) != (try w.toArray(Float.self)) { rounded += 1 }
        }
        XCTAssertGreaterThan(rounded, 0, "bf16 loses bits the exact copy keeps")

        let resumed = try Trainer(split, resume: true)
        XCTAssertEqual(resumed.step, 4)
        for (name, w) in resumed.model.parameters { XCTAssertEqual(try w.toArray(Float.self), try exact[name]!.toArray(Float.self), name) }
        try resumed.run()
        XCTAssertEqual(try losses(URL(fileURLWithPath: straight.output)), try losses(URL(fileURLWithPath: split.output)),
                       "bit-identical per-step losses after resuming a bf16 checkpoint")

        // Without the exact weights, a resume would start from rounded ones: refused.
        let last = URL(fileURLWithPath: split.output).appendingPathComponent("checkpoints/step-000008")
        try FileManager.default.removeItem(at: last.appendingPathComponent("fp32_weights"))
        XCTAssertThrowsError(try Trainer(split, resume: true)) { error in
            XCTAssertTrue(error.localizedDescription.contains("step-000008/fp32_weights: trainer state unusable: missing: the exact float32 weights are gone"), error.localizedDescription)
        }
    }

    func testFloat32CheckpointsKeepOneCopyOfTheWeights() throws {
        let c = try config("fp32", steps: 2)
        try Trainer(c).run()
        let ck = URL(fileURLWithPath: c.output).appendingPathComponent("checkpoints/step-000002")
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: ck.path))
        XCTAssertTrue(files.contains("model.safetensors"), "5GB default: one file")
        XCTAssertFalse(files.contains("fp32_weights"), "the HF weights are the exact ones")
    }

    func testSaveSettingsAreReadAndCheckedWithTheirKey() throws {
        let base = try TinyData.yaml(output: dir.appendingPathComponent("x"), steps: 2)
        let c = try TrainConfig.load(yaml: base, source: "run.yaml", overrides: ["max_shard_size=1000000", "save_dtype=bfloat16"])
        XCTAssertEqual(c.maxShardBytes, 1_000_000)
        XCTAssertEqual(c.saveDtype, .bfloat16)
        XCTAssertEqual(TrainConfig().maxShardBytes, 5_000_000_000, "HF's 5GB")
        XCTAssertEqual(try TrainConfig.load(yaml: base + "\nmax_shard_size: 2GiB", source: "run.yaml").maxShardBytes, 2 << 30)
        XCTAssertThrowsError(try TrainConfig.load(yaml: base + "\nmax_shard_size: 5XB", source: "run.yaml")) { error in
            let line = base.split(separator: "\n", omittingEmptySubsequences: false).count + 1
            XCTAssertTrue(error.localizedDescription.hasPrefix("run.yaml:\(line): key 'max_shard_size': '5XB' is not a size"), error.localizedDescription)
        }
        XCTAssertThrowsError(try TrainConfig.load(yaml: base, source: "run.yaml", overrides: ["save_dtype=float16"])) { error in
            XCTAssertTrue(error.localizedDescription.contains("key 'save_dtype'") && error.localizedDescription.contains("bfloat16"), error.localizedDescription)
        }
    }
}
