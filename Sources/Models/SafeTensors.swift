import Foundation
import Torch

/// The safetensors format: u64 little-endian header length, a JSON header mapping names to
/// {dtype, shape, data_offsets} (plus optional "__metadata__"), then the raw bytes.
public enum SafeTensors {
    static let dtypes: [String: DType] = ["F32": .float32, "F16": .float16, "BF16": .bfloat16, "F64": .float64,
                                          "I32": .int32, "I64": .int64, "U8": .uint8, "BOOL": .bool]

    /// Reads every tensor of one file (memory-mapped), in the file's dtype, on the CPU.
    public static func load(_ url: URL) throws -> [String: Tensor] {
        let path = url.path
        func bad(_ r: String) -> ModelError { .badSafetensors(path: path, reason: r) }
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw bad("cannot read (\(error.localizedDescription))")
        }
        guard data.count >= 8 else { throw bad("file is \(data.count) bytes") }
        let headerLen = Int(data.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian })
        guard headerLen > 1, 8 + headerLen <= data.count else { throw bad("header length \(headerLen) exceeds the file") }
        guard let header = try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLen))) as? [String: Any] else {
            throw bad("header is not a JSON object")
        }
        let base = 8 + headerLen
        var out: [String: Tensor] = [:]
        try data.withUnsafeBytes { raw in
            for (name, entry) in header where name != "__metadata__" {
                guard let e = entry as? [String: Any], let dt = e["dtype"] as? String, let shape = e["shape"] as? [Int],
                      let offs = e["data_offsets"] as? [Int], offs.count == 2 else { throw bad("entry '\(name)' is malformed") }
                guard let dtype = dtypes[dt] else { throw bad("tensor '\(name)': dtype \(dt) not supported") }
                let (b, e2) = (base + offs[0], base + offs[1])
                guard offs[0] >= 0, b <= e2, e2 <= data.count else { throw bad("tensor '\(name)': data offsets \(offs) outside the file") }
                guard e2 - b == shape.reduce(1, *) * dtype.size else { throw bad("tensor '\(name)': \(e2 - b) bytes for shape \(shape) \(dt)") }
                out[name] = try Tensor(bytes: UnsafeRawBufferPointer(rebasing: raw[b..<e2]), shape: shape, dtype: dtype)
            }
        }
        return out
    }

    /// Writes tensors (names sorted) atomically: a temporary file renamed into place.
    public static func save(_ tensors: [String: Tensor], to url: URL, metadata: [String: String] = ["format": "pt"]) throws {
        var header: [String: Any] = ["__metadata__": metadata]
        var offset = 0
        let names = tensors.keys.sorted()
        var blobs: [[UInt8]] = []
        for name in names {
            let t = try tensors[name]!.contiguous()
            let bytes = try t.bytes()
            header[name] = ["dtype": t.dtype.description, "shape": t.shape, "data_offsets": [offset, offset + bytes.count]]
            offset += bytes.count
            blobs.append(bytes)
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }  // the format allows trailing spaces; keeps data 8-aligned
        var file = Data()
        file.reserveCapacity(8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        for b in blobs { file.append(contentsOf: b) }
        do { try file.write(to: url, options: .atomic) } catch {
            throw ModelError.cannotWrite(path: url.path, reason: error.localizedDescription)
        }
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
        guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let map = obj["weight_map"] as? [String: String] else {
            throw ModelError.badSafetensors(path: index.path, reason: "no weight_map")
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
