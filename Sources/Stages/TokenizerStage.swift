import Datasets
import Foundation
import Recipes
import Tokenizers

/// `kind: tokenizer`: a SentencePiece model (`tokenizer.model`) trained on SFT records
/// (`corpus`: one or more .jsonl files or stage folders holding sft.jsonl), with the chat
/// template's markers as single pieces.
struct TokenizerStage: StepStage {
    typealias Step = TokenizerSettings
    let name = "tokenizer"
    let version = "2"
    let inputNames: Set<String>? = ["corpus"]

    func validate(_ s: StageSettings, inputs: StageInputs) throws {
        _ = try s.decode(Step.self)
        _ = try inputs.urls("corpus")
    }

    func run(_ context: StageContext) async throws {
        let settings = try context.settings.decode(Step.self)
        context.progress(nil, "training SentencePiece")
        let tok = try settings.train(inputs: try context.inputs.urls("corpus").map(StageFiles.records),
                                     output: context.output.appendingPathComponent("tokenizer.model"))
        context.log("\(tok.vocabularySize) pieces, sha256 \(tok.sha256.prefix(16))")
    }
}
