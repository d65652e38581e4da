import Foundation
import Tokenizers

/// A packed dataset folder (manifest.json + shards), opened for reading. Every shard is
/// validated on open, and a tokenizer whose hash differs from the dataset's is an error.
public final class PackedDataset: @unchecked Sendable {
    public let directory: URL
    public let manifest: Manifest
    public let splits: [String: [ShardReader]]
    /// The names a tokenizer's `files` and the chat template's files may have (one tokenizer's
    /// set is written beside the shards): what a checkpoint trained on the folder copies.
    public static let tokenizerFileNames = [SentencePieceTokenizer.fileName, BPETokenizer.fileName, BPETokenizer.configFileName,
                                             "special_tokens_map.json", ChatTemplateRecord.templateFileName, ChatTemplateRecord.fileName]

    /// The copy of the tokenizer written beside the shards, as `loadTokenizer(at:)` resolves it.
    public func tokenizer() throws -> any Tokenizer { try loadTokenizer(at: directory) }

    /// The tokenizer's files in the folder, by name; empty for a folder without a copy.
    public func tokenizerFiles() throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in Self.tokenizerFileNames {
            let url = directory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            do { files[name] = try Data(contentsOf: url) } catch {
                throw DatasetError.cannotRead(path: url.path, reason: error.localizedDescription)
            }
        }
        return files
    }

    public init(directory: URL, tokenizerSHA256: String?, verifyChecksums: Bool = true) throws {
        self.directory = directory
        let m = try Manifest.load(from: directory)
        if let expected = tokenizerSHA256, expected != m.tokenizerSHA256 {
            throw DatasetError.tokenizerMismatch(path: directory.path, expected: expected, found: m.tokenizerSHA256)
        }
        manifest = m
        var s: [String: [ShardReader]] = [:]
        for (name, split) in m.splits {
            s[name] = try split.shards.map {
                try ShardReader(url: directory.appendingPathComponent($0), tokenizerSHA256: m.tokenizerSHA256, verifyChecksum: verifyChecksums)
            }
        }
        splits = s
    }

    /// The number of rows in a split.
    public func rows(_ split: String) -> Int { splits[split]?.reduce(0) { $0 + $1.rows } ?? 0 }

    /// Row `i` of a split, counting across its shards in order.
    public func row(_ split: String, _ i: Int) -> (ids: [Int32], mask: [UInt8], documents: [(start: Int, length: Int)]) {
        var i = i
        for shard in splits[split] ?? [] {
            if i < shard.rows { return shard.row(i) }
            i -= shard.rows
        }
        preconditionFailure("row out of range")
    }
}
