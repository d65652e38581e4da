import Common
import Foundation
import Torch

/// The safetensors format: u64 little-endian header length, a JSON header mapping names to
/// {dtype, shape, data_offsets} (plus optional "__metadata__"), then the raw bytes.
public enum SafeTensors {
    static let dtypes: [String: DType] = ["F32": .float32, "F16": .float16, "BF16": .bfloat16, "F64": .float64,
                                          "I32": .int32, "I64": .int64, "U8": .uint8, "BOOL": .bool]

    /// One tensor as a file's header describes it: where its bytes lie in the data section.
    public struct Entry: Equatable, Sendable {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        public var bytes: Range<Int>
    }

    /// Headers over 100 MB are refused, as the reference implementation refuses them.
    public static let maxHeaderBytes = 100_000_000

    /// The header of a safetensors file held in `data`: every tensor's dtype, shape and byte
    /// range, relative to the data section that starts at the returned `base`. Every size is
    /// read with checked arithmetic; the tensors must tile the data section exactly (no overlap,
    /// no gap, nothing after), as the format requires.
    public static func header(_ data: Data, path: String) throws -> (entries: [Entry], base: Int) {
        try header(prefix: data, fileSize: data.count, path: path)
    }

    /// The same from the file's first bytes (`prefix`: at least the length and the header the
    /// length declares, when it fits the file) and its size, for a reader that does not hold
    /// the whole file.
    static func header(prefix data: Data, fileSize: Int, path: String) throws -> (entries: [Entry], base: Int) {
        func bad(_ r: String) -> ModelError { .badSafetensors(path: path, reason: r) }
        guard fileSize >= 8, data.count >= 8 else { throw bad("file is \(fileSize) bytes") }
        let declared = data.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
        guard declared >= 2, declared <= UInt64(min(maxHeaderBytes, fileSize - 8)) else {
            throw bad("header length \(declared) does not fit the file (\(fileSize) bytes) or exceeds \(maxHeaderBytes) bytes")
        }
        let headerLen = Int(declared)
        guard data.count >= 8 + headerLen else { throw bad("the file ended inside its header (it changed while being read?)") }
        let headerBytes = data.subdata(in: 8..<(8 + headerLen))
        if let p = JSONStructure.problem(in: headerBytes) { throw bad("header: \(p.description)") }
        guard let header = try? JSONSerialization.jsonObject(with: headerBytes) as? [String: Any] else {
            throw bad("header is not a JSON object")
        }
        let base = 8 + headerLen, dataBytes = fileSize - base
        var entries: [Entry] = []
        for (name, value) in header where name != "__metadata__" {
            guard let e = value as? [String: Any], let dt = e["dtype"] as? String, let shape = e["shape"] as? [Any],
                  let offs = e["data_offsets"] as? [Any], offs.count == 2 else { throw bad("entry '\(name)' is malformed") }
            guard let dtype = dtypes[dt] else { throw bad("tensor '\(name)': dtype \(dt) not supported") }
            // Numbers from the file: whole, non-negative and within Int before any arithmetic.
            func count(_ v: Any, _ what: String) throws -> Int {
                guard let n = v as? NSNumber, let i = Int(exactly: n.doubleValue), i >= 0, Double(i) == n.doubleValue else {
                    throw bad("tensor '\(name)': \(what) \(v) is not a size")
                }
                return i
            }
            let dims = try shape.map { try count($0, "dimension") }
            var elements = 1
            for d in dims {
                let (p, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw bad("tensor '\(name)': shape \(dims) has more elements than can be addressed") }
                elements = p
            }
            let (size, overflow) = elements.multipliedReportingOverflow(by: dtype.size)
            guard !overflow else { throw bad("tensor '\(name)': shape \(dims) has more bytes than can be addressed") }
            let begin = try count(offs[0], "data offset"), end = try count(offs[1], "data offset")
            guard begin <= end, end <= dataBytes else {
                throw bad("tensor '\(name)': data offsets [\(begin), \(end)] outside the data section (\(dataBytes) bytes)")
            }
            guard end - begin == size else { throw bad("tensor '\(name)': \(end - begin) bytes for shape \(dims) \(dt)") }
            entries.append(Entry(name: name, dtype: dtype, shape: dims, bytes: begin..<end))
        }
        entries.sort { ($0.bytes.lowerBound, $0.bytes.upperBound, $0.name) < ($1.bytes.lowerBound, $1.bytes.upperBound, $1.name) }
        var covered = 0
        for e in entries {
            guard e.bytes.lowerBound == covered else {
                throw bad(e.bytes.lowerBound < covered ? "tensor '\(e.name)' overlaps the tensor before it (bytes \(e.bytes) of the data section)"
                                                      : "bytes \(covered)..<\(e.bytes.lowerBound) of the data section belong to no tensor")
            }
            covered = e.bytes.upperBound
        }
        guard covered == dataBytes else { throw bad("the data section holds \(dataBytes - covered) bytes after the last tensor") }
        return (entries, base)
    }

