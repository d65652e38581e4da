import Datasets
import Foundation
import Recipes
import Tokenizers

/// `kind: tokenizer`: a SentencePiece model (`tokenizer.model`) trained on SFT records
/// (`corpus`: one or more .jsonl files or stage folders holding sft.jsonl), with the chat
/// template's markers as single pieces.
struct TokenizerStage: StageKind {
    let name = "tokenizer"
    let version = "2"
    let settingKeys: Set<String> = ["vocab_size", "model_type", "template"]
    let inputNames: Set<String>? = ["corpus"]

    func validate(_ s: StageSettings, inputs: StageInputs) throws {
        guard try s.value("vocab_size", as: Int.self) >= 64 else { throw s.error("vocab_size", "must be at least 64") }
        let type: String = try s.value("model_type", default: "unigram")
        guard SentencePieceTrainer.ModelType(rawValue: type) != nil else { throw s.error("model_type", "'\(type)' is not unigram, bpe, char or word") }
        _ = try ChatTemplate.named(try s.value("template", default: "bcsft"))
        _ = try inputs.urls("corpus")
    }

    func run(_ context: StageContext) async throws {
        let s = context.settings
        var trainer = SentencePieceTrainer(vocabularySize: try s.value("vocab_size"),
                                           modelType: SentencePieceTrainer.ModelType(rawValue: try s.value("model_type", default: "unigram"))!)
        trainer.userDefinedSymbols = try ChatTemplate.named(try s.value("template", default: "bcsft")).markers
        // One thread: SentencePiece's multi-threaded training differs from run to run, and an
        // experiment must give the same tokenizer (hence the same students) when rerun.
        trainer.threads = 1
        let scratch = context.output.appendingPathComponent("corpus")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        var texts: [URL] = []
        for (i, url) in try context.inputs.urls("corpus").enumerated() {
            let text = scratch.appendingPathComponent("records-\(i).txt")
            try TokenizerCorpus.extract(from: StageFiles.records(url), to: text)
            texts.append(text)
        }
        context.progress(nil, "training SentencePiece")
        let tok = try trainer.train(inputs: texts, output: context.output.appendingPathComponent("tokenizer.model"))
        try FileManager.default.removeItem(at: scratch)
        context.log("\(tok.vocabularySize) pieces, sha256 \(tok.sha256.prefix(16))")
    }
}

extension StageFiles {
    /// An SFT records file: the path itself, or `sft.jsonl` in a stage folder.
    static func records(_ url: URL) -> URL {
        url.pathExtension == "jsonl" ? url : url.appendingPathComponent("sft.jsonl")
    }

    static func tokenizer(_ url: URL) -> URL {
        url.pathExtension == "model" ? url : url.appendingPathComponent("tokenizer.model")
    }
}
