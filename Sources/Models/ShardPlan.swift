import Foundation
import Torch

/// How a set of tensors is laid out over safetensors files, before any byte is written: which
/// file each tensor goes to and where its bytes lie in that file. Knowing every shape and dtype
/// is enough, so a writer can put each header down first and then stream the tensors.
///
/// HF's conventions: tensors fill a shard in the order given until the next one would pass
/// `maxShardBytes`; a tensor larger than the limit gets a shard of its own; one shard is
/// `model.safetensors`, several are `model-00001-of-00003.safetensors`, ... with a
/// `model.safetensors.index.json` that maps each name to its file.
public struct ShardPlan: Equatable, Sendable {
    /// One file: its tensors sorted by name, byte ranges relative to the data section.
    public struct File: Equatable, Sendable {
        public var name: String
        public var entries: [SafeTensors.Entry]
        /// Bytes of tensor data (the file is this plus its header).
        public var dataBytes: Int { entries.last?.bytes.upperBound ?? 0 }
    }

    public var files: [File]
    /// Bytes of all tensors together: the index's `metadata.total_size`.
    public var totalSize: Int { files.reduce(0) { $0 + $1.dataBytes } }

    public static let singleFileName = "model.safetensors"
    public static let indexFileName = "model.safetensors.index.json"

    /// HF's default `max_shard_size="5GB"` (decimal gigabytes, as transformers counts them).
    public static let defaultMaxShardBytes = 5_000_000_000

    /// Lays out `tensors` (name, shape, dtype in the file), in the order given, into shards of at
    /// most `maxShardBytes` of data each, but for a tensor larger than that, alone in its shard.
    public init(_ tensors: [(name: String, shape: [Int], dtype: DType)], maxShardBytes: Int) {
        var groups: [[(name: String, shape: [Int], dtype: DType, size: Int)]] = []
        var current: [(name: String, shape: [Int], dtype: DType, size: Int)] = []
        var currentBytes = 0
        for t in tensors {
            let size = t.shape.reduce(1, *) * t.dtype.size
            // Closing the open shard first keeps the files in the tensors' order.
            if !current.isEmpty, currentBytes + size > maxShardBytes {
                groups.append(current)
                current = []
                currentBytes = 0
            }
            current.append((t.name, t.shape, t.dtype, size))
            currentBytes += size
        }
        if !current.isEmpty || groups.isEmpty { groups.append(current) }
        files = groups.enumerated().map { i, group in
            var offset = 0
            let entries = group.sorted { $0.name < $1.name }.map { t -> SafeTensors.Entry in
                defer { offset += t.size }
                return SafeTensors.Entry(name: t.name, dtype: t.dtype, shape: t.shape, bytes: offset..<(offset + t.size))
            }
            let name = groups.count == 1 ? Self.singleFileName : String(format: "model-%05d-of-%05d.safetensors", i + 1, groups.count)
            return File(name: name, entries: entries)
        }
    }

    /// `model.safetensors.index.json`'s content: total size and each tensor's file.
    public func indexJSON() throws -> Data {
        var map: [String: String] = [:]
        for f in files { for e in f.entries { map[e.name] = f.name } }
        let index: [String: Any] = ["metadata": ["total_size": totalSize], "weight_map": map]
        return try JSONSerialization.data(withJSONObject: index, options: [.prettyPrinted, .sortedKeys])
    }
}

extension ShardPlan {
    /// A shard size as HF's `max_shard_size` takes it: a byte count (`5000000000`), or a number
    /// with a unit, decimal (`KB`, `MB`, `GB`, `TB`: powers of 1000) or binary (`KiB`, `MiB`,
    /// `GiB`, `TiB`: powers of 1024), case-insensitive (`"5GB"`, `"500 mb"`, `"1.5GiB"`).
    /// nil: not a size, or not a positive whole number of bytes.
    public static func bytes(parsing text: String) -> Int? {
        let s = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("kib", 0x1p10), ("mib", 0x1p20), ("gib", 0x1p30), ("tib", 0x1p40),
                                         ("kb", 1e3), ("mb", 1e6), ("gb", 1e9), ("tb", 1e12), ("b", 1)]
        var number = Substring(s), scale = 1.0
        if let (suffix, factor) = units.first(where: { s.hasSuffix($0.0) }) {
            number = s.dropLast(suffix.count)
            scale = factor
        }
        let digits = number.trimmingCharacters(in: .whitespaces)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let value = Double(digits) else { return nil }
        let bytes = (value * scale).rounded()
        guard bytes >= 1, bytes < 0x1p62 else { return nil }
        return Int(bytes)
    }
}
