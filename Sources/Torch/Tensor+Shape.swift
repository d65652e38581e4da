import CTorch

// Shape, indexing, dtype and device conversions.
extension Tensor {
    public func view(_ shape: [Int]) throws -> Tensor {
        let d = shape.map(Int64.init)
        return try Tensor.make { ct_view(handle, d, Int32(d.count), $0) }
    }
    public func reshape(_ shape: [Int]) throws -> Tensor {
        let d = shape.map(Int64.init)
        return try Tensor.make { ct_reshape(handle, d, Int32(d.count), $0) }
    }
    public func transpose(_ d0: Int, _ d1: Int) throws -> Tensor {
        try Tensor.make { ct_transpose(handle, Int64(d0), Int64(d1), $0) }
    }
    public func permute(_ dims: [Int]) throws -> Tensor {
        let d = dims.map(Int64.init)
        return try Tensor.make { ct_permute(handle, d, Int32(d.count), $0) }
    }
    public func contiguous() throws -> Tensor { try Tensor.make { ct_contiguous(handle, $0) } }
    public func unsqueeze(_ dim: Int) throws -> Tensor { try Tensor.make { ct_unsqueeze(handle, Int64(dim), $0) } }
    public func squeeze(_ dim: Int) throws -> Tensor { try Tensor.make { ct_squeeze(handle, Int64(dim), $0) } }
    public func expand(_ shape: [Int]) throws -> Tensor {
        let d = shape.map(Int64.init)
        return try Tensor.make { ct_expand(handle, d, Int32(d.count), $0) }
    }
    public func repeatInterleave(_ repeats: Int, dim: Int) throws -> Tensor {
        try Tensor.make { ct_repeat_interleave(handle, Int64(repeats), Int64(dim), $0) }
    }
    /// `length` elements from `start` along `dim`, sharing storage.
    public func narrow(_ dim: Int, start: Int, length: Int) throws -> Tensor {
        try Tensor.make { ct_narrow(handle, Int64(dim), Int64(start), Int64(length), $0) }
    }
    public func indexSelect(_ dim: Int, _ index: Tensor) throws -> Tensor {
        try Tensor.make { ct_index_select(handle, Int64(dim), index.handle, $0) }
    }
    public func gather(_ dim: Int, _ index: Tensor) throws -> Tensor {
        try Tensor.make { ct_gather(handle, Int64(dim), index.handle, $0) }
    }
    /// A copy with `src` written at `index` along `dim` (torch.scatter).
    public func scatter(_ dim: Int, _ index: Tensor, _ src: Tensor) throws -> Tensor {
        try Tensor.make { ct_scatter(handle, Int64(dim), index.handle, src.handle, $0) }
    }
    public static func cat(_ tensors: [Tensor], dim: Int = 0) throws -> Tensor {
        let handles: [OpaquePointer?] = tensors.map { $0.handle }
        return try withExtendedLifetime(tensors) { try make { ct_cat(handles, Int32(handles.count), Int64(dim), $0) } }
    }
    public static func stack(_ tensors: [Tensor], dim: Int = 0) throws -> Tensor {
        let handles: [OpaquePointer?] = tensors.map { $0.handle }
        return try withExtendedLifetime(tensors) { try make { ct_stack(handles, Int32(handles.count), Int64(dim), $0) } }
    }

    public func to(_ dtype: DType) throws -> Tensor { try Tensor.make { ct_to_dtype(handle, dtype.raw, $0) } }
    public func to(_ device: Device) throws -> Tensor { try Tensor.make { ct_to_device(handle, device.name, $0) } }
    /// A copy with its own storage (autograd history kept).
    public func clone() throws -> Tensor { try Tensor.make { ct_clone(handle, $0) } }
    /// Shares storage, cut from the autograd graph.
    public func detach() throws -> Tensor { try Tensor.make { ct_detach(handle, $0) } }
    /// Overwrites this tensor's elements with `source` (broadcast), outside autograd.
    public func copy_(_ source: Tensor) throws { try check(ct_copy_(handle, source.handle)) }
}
