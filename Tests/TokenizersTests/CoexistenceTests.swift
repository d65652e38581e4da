import Foundation
import Tokenizers
import Torch
import XCTest

/// libtorch (linked) and SentencePiece (dlopen'ed with RTLD_DEEPBIND) in one process: the
/// protobuf clash of docs/design.md, trap 1 would crash here if the loading were wrong.
final class CoexistenceTests: XCTestCase {
    func testTokenizerIDsFeedATrainingStep() throws {
        let tok = try SentencePieceTokenizer(contentsOf: Fixture.referenceModel)
        let ids = try tok.encode(batch: try Fixture.parityLines()).flatMap { $0 }.map(Int64.init)
        XCTAssertGreaterThan(ids.count, 100)
        let gen = try Generator(seed: 1)
        let table = try (Tensor.randn([tok.vocabularySize, 16], generator: gen) * 0.1).requiresGrad(true)
        let head = try (Tensor.randn([16, tok.vocabularySize], generator: gen) * 0.1).requiresGrad(true)
        let opt = try AdamW(parameters: [table, head], .init(learningRate: 0.05, weightDecay: 0))
        let inputs = try Tensor(Array(ids.dropLast())), targets = try Tensor(Array(ids.dropFirst()))
        var losses: [Double] = []
        for _ in 0..<20 {
            try opt.zeroGrad()
            let loss = try crossEntropy(table.embedding(inputs).matmul(head), targets)
            try loss.backward()
            try opt.step()
            losses.append(try loss.item())
        }
        XCTAssertLessThan(losses.last!, losses.first! - 0.5, "a bigram model on real token ids must learn: \(losses)")
        // And SentencePiece still works after libtorch has run.
        XCTAssertEqual(try tok.decode(tok.encode("Solve 3x + 5 = 20")), "Solve 3x + 5 = 20")
    }
}
