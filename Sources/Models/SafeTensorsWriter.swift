import Foundation
import Torch
#if canImport(Glibc)
import Glibc
#endif

/// write(2), named apart: inside `SafeTensors`, `write` is its own.
private func systemWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int { write(fd, bytes, count) }

/// Writing safetensors files without building them in memory: the header is computed from
/// shapes and dtypes alone (`ShardPlan`), written first, then each tensor is converted to the
/// file's dtype, copied to the host and written, a slice of rows at a time, each slice dropped
/// before the next. The extra memory a save takes is one slice (`chunkBytes`), whatever the
/// size of the model or of its largest tensor (a large vocabulary's embeddings can be a
/// quarter of a small model).
extension SafeTensors {
    /// The most bytes of a tensor converted and copied at once.
    public static let chunkBytes = 4 << 20

    /// Writes `tensors` into the folder `dir` in HF's layout: one `model.safetensors`, or
    /// shards of at most `maxShardBytes` of data with `model.safetensors.index.json`
    /// (`ShardPlan`). Floating-point tensors are written as `dtype` (nil: each in its own);
    /// others as they are. `dir` must hold no weight files already, so that no stale shard is
    /// ever mixed with the new ones. Returns the layout written.
    @discardableResult
    public static func write(_ tensors: [(String, Tensor)], into dir: URL, dtype: DType? = nil,
                             maxShardBytes: Int = ShardPlan.defaultMaxShardBytes) throws -> ShardPlan {
        guard maxShardBytes > 0 else {
            throw ModelError.cannotWrite(path: dir.path, reason: "the largest shard size must be positive, got \(maxShardBytes) bytes")
        }
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        if let old = existing.sorted().first(where: isWeightFileName) {
            throw ModelError.cannotWrite(path: dir.appendingPathComponent(old).path,
                                         reason: "the folder already holds weights; write into an empty folder so old and new shards are never mixed")
        }
        let byName = try uniqueNames(tensors, path: dir.path)
        let plan = ShardPlan(tensors.map { name, t in (name, t.shape, fileDType(of: t, dtype)) }, maxShardBytes: maxShardBytes)
        for file in plan.files {
            try writeFile(file, tensors: byName, metadata: ["format": "pt"], to: dir.appendingPathComponent(file.name))
        }
        if plan.files.count > 1 {
            let index = dir.appendingPathComponent(ShardPlan.indexFileName)
            do { try plan.indexJSON().write(to: index) } catch {
                throw ModelError.cannotWrite(path: index.path, reason: error.localizedDescription)
            }
        }
        return plan
    }

    /// Writes tensors (names sorted) into one file, atomically: a temporary sibling renamed
    /// into place once complete.
    public static func save(_ tensors: [String: Tensor], to url: URL, metadata: [String: String] = ["format": "pt"]) throws {
        let list = tensors.sorted { $0.key < $1.key }
        let plan = ShardPlan(list.map { ($0.key, $0.value.shape, $0.value.dtype) }, maxShardBytes: .max)
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).writing-\(UUID().uuidString.prefix(8))")
        try writeFile(plan.files[0], tensors: tensors, metadata: metadata, to: tmp)
        guard rename(tmp.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp.path)
            throw ModelError.cannotWrite(path: url.path, reason: reason)
        }
    }

    /// Whether a file name is one of HF's weight files (`model.safetensors`, its index, a shard).
    static func isWeightFileName(_ name: String) -> Bool {
        if name == ShardPlan.singleFileName || name == ShardPlan.indexFileName { return true }
        return name.hasPrefix("model-") && name.hasSuffix(".safetensors") && name.contains("-of-")
    }

    static func fileDType(of t: Tensor, _ dtype: DType?) -> DType {
        guard let dtype, t.dtype.isFloatingPoint else { return t.dtype }
        return dtype
    }

    static func uniqueNames(_ tensors: [(String, Tensor)], path: String) throws -> [String: Tensor] {
        var byName: [String: Tensor] = [:]
        for (name, t) in tensors {
            guard byName.updateValue(t, forKey: name) == nil else {
                throw ModelError.cannotWrite(path: path, reason: "tensor '\(name)' is given twice")
            }
        }
        return byName
    }

    /// The 8-byte length and the JSON header of `file`, padded with spaces (which the format
    /// allows) so the data section starts 8-aligned.
    static func headerBytes(_ file: ShardPlan.File, metadata: [String: String]) throws -> Data {
        var header: [String: Any] = metadata.isEmpty ? [:] : ["__metadata__": metadata]
        for e in file.entries {
            header[e.name] = ["dtype": e.dtype.description, "shape": e.shape, "data_offsets": [e.bytes.lowerBound, e.bytes.upperBound]]
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        return out
    }

    /// Writes one file: the header, then each tensor in the header's order, converted to the
    /// entry's dtype and copied to the host one at a time. A failed write removes the file.
    static func writeFile(_ file: ShardPlan.File, tensors: [String: Tensor], metadata: [String: String], to url: URL) throws {
        let header = try headerBytes(file, metadata: metadata)
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ModelError.cannotWrite(path: url.path, reason: String(cString: strerror(errno))) }
        var done = false
        defer {
            close(fd)
            if !done { unlink(url.path) }
        }
        try header.withUnsafeBytes { try writeAll(fd, $0, path: url.path) }
        for e in file.entries {
            let t = try tensors[e.name]!.detach()
            var written = 0
            // Rows along the first dimension lie one after another in the row-major bytes, so
            // slices of rows, each made contiguous, are written in order.
            let rows = t.rank == 0 ? 1 : t.size(0)
            let rowBytes = rows == 0 ? 0 : e.bytes.count / rows
            let step = max(1, chunkBytes / max(1, rowBytes))
            for start in stride(from: 0, to: rows, by: step) {
                let piece = t.rank == 0 || step >= rows ? t : try t.narrow(0, start: start, length: min(step, rows - start))
                let bytes = try (piece.dtype == e.dtype ? piece : piece.to(e.dtype)).bytes()
                try bytes.withUnsafeBytes { try writeAll(fd, $0, path: url.path) }
                written += bytes.count
            }
            guard written == e.bytes.count else {
                throw ModelError.cannotWrite(path: url.path, reason: "tensor '\(e.name)' has \(written) bytes, its header says \(e.bytes.count)")
            }
        }
        done = true
    }

    /// write(2) until every byte is down (it may write less than asked, or be interrupted).
    static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, path: String) throws {
        var offset = 0
        while offset < buffer.count {
            let n = systemWrite(fd, buffer.baseAddress! + offset, min(buffer.count - offset, 1 << 30))
            if n < 0 {
                if errno == EINTR { continue }
                throw ModelError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
            }
            offset += n
        }
    }
}
