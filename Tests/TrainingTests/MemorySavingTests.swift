import Foundation
import Models
import TestSupport
import Torch
import Training
import XCTest

/// The settings that trade compute for memory change no number: `activation_checkpointing`
/// (each decoder layer recomputed in backward) and `loss_chunk_tokens` (the head and its loss in
/// chunks past that many tokens) give the plain run's losses over a few steps.
final class MemorySavingTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func losses(_ name: String, _ overrides: [String]) throws -> [Double] {
        let c = try TrainConfig.load(yaml: TinyData.yaml(output: dir.appendingPathComponent(name), steps: 3),
                                     source: "test.yaml", overrides: ["save_every=0", "eval_every=3"] + overrides)
        let trainer = try Trainer(c)
        try trainer.run()
        let text = try String(contentsOf: dir.appendingPathComponent(name).appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").flatMap { line -> [Double] in
            let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return [try XCTUnwrap(o["loss"] as? Double)] + ((o["val_loss"] as? Double).map { [$0] } ?? [])
        }
    }

    func testActivationCheckpointingGivesTheSameLosses() throws {
        let plain = try losses("plain", []), again = try losses("ckpt", ["activation_checkpointing=true"])
        XCTAssertEqual(plain.count, 4, "three steps and one validation loss")
        for (a, b) in zip(plain, again) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testChunkedLossGivesTheSameLosses() throws {
        // Micro-batches of 2 x 64 tokens: 0 keeps the logits, 50 computes them in chunks of 50.
        let plain = try losses("plain", ["loss_chunk_tokens=0"]), chunked = try losses("chunked", ["loss_chunk_tokens=50"])
        XCTAssertEqual(plain.count, 4)
        for (a, b) in zip(plain, chunked) { XCTAssertEqual(a, b, accuracy: 1e-5 * Swift.abs(a)) }
        XCTAssertThrowsError(try TrainConfig.load(yaml: TinyData.yaml(output: dir.appendingPathComponent("bad"), steps: 1), source: "test.yaml",
                                                  overrides: ["loss_chunk_tokens=-1"])) { error in
            XCTAssertTrue(error.localizedDescription.contains("loss_chunk_tokens"), error.localizedDescription)
        }
    }

    func testTheMemoryPlanCountsWhatTheyKeep() throws {
        let qwen = LlamaConfig(vocabSize: 151_936, hiddenSize: 1536, intermediateSize: 8960, numHiddenLayers: 28, numAttentionHeads: 12, numKeyValueHeads: 2)
        func activations(_ overrides: [String], seqLen: Int, model: LlamaConfig = qwen) throws -> Double {
            let c = try TrainConfig.load(yaml: "data: d\noutput: o\nsteps: 1\nbatch_size: 8\nmodel: {from: m}", source: "t.yaml", overrides: overrides)
            return MemoryPlan(c, model: model, seqLen: seqLen, device: .cuda(0)).activationBytes
        }
        let plain = try activations(["loss_chunk_tokens=0"], seqLen: 16896)
        let chunked = try activations([], seqLen: 16896)
        let both = try activations(["activation_checkpointing=true"], seqLen: 16896)
        let gib = 1073741824.0
        // 8 x 16896 tokens x 151,936 logits x 12 bytes is ~230 GiB; in chunks of 4096 ~7 GiB.
        XCTAssertEqual((plain - chunked) / gib, (135_168.0 - 4096) * 151_936 * 12 / gib - 151_936 * 1536 * 4 / gib, accuracy: 0.01)
        XCTAssertLessThan(both, chunked / 3, "recomputed layers keep one vector per token per layer")
        // The demo's 8 x 256 micro-batches stay under the bound: the default changes nothing there.
        let small = LlamaConfig(vocabSize: 512, hiddenSize: 128, intermediateSize: 344, numHiddenLayers: 4, numAttentionHeads: 4, numKeyValueHeads: 2)
        XCTAssertEqual(try activations([], seqLen: 256, model: small), try activations(["loss_chunk_tokens=0"], seqLen: 256, model: small))
    }
}
