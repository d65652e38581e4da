import Foundation
import Settings
import TestSupport
import Torch
import XCTest

@testable import Models

/// repetition_penalty and min_p in the student's own generation, as transformers and vLLM define
/// them: against transformers' generate() (fixtures by make_hf_sampling_fixtures.py), on logits
/// written by hand, and by what they must do to greedy decoding.
final class SamplingSettingsTests: XCTestCase {
    static func fixture(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: HFFixture.dir.appendingPathComponent("expected_sampling.json"))
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try XCTUnwrap(root[name] as? [String: Any])
    }

    /// Row 0's prompt tokens as the [1, V] mask `processed` reads.
    func seen(_ ids: [Int32], vocab: Int) throws -> Tensor {
        var flags = [Bool](repeating: false, count: vocab)
        for id in ids { flags[Int(id)] = true }
        return try Tensor(flags, shape: [1, vocab])
    }

    func testGreedyWithARepetitionPenaltyMatchesTransformers() throws {
        for name in ["hf-gqa", "hf-tied"] {
            let e = try Self.fixture(name)
            let model = try Checkpoint.load(HFFixture.dir.appendingPathComponent(name))
            let prompt = try XCTUnwrap(e["prompt"] as? [Int]).map(Int32.init)
            let greedy = try XCTUnwrap(e["greedy"] as? [String: [Int]])
            for (penalty, expected) in greedy {
                let p = Sampling(temperature: 0, repetitionPenalty: try XCTUnwrap(Double(penalty)), maxTokens: expected.count)
                let r = try model.generate(prompts: [prompt], p)[0]
                XCTAssertEqual(r.ids.map(Int.init), expected, "\(name), repetition_penalty \(penalty)")
            }
            // The penalties change the tokens, so the comparison above tests them.
            XCTAssertNotEqual(greedy["1.3"], greedy["1.0"], name)
            XCTAssertNotEqual(greedy["0.7"], greedy["1.0"], name)
        }
    }

    func testTheDistributionDrawnFromMatchesTransformers() throws {
        var compared = 0
        for name in ["hf-gqa", "hf-tied"] {
            let e = try Self.fixture(name)
            let model = try Checkpoint.load(HFFixture.dir.appendingPathComponent(name))
            let prompt = try XCTUnwrap(e["prompt"] as? [Int]).map(Int32.init)
            let logits = try withNoGrad { try model.forward(Tensor(prompt.map(Int64.init), shape: [1, prompt.count])) }
            let last = try logits.narrow(1, start: prompt.count - 1, length: 1).squeeze(1)
            let mask = try seen(prompt, vocab: model.config.vocabSize)
            for case let item as [String: Any] in try XCTUnwrap(e["processed"] as? [Any]) {
                let s = try XCTUnwrap(item["settings"] as? [String: Double])
                let p = Sampling(temperature: s["temperature"], topP: s["top_p"], topK: s["top_k"].map(Int.init), minP: s["min_p"],
                                 repetitionPenalty: s["repetition_penalty"])
                let ours = try model.processed(last, p, seen: mask).softmax(-1).toArray(Float.self)
                let theirs = try XCTUnwrap(item["probs"] as? [Double]).map(Float.init)
                XCTAssertEqual(ours.indices.filter { ours[$0] > 0 }, theirs.indices.filter { theirs[$0] > 0 }, "\(name) \(s): the tokens kept")
                XCTAssertLessThan(maxAbsDiff(ours, theirs), 1e-4, "\(name) \(s)")
                compared += 1
            }
        }
        XCTAssertEqual(compared, 10)
    }

    func testThePenaltyAndMinPOnLogitsWrittenByHand() throws {
        let m = try Llama(config: LlamaConfig(vocabSize: 4, hiddenSize: 8, intermediateSize: 8, numHiddenLayers: 1, numAttentionHeads: 2, numKeyValueHeads: 2),
                          generator: Generator(seed: 1))
        // Tokens 0 and 1 were seen: a positive logit is divided, a negative one multiplied.
        let raw = try Tensor([Float(2), -1, 0.5, 3], shape: [1, 4])
        let seen = try Tensor([true, true, false, false], shape: [1, 4])
        let penalized = try m.processed(raw, Sampling(temperature: 0, repetitionPenalty: 2), seen: seen).toArray(Float.self)
        XCTAssertEqual(penalized, [1, -2, 0.5, 3])
        XCTAssertEqual(try m.processed(raw, Sampling(temperature: 0), seen: seen).toArray(Float.self), [2, -1, 0.5, 3], "1 is off")

        // Probabilities 0.5, 0.3, 0.15, 0.05: min_p 0.5 keeps those at least 0.25.
        let probs: [Float] = [0.5, 0.3, 0.15, 0.05]
        let logits = try Tensor(probs.map { Foundation.log($0) }, shape: [1, 4])
        func kept(_ p: Sampling) throws -> [Int] {
            let q = try m.processed(logits, p, seen: nil).softmax(-1).toArray(Float.self)
            return q.indices.filter { q[$0] > 0 }
        }
        XCTAssertEqual(try kept(Sampling(temperature: 1, topP: 1, minP: 0.5)), [0, 1])
        // After temperature: at 2 they become proportional to their square roots (0.71, 0.55,
        // 0.39, 0.22), and 0.39 is above half of 0.71.
        XCTAssertEqual(try kept(Sampling(temperature: 2, topP: 1, minP: 0.5)), [0, 1, 2])
        XCTAssertEqual(try kept(Sampling(temperature: 1, topP: 1)), [0, 1, 2, 3], "0 is off")
    }

    func testMinPNearOneIsGreedyAndALargePenaltyNeverRepeats() throws {
        let model = try Checkpoint.load(HFFixture.dir.appendingPathComponent("hf-tied"))
        let prompt: [Int32] = [1, 5, 17]
        let greedy = try model.generate(prompts: [prompt], Sampling(temperature: 0, maxTokens: 24))[0].ids
        for seed in 0..<4 {
            let p = Sampling(temperature: 1, topP: 1, minP: 0.999, maxTokens: 24, seed: seed)
            XCTAssertEqual(try model.generate(prompts: [prompt], p)[0].ids, greedy, "seed \(seed)")
        }
        // Plain sampling at temperature 1 does not stay greedy: min_p did the work above.
        XCTAssertTrue(try (0..<4).contains { try model.generate(prompts: [prompt], Sampling(temperature: 1, topP: 1, maxTokens: 24, seed: $0))[0].ids != greedy })

        XCTAssertLessThan(Set(greedy).count, greedy.count, "this model's greedy output repeats itself")
        let penalized = try model.generate(prompts: [prompt], Sampling(temperature: 0, repetitionPenalty: 1e4, maxTokens: 24))[0].ids
        XCTAssertEqual(Set(penalized).count, penalized.count, "no output token twice: \(penalized)")
        XCTAssertTrue(Set(penalized).isDisjoint(with: prompt), "no prompt token: \(penalized)")
    }

    /// Each row is penalized for its own tokens only, never its batch mates' or the padding's.
    func testThePenaltyInALeftPaddedBatchIsEachRowsOwn() throws {
        let model = try Checkpoint.load(HFFixture.dir.appendingPathComponent("hf-tied"))
        let prompts: [[Int32]] = [[1, 5, 17, 33, 17, 5], [1, 12], [1, 40, 41]]
        for p in [Sampling(temperature: 0, repetitionPenalty: 1.5, maxTokens: 12),
                  Sampling(temperature: 1, topP: 1, minP: 0.05, repetitionPenalty: 1.5, maxTokens: 12, seed: 3)] {
            let seeds: [UInt64] = [11, 12, 13]
            let batch = try model.generate(prompts: prompts, p, rowSeeds: seeds)
            for (i, prompt) in prompts.enumerated() {
                XCTAssertEqual(batch[i].ids, try model.generate(prompts: [prompt], p, rowSeeds: [seeds[i]])[0].ids, "row \(i), temperature \(p.temperature)")
            }
        }
    }

    func testOutOfRangeValuesAreErrorsNamingTheSetting() throws {
        let model = try Checkpoint.load(HFFixture.dir.appendingPathComponent("hf-gqa"))
        for (p, fragment) in [(Sampling(minP: 1), "'min_p': must lie in [0, 1)"), (Sampling(minP: -0.1), "'min_p': must lie in [0, 1)"),
                              (Sampling(repetitionPenalty: 0), "'repetition_penalty': must be > 0"),
                              (Sampling(repetitionPenalty: -1), "'repetition_penalty': must be > 0")] {
            XCTAssertThrowsError(try model.generate(prompts: [[1, 2]], p)) { error in
                XCTAssertTrue(error.localizedDescription.contains(fragment), error.localizedDescription)
            }
        }
    }
}
