import Foundation

/// A packed dataset folder (manifest.json + shards), opened for reading. Every shard is
/// validated on open, and a tokenizer whose hash differs from the dataset's is an error.
public final class PackedDataset: @unchecked Sendable {
    public let directory: URL
    public let manifest: Manifest
    public let splits: [String: [ShardReader]]
    /// The copy of the tokenizer model written beside the shards.
    public static let tokenizerFileName = "tokenizer.model"
    public var tokenizerURL: URL { directory.appendingPathComponent(Self.tokenizerFileName) }

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
