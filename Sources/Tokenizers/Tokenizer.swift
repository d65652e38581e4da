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
    func decode(_ ids: [Int32]) throws -> String
    /// The id of a piece, nil when the piece is not in the vocabulary.
    func id(forPiece piece: String) -> Int32?
    func piece(forID id: Int32) throws -> String
}

extension Tokenizer {
    /// Encodes many texts on every core, keeping their order.
    public func encode(batch texts: [String], threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws -> [[Int32]] {
        if texts.count < 2 || threads < 2 { return try texts.map(encode) }
        let chunks = Swift.min(threads, texts.count)
        let results = ResultSlots<[Int32]>(count: texts.count)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            var i = chunk
            while i < texts.count {
                results.set(i, Result { try encode(texts[i]) })
                i += chunks
            }
        }
        return try results.values()
    }
}

/// Write-once slots filled from concurrent workers; each index is written by one worker only.
/// The storage is a raw buffer allocated up front, so workers never touch a shared Swift
/// array (whose exclusivity checks and copy-on-write are not safe across threads).
final class ResultSlots<T>: @unchecked Sendable {
    private let slots: UnsafeMutableBufferPointer<Result<T, Error>?>
    init(count: Int) {
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil)
    }
    deinit {
        slots.deinitialize()
        slots.deallocate()
    }
    func set(_ i: Int, _ r: Result<T, Error>) { slots[i] = r }
    func values() throws -> [T] { try slots.map { try $0!.get() } }
}
