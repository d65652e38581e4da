import Foundation
import Models
import Settings
import TestSupport
import Torch
import Training
import XCTest

/// The trainer's `device` setting: a bad or unusable device is a config error naming the key,
/// raised before any step; where CUDA exists, a run on the GPU follows the same run on the CPU.
final class TrainerDeviceTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func config(_ name: String, steps: Int, device: String) throws -> TrainConfig {
        try TrainConfig.load(yaml: TinyData.yaml(output: dir.appendingPathComponent(name), steps: steps), source: "run.yaml",
                             overrides: ["device=\(device)"])
    }

    func testMalformedDevicesAreRejectedWithTheKeyNamed() throws {
        for bad in ["tpu", "cuda:x", "cuda:-1", "gpu0"] {
            XCTAssertThrowsError(try config("x", steps: 1, device: bad), bad) { error in
                XCTAssertTrue(error.localizedDescription.hasPrefix("--set device=\(bad): key 'device': '\(bad)' is not cpu, cuda or cuda:N"),
                              error.localizedDescription)
            }
        }
        XCTAssertEqual(try config("x", steps: 1, device: "cuda:1").device, "cuda:1", "well-formed devices load")
        XCTAssertEqual(try TrainConfig.load(yaml: TinyData.yaml(output: dir, steps: 1), source: "run.yaml").device, "cpu", "the default")
    }

    func testCUDAWithoutCUDAStopsBeforeTrainingWithAnActionableMessage() throws {
        try XCTSkipIf(Runtime.cudaAvailable, "this libtorch has CUDA; the GPU run is testCUDARunFollowsTheCPURun")
        let c = try config("gpu", steps: 2, device: "cuda")
        XCTAssertThrowsError(try Trainer(c)) { error in
            guard case let TrainingError.invalidConfig(_, key, reason) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(key, "device")
            XCTAssertTrue(reason.contains("LIBTORCH"), "says how to get a CUDA build: \(reason)")
        }
        let metrics = dir.appendingPathComponent("gpu/metrics.jsonl")
        XCTAssertFalse(FileManager.default.fileExists(atPath: metrics.path), "no step ran")
    }

    /// Runs where libtorch has CUDA (a GPU machine built with LIBTORCH=...): the same seeded run
    /// on cuda:0 and on the CPU. Losses agree to float32 reduction-order differences, and a
    /// checkpoint written from the GPU loads on the CPU and generates the same greedy tokens.
    func testCUDARunFollowsTheCPURun() throws {
        try XCTSkipUnless(Runtime.cudaAvailable, "no CUDA in this libtorch (\(Runtime.torchVersion)): the GPU run needs a CUDA build")
        let cpu = try config("cpu", steps: 8, device: "cpu"), gpu = try config("gpu", steps: 8, device: "cuda")
        let t = try Trainer(gpu)
        XCTAssertEqual(t.device, .cuda(0))
        XCTAssertTrue(try XCTUnwrap(t.model.parameters.first).1.device.isCUDA, "weights live on the GPU")
        try t.run()
        try Trainer(cpu).run()
        let a = try losses(URL(fileURLWithPath: cpu.output)), b = try losses(URL(fileURLWithPath: gpu.output))
        XCTAssertEqual(a.count, b.count)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-3 * max(1, abs(x)), "per-step loss cpu \(a) vs cuda \(b)") }

        let saved = URL(fileURLWithPath: gpu.output).appendingPathComponent("checkpoints/step-000008")
        let onCPU = try Checkpoint.load(saved), onGPU = try Checkpoint.load(saved, device: .cuda(0))
        let p = Sampling(temperature: 0, maxTokens: 12)
        let prompt: [Int32] = [1, 5, 9, 14, 3]
        XCTAssertEqual(try onCPU.generate(prompts: [prompt], p).map(\.ids), try onGPU.generate(prompts: [prompt], p).map(\.ids))
        // Resume on the CPU from the GPU's checkpoint: the optimizer state follows the weights.
        var moved = gpu
        moved.device = "cpu"
        moved.steps = 9
        let resumed = try Trainer(moved, resume: true)
        XCTAssertEqual(resumed.step, 8)
        try resumed.run()
    }
}
