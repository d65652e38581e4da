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
        func bad(_ r: String) -> ModelError { .badSafetensors(path: path, reason: r) }
        guard data.count >= 8 else { throw bad("file is \(data.count) bytes") }
        let declared = data.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
        guard declared >= 2, declared <= UInt64(min(maxHeaderBytes, data.count - 8)) else {
            throw bad("header length \(declared) does not fit the file (\(data.count) bytes) or exceeds \(maxHeaderBytes) bytes")
        }
        let headerLen = Int(declared)
        let headerBytes = data.subdata(in: 8..<(8 + headerLen))
        if let p = JSONStructure.problem(in: headerBytes) { throw bad("header: \(p.description)") }
        guard let header = try? JSONSerialization.jsonObject(with: headerBytes) as? [String: Any] else {
            throw bad("header is not a JSON object")
        }
        let base = 8 + headerLen, dataBytes = data.count - base
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

    /// Reads every tensor of one file (memory-mapped), in the file's dtype, on the CPU.
    public static func load(_ url: URL) throws -> [String: Tensor] {
        let data: Data
        do {
            try FileCheck.readable(url)
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch let FileError.cannotRead(_, reason) {
            throw ModelError.badSafetensors(path: url.path, reason: reason)
        } catch {
            throw ModelError.badSafetensors(path: url.path, reason: "cannot read (\(error.localizedDescription))")
        }
        let (entries, base) = try header(data, path: url.path)
        var out: [String: Tensor] = [:]
        try data.withUnsafeBytes { raw in
            for e in entries {
                out[e.name] = try Tensor(bytes: UnsafeRawBufferPointer(rebasing: raw[(base + e.bytes.lowerBound)..<(base + e.bytes.upperBound)]),
                                         shape: e.shape, dtype: e.dtype)
            }
        }
        return out
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
