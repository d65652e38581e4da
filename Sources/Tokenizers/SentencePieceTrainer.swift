import CSentencePieceAPI
import Common
import Foundation

/// Trains a SentencePiece model. The defaults suit SFT data: digits split one by one (math
/// answers tokenize consistently), byte fallback on (no <unk> for rare characters), text kept
/// exactly (identity normalisation, whitespace runs preserved, so decode(encode(t)) == t), the
/// Llama special-id layout (unk 0, bos 1, eos 2) plus a pad id 3.
public struct SentencePieceTrainer: Sendable {
    public enum ModelType: String, Sendable, CaseIterable { case unigram, bpe, char, word }

    public var vocabularySize: Int
    public var modelType: ModelType = .unigram
    /// Pieces kept whole and never split (chat markers such as "<|user|>").
    public var userDefinedSymbols: [String] = []
    public var byteFallback = true
    public var splitDigits = true
    public var characterCoverage = 1.0
    /// "identity" keeps text exactly; "nmt_nfkc" is SentencePiece's default normalisation.
    public var normalization = "identity"
    /// SentencePiece collapses whitespace runs by default; SFT data keeps them (code, tables).
    public var removeExtraWhitespaces = false
    /// Sentences longer than this (bytes) are skipped by the trainer.
    public var maxSentenceLength = 16384
    /// 0: use every input sentence; otherwise sample this many.
    public var inputSentenceSize = 0
    /// One by default: SentencePiece's multi-threaded training differs from run to run (it
    /// depends on timing), and an experiment must give the same tokenizer when rerun.
    public var threads = 1
    /// Raw SentencePiece trainer options, applied last (they win).
    public var extraOptions: [String: String] = [:]

    public init(vocabularySize: Int, modelType: ModelType? = nil) {
        self.vocabularySize = vocabularySize
        if let modelType { self.modelType = modelType }
    }

    /// The defaults (what settings that leave a field out get).
    public static let standard = SentencePieceTrainer(vocabularySize: 0)

    /// Trains on text files (one sentence per line) and writes `output` (a `.model` path)
    /// and its `.vocab` beside it. The files appear atomically: training happens in a
    /// temporary folder next to `output`, then the results are renamed into place.
    @discardableResult
    public func train(inputs: [URL], output: URL) throws -> SentencePieceTokenizer {
        guard vocabularySize > 0 else { throw TokenizerError.invalidOption("vocabulary size must be positive") }
        guard !inputs.isEmpty else { throw TokenizerError.invalidOption("no input files") }
        for url in inputs {
            // Not only missing files: a folder or a device (/dev/zero never ends) is refused too.
            do { try FileCheck.readable(url) } catch let FileError.cannotRead(path, reason) {
                throw TokenizerError.invalidOption("input \(path): \(reason)")
            }
        }
        for s in userDefinedSymbols where s.contains(",") || s.isEmpty {
            throw TokenizerError.invalidOption("user-defined symbol '\(s)' is empty or contains a comma")
        }
        let fm = FileManager.default
        let dir = output.deletingLastPathComponent()
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        let tmp = dir.appendingPathComponent(".spm-train-\(UUID().uuidString)")
        try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: tmp) }
        let prefix = tmp.appendingPathComponent("m").path

        var options: [(String, String)] = [
            ("input", inputs.map(\.path).joined(separator: ",")),
            ("model_prefix", prefix),
            ("vocab_size", String(vocabularySize)),
            ("model_type", modelType.rawValue),
            ("byte_fallback", String(byteFallback)),
            ("split_digits", String(splitDigits)),
            ("character_coverage", String(characterCoverage)),
            ("normalization_rule_name", normalization),
            ("remove_extra_whitespaces", String(removeExtraWhitespaces)),
            ("max_sentence_length", String(maxSentenceLength)),
            ("input_sentence_size", String(inputSentenceSize)),
            ("shuffle_input_sentence", "true"),
            ("num_threads", String(threads)),
            ("unk_id", "0"), ("bos_id", "1"), ("eos_id", "2"), ("pad_id", "3"),
            ("hard_vocab_limit", "false"),
            ("minloglevel", "2"),
        ]
        if !userDefinedSymbols.isEmpty { options.append(("user_defined_symbols", userDefinedSymbols.joined(separator: ","))) }
        for (k, v) in extraOptions.sorted(by: { $0.key < $1.key }) {
            options.removeAll { $0.0 == k }
            options.append((k, v))
        }

        let lib = try SentencePieceLibrary.shared()
        let keys = options.map { strdup($0.0) }
        let values = options.map { strdup($0.1) }
        defer { (keys + values).forEach { Foundation.free($0) } }
        let status = keys.map { UnsafePointer($0) }.withUnsafeBufferPointer { k in
            values.map { UnsafePointer($0) }.withUnsafeBufferPointer { v in
                lib.api.train(k.baseAddress, v.baseAddress, Int32(options.count))
            }
        }
        guard status == CSPM_OK else { throw TokenizerError.trainingFailed(Self.explain(lib.message, vocabularySize: vocabularySize)) }

        let vocabOut = output.deletingPathExtension().appendingPathExtension("vocab")
        for (from, to) in [("m.vocab", vocabOut), ("m.model", output)] {
            // rename(2) replaces an existing file atomically.
            guard rename(tmp.appendingPathComponent(from).path, to.path) == 0 else {
                throw TokenizerError.trainingFailed("cannot move the trained \(from) to \(to.path): \(String(cString: strerror(errno)))")
            }
        }
        return try SentencePieceTokenizer(contentsOf: output)
    }

    /// SentencePiece's internal assertions, said as what to change where we know them.
    static func explain(_ message: String, vocabularySize: Int) -> String {
        // "Vocabulary size is smaller than required_chars. 300 vs 328."
        if message.contains("Vocabulary size is smaller than required_chars"),
           let vs = message.range(of: #"\d+ vs (\d+)"#, options: .regularExpression) {
            let needed = message[vs].split(separator: " ").last.map(String.init) ?? "?"
            return "vocab_size \(vocabularySize) is too small for this corpus: its distinct characters and the special pieces need \(needed) pieces "
                + "before any merge. Raise vocab_size above \(needed) (a few hundred more leave room for useful pieces), or train on text with fewer distinct characters"
        }
        return message
    }
}
