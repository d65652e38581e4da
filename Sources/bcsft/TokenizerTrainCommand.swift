import ArgumentParser
import Datasets
import Foundation
import Tokenizers

struct TokenizerTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a SentencePiece model on text files (one sentence per line) or SFT records (.jsonl)."
    )

    @Option(name: .customLong("corpus"), help: "Input: a text file, or SFT records ending in .jsonl whose message contents are used (repeatable).")
    var corpus: [String]
    @Option(help: "Chat template whose turn markers become single pieces (bcsft or llama2) (default: bcsft's for .jsonl inputs, none for text).")
    var template: String?
    @Option(name: .customLong("vocab-size"), help: "Vocabulary size.") var vocabSize: Int
    @Option(name: .customLong("model-type"), help: help("unigram, bpe, char or word.", default: TokenizerSettings().modelType)) var modelType: String?
    @Option(name: .long, help: "Output path of the .model file (a .vocab is written beside it).") var output: String
    @Option(name: .customLong("user-symbols"), help: "A piece never split, e.g. a chat marker (repeatable).") var userSymbols: [String] = []
    @Option(help: help("Training threads. SentencePiece's result depends on the thread count and, with several, on timing; 1 gives the same model every run.",
                       default: TokenizerSettings().threads))
    var threads: Int?
    @Flag(inversion: .prefixedNo, help: help("Map unseen characters to UTF-8 bytes, not <unk>.", default: TokenizerSettings().byteFallback)) var byteFallback: Bool?

    func validate() throws {
        guard output.hasSuffix(".model") else { throw ValidationError("--output must end in .model") }
    }

    func settings() throws -> TokenizerSettings {
        var g = GivenSettings()
        g.set("vocab_size", vocabSize)
        g.set("model_type", modelType)
        g.set("template", template)
        g.set("user_symbols", list: userSymbols)
        g.set("threads", threads)
        g.set("byte_fallback", byteFallback)
        return try g.decode(TokenizerSettings.self)
    }

    func run() throws {
        let tok = try settings().train(inputs: corpus.map { URL(fileURLWithPath: $0) }, output: URL(fileURLWithPath: output))
        print("wrote \(output) (\(tok.vocabularySize) pieces, sha256 \(tok.sha256.prefix(16))…)")
    }
}
