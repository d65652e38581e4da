import Common
import Evaluation
import Foundation
import Models
import TestSupport
import Torch
import XCTest

/// `bcsft eval` on a student checkpoint: every (problem, budget, sample) graded once, and the
/// summary agrees with the samples.
final class EvalCommandTests: XCTestCase {
    func testEvalWritesOneGradedSamplePerProblemBudgetAndSample() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bcsft = try bcsftExecutable()
        var (status, _, err) = try runProcess(bcsft, ["world", "--out", dir.appendingPathComponent("w").path, "--train", "1", "--test", "5"])
        XCTAssertEqual(status, 0, err)
        let tok = try markerTokenizer(vocabularySize: 400)
        let config = LlamaConfig(vocabSize: tok.vocabularySize, hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 2,
                                 numAttentionHeads: 4, numKeyValueHeads: 2, bosTokenID: tok.bosID.map(Int.init), eosTokenID: tok.eosID.map(Int.init))
        try Checkpoint.save(try Llama(config: config, generator: Generator(seed: 2)), to: dir.appendingPathComponent("ck"), tokenizerFiles: try studentFiles(tok))
        let out = dir.appendingPathComponent("eval")
        let stdout: String
        (status, stdout, err) = try runProcess(bcsft, ["eval", "--problems", dir.appendingPathComponent("w/test.jsonl").path, "--out", out.path,
                                                       "--backend", "local", "--checkpoint", dir.appendingPathComponent("ck").path,
                                                       "--budgets", "4,16", "--samples", "2", "--temperature", "0.8", "--arm", "random"])
        XCTAssertEqual(status, 0, err)
        XCTAssertTrue(stdout.hasPrefix("accuracy "), stdout)
        let samples = try JSONLines.read(EvalSample.self, from: out.appendingPathComponent("samples.jsonl"))
        XCTAssertEqual(samples.count, 5 * 2 * 2)
        XCTAssertEqual(Set(samples.map { "\($0.problemID)/\($0.budget)/\($0.sample)" }).count, 20)
        for s in samples {
            XCTAssertLessThanOrEqual(s.outputTokens, s.budget)
            XCTAssertEqual(s.arm, "random")
            // Truncated means the budget ran out; an end-of-sequence token can also land exactly on it.
            if s.truncated { XCTAssertEqual(s.outputTokens, s.budget) }
        }
        let summary = try Summary.read(from: out.appendingPathComponent("summary.json"))
        XCTAssertEqual(summary, try Summary(samples: samples))
        XCTAssertEqual(summary.budgets.map(\.budget), [4, 16])
    }
}
