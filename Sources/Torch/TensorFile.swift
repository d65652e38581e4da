import CTorch
import Foundation

/// Files of named tensors in torch.save's format (a dict of str to Tensor): what Python's
/// `torch.load` reads and `torch.save({...})` writes. Used for trainer state (optimizer
/// moments, RNG), which is kept apart from the HF-format weights.
public enum TensorFile {
    /// Saves atomically (temporary file, then rename). Order is kept.
    public static func save(_ tensors: [(String, Tensor)], to path: String) throws {
        let names = tensors.map { strdup($0.0) }
        defer { names.forEach { free($0) } }
        let cnames: [UnsafePointer<CChar>?] = names.map { UnsafePointer($0) }
        let handles: [OpaquePointer?] = tensors.map { $0.1.handle }
        try withExtendedLifetime(tensors) {
            try check(ct_save(path, cnames, handles, Int32(tensors.count)))
        }
    }

    /// Loads every (name, tensor) pair in file order.
    public static func load(_ path: String) throws -> [(String, Tensor)] {
        var list: OpaquePointer?
        try check(ct_load(path, &list))
        defer { ct_named_tensors_free(list) }
        var n: Int32 = 0
        try check(ct_named_tensors_count(list, &n))
        return try (0..<n).map { i in
            var t: OpaquePointer?
            let name = try shimString { buf, cap, needed in
                // The tensor handle comes back on each call; free all but the last.
                if let old = t { ct_tensor_free(old); t = nil }
                return ct_named_tensors_get(list, i, buf, cap, needed, &t)
            }
            return (name, Tensor(owning: t!))
        }
    }
}