    /// Reads every tensor of one file, in the file's dtype, on the CPU. The file is read a slice
    /// at a time (`chunkBytes`) into each tensor, not mapped: mapped pages count as resident
    /// until the whole file is done, which would hold a second copy of the weights.
    public static func load(_ url: URL) throws -> [String: Tensor] {
        func failure(_ error: Error) -> ModelError {
            if case let FileError.cannotRead(_, reason) = error { return .badSafetensors(path: url.path, reason: reason) }
            return error as? ModelError ?? .badSafetensors(path: url.path, reason: "cannot read (\(error.localizedDescription))")
        }
        do {
            try FileCheck.readable(url)
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            let size = Int(try handle.seekToEnd())
            try handle.seek(toOffset: 0)
            var prefix = try readUpTo(8, from: handle)
            if prefix.count == 8, size >= 8 {
                let declared = prefix.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
                // A length that does not fit is refused by `header`, before anything is allocated.
                if declared <= UInt64(min(maxHeaderBytes, size - 8)) { prefix += try readUpTo(Int(declared), from: handle) }
            }
            let (entries, base) = try header(prefix: prefix, fileSize: size, path: url.path)
            var out: [String: Tensor] = [:]
            for e in entries {
                try handle.seek(toOffset: UInt64(base + e.bytes.lowerBound))
                out[e.name] = try readTensor(e, from: handle, path: url.path)
            }
            return out
        } catch {
            throw failure(error)
        }
    }

    /// One tensor's bytes from `handle` (at its start), in slices of rows of at most
    /// `chunkBytes`, each copied into place.
    static func readTensor(_ e: Entry, from handle: FileHandle, path: String) throws -> Tensor {
        func read(_ n: Int) throws -> Data {
            let d = try readUpTo(n, from: handle)
            guard d.count == n else { throw ModelError.badSafetensors(path: path, reason: "tensor '\(e.name)': the file ended early (it changed while being read?)") }
            return d
        }
        let rows = e.shape.first ?? 1, count = e.bytes.count
        guard count > chunkBytes, rows > 1 else {
            return try read(count).withUnsafeBytes { try Tensor(bytes: $0, shape: e.shape, dtype: e.dtype) }
        }
        let rowBytes = count / rows, step = max(1, chunkBytes / max(1, rowBytes))
        let t = try Tensor.zeros(e.shape, dtype: e.dtype)
        for start in stride(from: 0, to: rows, by: step) {
            let n = min(step, rows - start)
            let piece = try read(n * rowBytes).withUnsafeBytes { try Tensor(bytes: $0, shape: [n] + e.shape.dropFirst(), dtype: e.dtype) }
            try t.narrow(0, start: start, length: n).copy_(piece)
        }
        return t
    }

    /// `n` bytes, or fewer at the end of the file (a read may return less than asked).
    static func readUpTo(_ n: Int, from handle: FileHandle) throws -> Data {
        var d = try handle.read(upToCount: n) ?? Data()
        while d.count < n, let more = try handle.read(upToCount: n - d.count), !more.isEmpty { d += more }
        return d
    }

    /// Loads a checkpoint folder's weights: model.safetensors, or the shards listed in
    /// model.safetensors.index.json.
    public static func loadFolder(_ dir: URL) throws -> [String: Tensor] {
        let single = dir.appendingPathComponent("model.safetensors")
        if FileManager.default.fileExists(atPath: single.path) { return try load(single) }
        let index = dir.appendingPathComponent("model.safetensors.index.json")
        guard let data = try? Data(contentsOf: index) else {
            throw ModelError.badSafetensors(path: dir.path, reason: "neither model.safetensors nor model.safetensors.index.json found")
        }
        if let p = JSONStructure.problem(in: data) { throw ModelError.badSafetensors(path: index.path, reason: p.description) }
        guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let map = obj["weight_map"] as? [String: String] else {
            throw ModelError.badSafetensors(path: index.path, reason: "no weight_map")
        }
        // Shards are files of this folder: a name with a path in it (`../../etc/passwd`) is refused.
        if let file = map.values.first(where: { $0.contains("/") || $0.hasPrefix(".") || !$0.hasSuffix(".safetensors") }) {
            throw ModelError.badSafetensors(path: index.path, reason: "weight_map names '\(file)': a shard must be a .safetensors file in the folder")
        }
        var out: [String: Tensor] = [:]
        for file in Set(map.values).sorted() {
            for (k, v) in try load(dir.appendingPathComponent(file)) { out[k] = v }
        }
        let missing = Set(map.keys).subtracting(out.keys)
        if let m = missing.first { throw ModelError.missingTensor(m, in: index.path) }
        return out
    }
}
