import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Packed token shards: one file per shard, self-describing and checksummed.
///
/// Layout (little-endian):
/// ```
/// "BCSFTSHD"                     8-byte magic
/// u32 version (1), u32 seqLen
/// rows × [seqLen × i32 token ids][seqLen × u8 loss mask][pad to 8 bytes]
/// (rows + 1) × u64               index into the document table, per row
/// documents × (u32 start, u32 length)
/// footer JSON                    ShardHeader: counts, tokenizer sha256, template, ...
/// u64 footer length, u64 checksum of every byte before it, "BCSFTEND"
/// ```
/// Rows are fixed-size, so row i is found by arithmetic; the file is memory-mapped for
/// random access. A reader checks magic, version, sizes and the checksum, and refuses a
/// shard whose tokenizer hash differs from the tokenizer in use.
public enum ShardFormat {
    public static let magic = Array("BCSFTSHD".utf8)
    public static let endMagic = Array("BCSFTEND".utf8)
    public static let version: UInt32 = 1
    static let prologue = 16
    static let trailer = 24

    static func rowBytes(_ seqLen: Int) -> Int { (seqLen * 5 + 7) / 8 * 8 }
}

/// What a shard says about itself (its footer).
public struct ShardHeader: Codable, Sendable, Equatable {
    public var format = "bcsft-packed-shard"
    public var version = Int(ShardFormat.version)
    public var seqLen: Int
    public var rows: Int
    public var documents: Int
    public var tokens: Int
    public var lossTokens: Int
    public var tokenizerSHA256: String
    public var templateName: String
    public var templateSHA256: String
    public var padID: Int32
    public var eosID: Int32
    public var vocabularySize: Int
    public var split: String

    enum CodingKeys: String, CodingKey {
        case format, version, rows, documents, tokens, split
        case seqLen = "seq_len", lossTokens = "loss_tokens", tokenizerSHA256 = "tokenizer_sha256"
        case templateName = "template", templateSHA256 = "template_sha256", padID = "pad_id", eosID = "eos_id"
        case vocabularySize = "vocab_size"
    }
}

/// Streams rows into a shard file; `finish()` writes the footer and renames it into place.
public final class ShardWriter {
    public let url: URL
    let tmp: URL
    let handle: FileHandle
    var header: ShardHeader
    var docIndex: [UInt64] = [0]
    var docTable: [UInt32] = []
    var hasher = StreamingChecksum()
    var rowBuffer: [UInt8]

    public init(url: URL, header: ShardHeader) throws {
        self.url = url
        tmp = url.appendingPathExtension("tmp")
        self.header = header
        self.header.rows = 0
        self.header.documents = 0
        self.header.tokens = 0
        self.header.lossTokens = 0
        guard FileManager.default.createFile(atPath: tmp.path, contents: nil) else {
            throw DatasetError.cannotWrite(path: tmp.path, reason: "cannot create file")
        }
        handle = try FileHandle(forWritingTo: tmp)
        rowBuffer = [UInt8](repeating: 0, count: ShardFormat.rowBytes(header.seqLen))
        var pro = ShardFormat.magic
        withUnsafeBytes(of: ShardFormat.version.littleEndian) { pro += $0 }
        withUnsafeBytes(of: UInt32(header.seqLen).littleEndian) { pro += $0 }
        try write(pro)
    }

    public var rows: Int { header.rows }

    public func append(_ row: PackedRow) throws {
        let n = header.seqLen
        precondition(row.ids.count == n && row.mask.count == n, "row is not seqLen long")
        rowBuffer.withUnsafeMutableBytes { raw in
            row.ids.withUnsafeBytes { raw.copyMemory(from: $0) }
            for i in 0..<n { raw[n * 4 + i] = row.mask[i] }
            for i in (n * 5)..<raw.count { raw[i] = 0 }
        }
        try write(rowBuffer)
        for d in row.documents { docTable += [UInt32(d.start), UInt32(d.length)] }
        docIndex.append(UInt64(docTable.count / 2))
        header.rows += 1
        header.documents += row.documents.count
        header.tokens += row.used
        header.lossTokens += row.mask.reduce(0) { $0 + Int($1) }
    }

    /// Writes the index, the document table and the footer, then renames the file into place.
    @discardableResult
    public func finish() throws -> ShardHeader {
        var tail: [UInt8] = []
        docIndex.withUnsafeBytes { tail += $0 }
        docTable.withUnsafeBytes { tail += $0 }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let footer = Array(try enc.encode(header))
        tail += footer
        withUnsafeBytes(of: UInt64(footer.count).littleEndian) { tail += $0 }
        try write(tail)
        let sum = hasher.finalize()
        var end: [UInt8] = []
        withUnsafeBytes(of: sum.littleEndian) { end += $0 }
        end += ShardFormat.endMagic
        try handle.write(contentsOf: end)
        try handle.synchronize()
        try handle.close()
        guard rename(tmp.path, url.path) == 0 else {
            throw DatasetError.cannotWrite(path: url.path, reason: String(cString: strerror(errno)))
        }
        return header
    }

    private func write(_ bytes: [UInt8]) throws {
        bytes.withUnsafeBytes { hasher.update($0) }
        do { try handle.write(contentsOf: bytes) } catch {
            throw DatasetError.cannotWrite(path: tmp.path, reason: error.localizedDescription)
        }
    }
}

/// A 64-bit word-wise multiplicative hash over data that arrives in pieces: it catches
/// corruption and truncation of shards (it is not a cryptographic MAC).
struct StreamingChecksum {
    private var pending: [UInt8] = []
    private var state: UInt64 = 0x243F_6A88_85A3_08D3
    private var total = 0

    private mutating func mix(_ w: UInt64) {
        state = (state ^ w) &* 0x9E37_79B9_7F4A_7C15
        state ^= state >> 29
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        total += bytes.count
        var i = 0
        while !pending.isEmpty, pending.count < 8, i < bytes.count {
            pending.append(bytes[i])
            i += 1
        }
        if pending.count == 8 {
            mix(pending.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
            pending.removeAll(keepingCapacity: true)
        }
        while i + 8 <= bytes.count {
            mix(bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        while i < bytes.count {
            pending.append(bytes[i])
            i += 1
        }
    }

    func finalize() -> UInt64 {
        var h = state
        for b in pending { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        h ^= UInt64(total) &* 0xFF51_AFD7_ED55_8CCD
        return h ^ (h >> 32)
    }

    static func of(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var s = StreamingChecksum()
        s.update(bytes)
        return s.finalize()
    }
}
