import CTorch

/// A libtorch tensor. The Swift object owns exactly one shim handle and `deinit` is the only
/// place that frees it, so a tensor lives as long as something in Swift refers to it.
///
/// Tensors are reference types like torch's; in-place operations (`copy_`, optimizer steps)
/// are visible through every reference. `@unchecked Sendable`: libtorch's reference counts
/// are atomic, but mutating one tensor from two threads at once is a data race, as in torch.
public final class Tensor: @unchecked Sendable {
    let handle: OpaquePointer

    /// Takes ownership of a handle returned by the shim.
    init(owning handle: OpaquePointer) { self.handle = handle }

    deinit { ct_tensor_free(handle) }

    // MARK: Creation

    /// A tensor holding a copy of `values`, laid out C-contiguous with `shape`.
    public convenience init<T: TensorElement>(_ values: [T], shape: [Int], device: Device = .cpu) throws {
        let dims = shape.map(Int64.init)
        var out: OpaquePointer?
        try values.withUnsafeBytes { raw in
            try check(ct_from_host(raw.baseAddress, raw.count, dims, Int32(dims.count), T.dtype.raw, device.name, &out))
        }
        self.init(owning: out!)
    }

    /// A 1-D tensor of `values`.
    public convenience init<T: TensorElement>(_ values: [T], device: Device = .cpu) throws {
        try self.init(values, shape: [values.count], device: device)
    }

    /// A tensor from raw little-endian bytes (safetensors payloads, bf16 included).
    public convenience init(bytes: UnsafeRawBufferPointer, shape: [Int], dtype: DType, device: Device = .cpu) throws {
        let dims = shape.map(Int64.init)
        var out: OpaquePointer?
        try check(ct_from_host(bytes.baseAddress, bytes.count, dims, Int32(dims.count), dtype.raw, device.name, &out))
        self.init(owning: out!)
    }

    /// A zero-dimensional tensor.
    public static func scalar(_ value: Double, dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        try full([], value: value, dtype: dtype, device: device)
    }

    public static func zeros(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        let dims = shape.map(Int64.init)
        return try make { ct_zeros(dims, Int32(dims.count), dtype.raw, device.name, $0) }
    }

    public static func ones(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        let dims = shape.map(Int64.init)
        return try make { ct_ones(dims, Int32(dims.count), dtype.raw, device.name, $0) }
    }

    public static func full(_ shape: [Int], value: Double, dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        let dims = shape.map(Int64.init)
        return try make { ct_full(dims, Int32(dims.count), value, dtype.raw, device.name, $0) }
    }

    /// [start, end) by step, like `torch.arange`.
    public static func arange(_ start: Double = 0, _ end: Double, step: Double = 1, dtype: DType = .int64,
                              device: Device = .cpu) throws -> Tensor {
        try make { ct_arange(start, end, step, dtype.raw, device.name, $0) }
    }

    /// Standard normal samples; `generator` nil uses the device's default generator.
    public static func randn(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu,
                             generator: Generator? = nil) throws -> Tensor {
        let dims = shape.map(Int64.init)
        return try make { ct_randn(dims, Int32(dims.count), dtype.raw, device.name, generator?.handle, $0) }
    }

    /// Uniform samples in [0, 1).
    public static func rand(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu,
                            generator: Generator? = nil) throws -> Tensor {
        let dims = shape.map(Int64.init)
        return try make { ct_rand(dims, Int32(dims.count), dtype.raw, device.name, generator?.handle, $0) }
    }

    /// Integers uniform in [low, high), int64.
    public static func randint(_ low: Int, _ high: Int, shape: [Int], device: Device = .cpu,
                               generator: Generator? = nil) throws -> Tensor {
        let dims = shape.map(Int64.init)
        return try make { ct_randint(Int64(low), Int64(high), dims, Int32(dims.count), device.name, generator?.handle, $0) }
    }

    // MARK: Queries

    public var shape: [Int] {
        var n: Int32 = 0
        guard ct_ndim(handle, &n) == CT_OK else { return [] }
        var dims = [Int64](repeating: 0, count: Int(n))
        _ = ct_shape(handle, &dims, n)
        return dims.map(Int.init)
    }

    public var rank: Int { shape.count }

    public var count: Int {
        var n: Int64 = 0
        _ = ct_numel(handle, &n)
        return Int(n)
    }

    public var dtype: DType {
        var d = CT_FLOAT32
        _ = ct_dtype_of(handle, &d)
        return DType(raw: d)
    }

    public var device: Device {
        Device((try? shimString { ct_device_of(handle, $0, $1, $2) }) ?? "cpu")
    }

    /// Size of one dimension; negative indices count from the end.
    public func size(_ dim: Int) -> Int {
        let s = shape
        return s[dim < 0 ? s.count + dim : dim]
    }

    // MARK: Host copies

    /// The elements, C-contiguous, converted to `T` first when the dtype differs.
    public func toArray<T: TensorElement>(_: T.Type = T.self) throws -> [T] {
        let source = dtype == T.dtype ? self : try to(T.dtype)
        var result = [T](repeating: T(), count: source.count)
        try result.withUnsafeMutableBytes { raw in
            try check(ct_copy_to_host(source.handle, raw.baseAddress, raw.count))
        }
        return result
    }

    /// The raw bytes of the elements in the tensor's own dtype (for safetensors).
    public func bytes() throws -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count * dtype.size)
        try result.withUnsafeMutableBytes { raw in
            try check(ct_copy_to_host(handle, raw.baseAddress, raw.count))
        }
        return result
    }

    /// The value of a one-element tensor.
    public func item() throws -> Double {
        var v = 0.0
        try check(ct_item(handle, &v))
        return v
    }

    /// Calls a shim function that returns a new tensor through its last parameter.
    @inline(__always)
    static func make(_ call: (UnsafeMutablePointer<OpaquePointer?>) -> ct_status) throws -> Tensor {
        var out: OpaquePointer?
        try check(call(&out))
        return Tensor(owning: out!)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        "Tensor(shape: \(shape), dtype: \(dtype), device: \(device))"
    }
}
