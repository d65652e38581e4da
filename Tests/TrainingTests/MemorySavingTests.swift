import Foundation
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
}
