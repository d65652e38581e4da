import ArgumentParser
import Datasets
import Foundation
import Tokenizers

struct TokenizerTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a SentencePiece model on text files (one sentence per line) or SFT records (.jsonl)."
    )

    @Option(name: .long, help: "Input: a text file, or SFT records ending in .jsonl whose message contents are used (repeatable).")
    var input: [String]

    @Option(help: "Chat template whose turn markers become single pieces (bcsft or llama2); implied for .jsonl inputs.")
    var template: String?

    @Option(name: .customLong("vocab-size"), help: "Vocabulary size.")
    var vocabSize: Int

    @Option(name: .customLong("model-type"), help: "unigram or bpe (also char, word).")
    var modelType: String = "unigram"

    @Option(name: .long, help: "Output path of the .model file (a .vocab is written beside it).")
    var output: String

    @Option(name: .customLong("user-symbol"), help: "A piece never split, e.g. a chat marker (repeatable).")
    var userSymbols: [String] = []

    @Option(help: "Training threads (default: all cores). SentencePiece's result depends on the thread count and, with several, on timing; 1 gives the same model every run.")
    var threads: Int?

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
        let hasRecords = input.contains { $0.hasSuffix(".jsonl") }
        let chat = try (template ?? (hasRecords ? ChatTemplate.default.name : nil)).map(ChatTemplate.named)
        trainer.userDefinedSymbols = (chat?.markers ?? []) + userSymbols.filter { !(chat?.markers ?? []).contains($0) }
        trainer.byteFallback = !noByteFallback
        if let threads { trainer.threads = max(1, threads) }
        // SFT records become plain text (message contents) in a temporary folder first.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("bcsft-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let inputs = try input.enumerated().map { i, path -> URL in
            let url = URL(fileURLWithPath: path)
            guard path.hasSuffix(".jsonl") else { return url }
            let text = scratch.appendingPathComponent("records-\(i).txt")
            try TokenizerCorpus.extract(from: url, to: text)
            return text
        }
        let tok = try trainer.train(inputs: inputs, output: URL(fileURLWithPath: output))
        print("wrote \(output) (\(tok.vocabularySize) pieces, sha256 \(tok.sha256.prefix(16))…)")
    }
}
