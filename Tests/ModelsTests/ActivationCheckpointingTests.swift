import Foundation
import Models
import Torch
import XCTest

/// Llama with `activationCheckpointing`: every decoder layer recomputed in backward gives the
/// plain run's loss and the gradient of every weight, on packed rows (document masks), for each
/// family's layer shape; and the final hidden states times the head are the logits.
final class ActivationCheckpointingTests: XCTestCase {
    func gradients(_ model: Llama, checkpointed: Bool) throws -> (Double, [String: [Float]]) {
        model.activationCheckpointing = checkpointed
        for (_, w) in model.parameters { try w.zeroGrad() }
        let ids = try Tensor([1, 7, 9, 22, 3, 40, 2, 11, 5, 8, 13, 21] as [Int64], shape: [2, 6])
        let positions = try Tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 3, 4, 5] as [Int64], shape: [2, 6])
        let documents = try Tensor([0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0] as [Int64], shape: [2, 6])
        let targets = try Tensor([7, 9, -100, 3, 40, 2, 8, 13, 21, 34, 55, -100] as [Int64])
        let logits = try model.forward(ids, positions: positions, documentIDs: documents)
        let loss = try crossEntropy(logits.view([-1, model.config.vocabSize]), targets)
        try loss.backward()
        var grads: [String: [Float]] = [:]
        for (name, w) in model.parameters { grads[name] = try XCTUnwrap(w.grad, name).toArray(Float.self) }
        return (try loss.item(), grads)
    }

    func testCheckpointedLayersGiveThePlainGradients() throws {
        var configs: [LlamaConfig] = []
        var c = LlamaConfig(vocabSize: 64, hiddenSize: 32, intermediateSize: 48, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2)
        configs.append(c)
        c.family = .qwen3
        c.explicitHeadDim = 16  // q/k norms and an explicit head size
        c.tieWordEmbeddings = true
        configs.append(c)
        for config in configs {
            let model = try Llama(config: config, generator: Generator(seed: 9))
            let (plainLoss, plain) = try gradients(model, checkpointed: false)
            let (loss, again) = try gradients(model, checkpointed: true)
            XCTAssertEqual(loss, plainLoss, accuracy: 1e-6)
            XCTAssertEqual(Set(again.keys), Set(plain.keys))
            for (name, g) in plain {
                let worst = zip(g, again[name]!).map { Swift.abs($0 - $1) }.max() ?? 0
                XCTAssertLessThan(worst, 1e-6, "\(config.family) \(name)")
            }
        }
    }

    func testHiddenStatesTimesTheHeadAreTheLogits() throws {
        let config = LlamaConfig(vocabSize: 64, hiddenSize: 32, intermediateSize: 48, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2)
        let model = try Llama(config: config, generator: Generator(seed: 3))
        let ids = try Tensor([1, 7, 9, 22, 3, 40] as [Int64], shape: [1, 6])
        try withNoGrad {
            XCTAssertEqual(try model.hiddenStates(ids).linear(model.headWeight).toArray(Float.self), try model.forward(ids).toArray(Float.self))
        }
    }
}
