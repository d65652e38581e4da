import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A read-only memory map of a whole file, unmapped when released.
final class MappedFile: @unchecked Sendable {
    let path: String
    let base: UnsafeRawPointer?
    let count: Int

    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw DatasetError.cannotRead(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw DatasetError.cannotRead(path: path, reason: String(cString: strerror(errno))) }
        count = Int(st.st_size)
        if count == 0 {
            base = nil
            return
        }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw DatasetError.cannotRead(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))") }
        base = UnsafeRawPointer(p)
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    deinit { if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) } }
}

/// Random access to the rows of one shard. Opening validates the structure (and, by default,
/// the checksum) and the tokenizer hash.
public final class ShardReader: @unchecked Sendable {
    public let url: URL
    public let header: ShardHeader
    let file: MappedFile
    let rowBytes: Int
    let indexOffset: Int
    let tableOffset: Int

    /// - Parameters:
    ///   - tokenizerSHA256: the hash of the tokenizer that will read the ids; nil skips the check.
    ///   - verifyChecksum: read every byte once to detect corruption (on by default).
    public init(url: URL, tokenizerSHA256: String?, verifyChecksum: Bool = true) throws {
        self.url = url
        let path = url.path
        file = try MappedFile(path: path)
        let b = file.bytes
        func corrupt(_ why: String) -> DatasetError { .corruptShard(path: path, reason: why) }
        guard b.count >= ShardFormat.prologue + ShardFormat.trailer else { throw corrupt("file is \(b.count) bytes, too short for a shard") }
        guard Array(b[0..<8]) == ShardFormat.magic else { throw corrupt("bad magic: not a bcsft shard") }
        let version = b.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian
        guard version == ShardFormat.version else { throw corrupt("format version \(version), this bcsft reads \(ShardFormat.version)") }
        guard Array(b[(b.count - 8)...]) == ShardFormat.endMagic else { throw corrupt("end marker missing: the file is truncated or was not finished") }
        let footerLen = Int(b.loadUnaligned(fromByteOffset: b.count - 24, as: UInt64.self).littleEndian)
        let footerStart = b.count - 24 - footerLen
        guard footerLen > 0, footerStart >= ShardFormat.prologue else { throw corrupt("footer length \(footerLen) is impossible") }
        if verifyChecksum {
            let stored = b.loadUnaligned(fromByteOffset: b.count - 16, as: UInt64.self).littleEndian
            let actual = StreamingChecksum.of(UnsafeRawBufferPointer(rebasing: b[0..<(b.count - 16)]))
            guard stored == actual else { throw corrupt("checksum mismatch: the file was modified or damaged") }
        }
        let header: ShardHeader
        do {
            header = try JSONDecoder().decode(ShardHeader.self, from: Data(b[footerStart..<(b.count - 24)]))
        } catch {
            throw corrupt("footer is not a valid shard header (\(error.localizedDescription))")
        }
        let seqLen = Int(b.loadUnaligned(fromByteOffset: 12, as: UInt32.self).littleEndian)
        guard seqLen == header.seqLen, seqLen > 0 else { throw corrupt("seq_len in prologue (\(seqLen)) and footer (\(header.seqLen)) differ") }
        rowBytes = ShardFormat.rowBytes(seqLen)
        indexOffset = ShardFormat.prologue + header.rows * rowBytes
        tableOffset = indexOffset + (header.rows + 1) * 8
        guard tableOffset + header.documents * 8 == footerStart else {
            throw corrupt("sizes disagree with the header (\(header.rows) rows, \(header.documents) documents)")
        }
        // The document table must describe rows exactly, so row() can trust it.
        var previous = 0
        for r in 0...header.rows {
            let at = Int(b.loadUnaligned(fromByteOffset: indexOffset + r * 8, as: UInt64.self).littleEndian)
            guard at >= previous, at <= header.documents, r > 0 || at == 0 else { throw corrupt("document index is not monotonic at row \(r)") }
            if r > 0 {
                var end = 0
                for d in previous..<at {
                    let start = Int(b.loadUnaligned(fromByteOffset: tableOffset + d * 8, as: UInt32.self).littleEndian)
                    let length = Int(b.loadUnaligned(fromByteOffset: tableOffset + d * 8 + 4, as: UInt32.self).littleEndian)
                    guard start == end, length > 0, start + length <= seqLen else {
                        throw corrupt("row \(r - 1): document bounds \(start)+\(length) are not contiguous within \(seqLen) tokens")
                    }
                    end = start + length
                }
            }
            previous = at
        }
        guard previous == header.documents else { throw corrupt("document index ends at \(previous), header says \(header.documents)") }
        if let expected = tokenizerSHA256, expected != header.tokenizerSHA256 {
            throw DatasetError.tokenizerMismatch(path: path, expected: expected, found: header.tokenizerSHA256)
        }
        self.header = header
    }

    public var rows: Int { header.rows }
    public var seqLen: Int { header.seqLen }

    /// Row i's token ids, loss mask and documents (start, length).
    public func row(_ i: Int) -> (ids: [Int32], mask: [UInt8], documents: [(start: Int, length: Int)]) {
        precondition(i >= 0 && i < rows, "row \(i) out of range 0..<\(rows)")
        let b = file.bytes
        let off = ShardFormat.prologue + i * rowBytes
        // Bulk copies out of the map (the trainer reads every row once per epoch).
        var ids = [Int32](unsafeUninitializedCapacity: seqLen) { buf, n in
            UnsafeMutableRawBufferPointer(buf).copyMemory(from: UnsafeRawBufferPointer(rebasing: b[off..<(off + seqLen * 4)]))
            n = seqLen
        }
        #if _endian(big)
        ids = ids.map { Int32(littleEndian: $0) }
        #endif
        let mask = Array(b[(off + seqLen * 4)..<(off + seqLen * 5)])
        let d0 = Int(b.loadUnaligned(fromByteOffset: indexOffset + i * 8, as: UInt64.self).littleEndian)
        let d1 = Int(b.loadUnaligned(fromByteOffset: indexOffset + (i + 1) * 8, as: UInt64.self).littleEndian)
        let docs = (d0..<d1).map { d in
            (start: Int(b.loadUnaligned(fromByteOffset: tableOffset + d * 8, as: UInt32.self).littleEndian),
             length: Int(b.loadUnaligned(fromByteOffset: tableOffset + d * 8 + 4, as: UInt32.self).littleEndian))
        }
        return (ids, mask, docs)
    }
}
