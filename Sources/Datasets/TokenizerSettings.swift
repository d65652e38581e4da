import ChatTemplates
import Common
import Foundation
import Settings
import Tokenizers

/// `bcsft tokenizer train` and `kind: tokenizer`: a SentencePiece model trained on text or SFT
/// records. The defaults are `SentencePieceTrainer`'s.
public struct TokenizerSettings: Settings {
    /// Required.
    public var vocabSize = 0
    /// unigram, bpe, char or word.
    public var modelType = SentencePieceTrainer.standard.modelType.rawValue
    /// The chat template whose turn markers become single pieces; with SFT records as input,
    /// the default template's.
    public var template: String?
    /// Further pieces never split.
    public var userSymbols: [String] = []
    public var threads = SentencePieceTrainer.standard.threads
    /// Unseen characters as UTF-8 bytes (true) or <unk>.
    public var byteFallback = SentencePieceTrainer.standard.byteFallback

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", modelType = "model_type", template, userSymbols = "user_symbols", threads, byteFallback = "byte_fallback"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.update(&vocabSize, .vocabSize)
        try c.update(&modelType, .modelType)
        try c.update(&template, .template)
        try c.update(&userSymbols, .userSymbols)
        try c.update(&threads, .threads)
        try c.update(&byteFallback, .byteFallback)
    }

    public func validate() throws {
        if vocabSize == 0 { throw SettingsError.invalid("vocab_size", "missing: the number of pieces") }
        guard vocabSize >= 64 else { throw SettingsError.invalid("vocab_size", "must be at least 64") }
        if SentencePieceTrainer.ModelType(rawValue: modelType) == nil {
            throw SettingsError.invalid("model_type", "'\(modelType)' is not one of \(SentencePieceTrainer.ModelType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let t = template {
            guard ChatTemplate.builtin(t) != nil else {
                throw SettingsError.invalid("template", "'\(t)' is not a built-in template (\(ChatTemplate.builtinNames.joined(separator: ", "))): only those need pieces of their own")
            }
        }
        if threads < 1 { throw SettingsError.invalid("threads", "must be at least 1") }
    }

    /// The trainer for these settings; `records` says whether the inputs are SFT records, whose
    /// chat markers (of `template`, else the default template) become single pieces.
    public func trainer(records: Bool) throws -> SentencePieceTrainer {
        var t = SentencePieceTrainer(vocabularySize: vocabSize)
        if let m = SentencePieceTrainer.ModelType(rawValue: modelType) { t.modelType = m }
        let markers = (template ?? (records ? DatasetSettings().template : nil)).map { ChatTemplate.markers(ofBuiltin: $0) } ?? []
        t.userDefinedSymbols = markers + userSymbols.filter { !markers.contains($0) }
        t.threads = threads
        t.byteFallback = byteFallback
        return t
    }

    /// Trains on `inputs`: text files, or SFT records (`.jsonl`, whose message contents are
    /// used), written to `output` (a .model path, its .vocab beside it).
    public func train(inputs: [URL], output: URL) throws -> SentencePieceTokenizer {
        let records = inputs.contains { $0.pathExtension == "jsonl" }
        let trainer = try self.trainer(records: records)
        let scratch = output.deletingLastPathComponent().appendingPathComponent(".corpus-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        for url in inputs { try FileCheck.readable(url) }
        let texts = try inputs.enumerated().map { i, url -> URL in
            guard url.pathExtension == "jsonl" else { return url }
            let text = scratch.appendingPathComponent("records-\(i).txt")
            try TokenizerCorpus.extract(from: url, to: text)
            return text
        }
        return try trainer.train(inputs: texts, output: output)
    }
}
