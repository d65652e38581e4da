import Foundation
import Models
import Settings
import TestSupport
import Torch
import XCTest

/// The families' named differences, checked on the model's own terms (parity with transformers
/// is FamilyParityTests, on fixtures).
final class FamilyTests: XCTestCase {
    func config(_ family: LlamaConfig.Family, layers: Int = 2) -> LlamaConfig {
        var c = LlamaConfig(vocabSize: 64, hiddenSize: 32, intermediateSize: 48, numHiddenLayers: layers, numAttentionHeads: 4, numKeyValueHeads: 2)
        c.family = family
        switch family {
        case .qwen2: (c.qkvBias, c.outputBias) = (true, false)
        case .qwen3: c.explicitHeadDim = 16  // 4 heads x 16 = 64, not hidden_size 32
        case .mistral: c.explicitHeadDim = 12; c.slidingWindow = 4
        case .llama: break
        }
        return c
    }

    /// Each family saves a config.json of its own model_type that loads back as the same model.
    func testEachFamilySavesAndLoadsBackExactly() throws {
        for family in LlamaConfig.Family.allCases {
            let model = try Llama(config: config(family), generator: Generator(seed: 4))
            let dir = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            try Checkpoint.save(model, to: dir)
            let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("config.json"))) as? [String: Any])
            XCTAssertEqual(json["model_type"] as? String, family.rawValue)
            XCTAssertEqual(json["architectures"] as? [String], [family.architecture])
            XCTAssertEqual(json["head_dim"] as? Int, model.config.headDim)
            let reloaded = try Checkpoint.load(dir)
            XCTAssertEqual(reloaded.config, model.config, family.rawValue)
            let ids = try Tensor([1, 7, 9, 22, 3, 40, 2, 11] as [Int64], shape: [1, 8])
            XCTAssertEqual(try withNoGrad { try reloaded.forward(ids).toArray(Float.self) },
                           try withNoGrad { try model.forward(ids).toArray(Float.self) }, family.rawValue)
            let names = Set(model.weights.keys)
            XCTAssertEqual(names.contains("model.layers.0.self_attn.q_proj.bias"), family == .qwen2, family.rawValue)
            XCTAssertEqual(names.contains("model.layers.0.self_attn.o_proj.bias"), false, family.rawValue)
            XCTAssertEqual(names.contains("model.layers.0.self_attn.q_norm.weight"), family == .qwen3, family.rawValue)
        }
    }

    /// With one layer, a query under a window of w sees exactly the w tokens ending at it: its
    /// logits equal those of the last position of those w tokens alone (rotary is relative).
    func testSlidingWindowSeesExactlyTheLastWindowTokens() throws {
        var c = config(.mistral, layers: 1)
        c.slidingWindow = 4
        let model = try Llama(config: c, generator: Generator(seed: 9))
        let tokens: [Int64] = [5, 9, 2, 33, 17, 8, 60, 1, 12, 44]
        let full = try withNoGrad { try model.forward(Tensor(tokens, shape: [1, tokens.count])).toArray(Float.self) }
        let v = c.vocabSize
        for i in 3..<tokens.count {
            let window = Array(tokens[(i - 3)...i])
            let alone = try withNoGrad { try model.forward(Tensor(window, shape: [1, 4])).toArray(Float.self) }
            XCTAssertLessThan(maxAbsDiff(Array(full[(i * v)..<((i + 1) * v)]), Array(alone[(3 * v)...])), 1e-5, "position \(i)")
        }
        // Without the window the same weights see further back.
        var wide = c
        wide.slidingWindow = nil
        let unwindowed = try Llama(config: wide, weights: model.weights)
        let all = try withNoGrad { try unwindowed.forward(Tensor(tokens, shape: [1, tokens.count])).toArray(Float.self) }
        XCTAssertGreaterThan(maxAbsDiff(Array(all[(9 * v)...]), Array(full[(9 * v)...])), 1e-4)
        // Cached generation applies the same window: greedy tokens equal a full recompute's.
        let p = Sampling(temperature: 0, maxTokens: 8)
        let generated = try model.generate(prompts: [Array(tokens.prefix(6)).map(Int32.init)], p)[0].ids
        var seq = Array(tokens.prefix(6))
        for _ in 0..<generated.count {
            let logits = try withNoGrad { try model.forward(Tensor(seq, shape: [1, seq.count])).toArray(Float.self) }
            let last = Array(logits[((seq.count - 1) * v)...])
            seq.append(Int64(last.indices.max { last[$0] < last[$1] }!))
        }
        XCTAssertEqual(generated.map(Int64.init), Array(seq.dropFirst(6)))
    }
}
