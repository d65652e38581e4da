import Dispatch
import Foundation

/// What the rest of bcsft needs from a tokenizer. SentencePiece is the one implementation
/// today; a Hugging Face `tokenizer.json` BPE would be another.
public protocol Tokenizer: Sendable {
    var vocabularySize: Int { get }
    var bosID: Int32? { get }
    var eosID: Int32? { get }
    var padID: Int32? { get }
    var unknownID: Int32? { get }
    /// sha256 (hex) of the serialized model: data tokenized with one model must never be
    /// read with another, so shards record it and compare.
    var sha256: String { get }

    func encode(_ text: String) throws -> [Int32]
    /// The ids of `text` (exactly `encode(text)`'s) with the UTF-8 byte range of `text` each one
    /// covers: offsets into `Array(text.utf8)`, one range per id, in order and disjoint
    /// (`offsets[i - 1].upperBound <= offsets[i].lowerBound`, upper bounds at most the byte
    /// count). A token that stands for no text of its own (SentencePiece's lone dummy-prefix "▁")
    /// has an empty range at its position. Each implementation says where bytes can be under no
    /// range and where a range is empty.
    func encodeWithOffsets(_ text: String) throws -> (ids: [Int32], offsets: [Range<Int>])
    func decode(_ ids: [Int32]) throws -> String
    /// The id of a piece, nil when the piece is not in the vocabulary.
    func id(forPiece piece: String) -> Int32?
    func piece(forID id: Int32) throws -> String
    /// The files that make this tokenizer in a model folder, by file name (tokenizer.model;
    /// tokenizer.json with its tokenizer_config.json): datasets and checkpoints copy them, and
    /// `loadTokenizer(at:)` on the folder gives the same tokenizer back.
    var files: [String: Data] { get }
    /// Texts that stand for one special token (HF's added tokens marked special; SentencePiece's
    /// control and user-defined pieces), by text: what can close a chat turn.
    var specialPieces: [String: Int32] { get }
    /// Whether `encode` turns special pieces in the text into their ids (HF tokenizers do; a
    /// SentencePiece model leaves control pieces as text, so chat encoding splits them out first).
    var encodeParsesSpecialPieces: Bool { get }
}

extension Tokenizer {
    /// Encodes many texts on every core, keeping their order.
    public func encode(batch texts: [String], threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws -> [[Int32]] {
        try parallelMap(texts, threads: threads) { try self.encode($0) }
    }
}
