import ArgumentParser
import Foundation
import Tokenizers

struct TokenizerTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a SentencePiece model on text files (one sentence per line)."
    )

    @Option(name: .long, help: "Input text file (repeat for several).")
    var input: [String]

    @Option(name: .customLong("vocab-size"), help: "Vocabulary size.")
    var vocabSize: Int

    @Option(name: .customLong("model-type"), help: "unigram or bpe (also char, word).")
    var modelType: String = "unigram"

    @Option(name: .long, help: "Output path of the .model file (a .vocab is written beside it).")
    var output: String

    @Option(name: .customLong("user-symbol"), help: "A piece never split, e.g. a chat marker (repeatable).")
    var userSymbols: [String] = []

    @Flag(name: .customLong("no-byte-fallback"), help: "Map unseen characters to <unk> instead of UTF-8 bytes.")
    var noByteFallback = false

    func validate() throws {
        guard vocabSize > 0 else { throw ValidationError("--vocab-size must be positive") }
        guard SentencePieceTrainer.ModelType(rawValue: modelType) != nil else {
            throw ValidationError("--model-type must be one of: \(SentencePieceTrainer.ModelType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard output.hasSuffix(".model") else { throw ValidationError("--output must end in .model") }
    }

    func run() throws {
        var trainer = SentencePieceTrainer(vocabularySize: vocabSize, modelType: SentencePieceTrainer.ModelType(rawValue: modelType)!)
        trainer.userDefinedSymbols = userSymbols
        trainer.byteFallback = !noByteFallback
        let tok = try trainer.train(inputs: input.map { URL(fileURLWithPath: $0) }, output: URL(fileURLWithPath: output))
        print("wrote \(output) (\(tok.vocabularySize) pieces, sha256 \(tok.sha256.prefix(16))…)")
    }
}
