import Foundation
import Models
import Backends
import Pipelines
import Settings
import Teachers
import TestSupport
import Torch
import XCTest

/// The in-process student behind the LanguageModel interface.
final class LocalModelTests: XCTestCase {
    func testBatchedConcurrentRequestsEqualOneAtATime() async throws {
        let tok = try markerTokenizer(vocabularySize: 400)
        let config = LlamaConfig(vocabSize: tok.vocabularySize, hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 2,
                                 numAttentionHeads: 4, numKeyValueHeads: 2, bosTokenID: tok.bosID.map(Int.init), eosTokenID: tok.eosID.map(Int.init))
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Checkpoint.save(try Llama(config: config, generator: Generator(seed: 1)), to: dir.appendingPathComponent("ck"), tokenizerFiles: tok.files)
        let model = try LocalModel(checkpoint: dir.appendingPathComponent("ck"), template: "bcsft", maxBatch: 8)
        let prompts = ["What is 2 + 3?", "A much longer question about rectangles and fences and prices?", "Hi", "Count to five."]
        for s in [Sampling(temperature: 0, maxTokens: 12), Sampling(temperature: 1.0, topP: 0.95, maxTokens: 12, seed: 7)] {
            try await checkBatchingChangesNothing(model, prompts, s)
        }
    }

    /// The same completions whether the prompts run one at a time or batched together: greedy,
    /// and sampled (each row draws from a generator seeded by its own request).
    func checkBatchingChangesNothing(_ model: LocalModel, _ prompts: [String], _ s: Sampling) async throws {
        var alone: [Completion] = []
        for p in prompts { alone.append(try await model.complete([.user(p)], s)) }
        let together = try await withThrowingTaskGroup(of: (Int, Completion).self) { group in
            for (i, p) in prompts.enumerated() { group.addTask { (i, try await model.complete([.user(p)], s)) } }
            var out = [Completion?](repeating: nil, count: prompts.count)
            for try await (i, c) in group { out[i] = c }
            return out.map { $0! }
        }
        for (a, b) in zip(alone, together) {
            XCTAssertEqual(a.choices, b.choices, "output does not depend on batching (temperature \(s.temperature))")
            XCTAssertEqual(a.usage, b.usage)
            XCTAssertLessThanOrEqual(a.usage!.completionTokens, 12)
            if a.usage!.completionTokens == 12 { XCTAssertEqual(a.choices[0].finishReason, "length") }
        }
        XCTAssertGreaterThan(alone[1].usage!.promptTokens, alone[2].usage!.promptTokens)
    }
}
