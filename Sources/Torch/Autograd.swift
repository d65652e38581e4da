import CTorch

extension Tensor {
    /// Whether autograd records operations on this tensor (parameters set it to true).
    public var requiresGrad: Bool {
        get {
            var v = false
            _ = ct_requires_grad(handle, &v)
            return v
        }
    }

    /// Marks this leaf tensor as a parameter (or not). Returns self for chaining.
    @discardableResult
    public func requiresGrad(_ flag: Bool) throws -> Tensor {
        try check(ct_set_requires_grad(handle, flag))
        return self
    }

    /// Backpropagates from this tensor; `gradient` may be nil for a one-element tensor.
    public func backward(_ gradient: Tensor? = nil) throws {
        try check(ct_backward(handle, gradient?.handle))
    }

    /// The accumulated gradient, or nil when there is none yet.
    public var grad: Tensor? {
        get throws {
            var out: OpaquePointer?
            try check(ct_grad(handle, &out))
            return out.map { Tensor(owning: $0) }
        }
    }

    /// Makes `gradient` (shared, not copied) this leaf tensor's gradient, as assigning `.grad`
    /// does in Python; shape, dtype and device must match.
    public func setGrad(_ gradient: Tensor) throws { try check(ct_set_grad(handle, gradient.handle)) }

    /// Makes `data` (its storage shared) this tensor's contents, keeping the tensor's identity
    /// (every handle, requires_grad), as assigning `.data` does in Python: how a model's weights
    /// change dtype in place. Shape and device must match; call it before any backward.
    public func setData(_ data: Tensor) throws { try check(ct_set_data(handle, data.handle)) }

    /// Drops the gradient (zero_grad with set_to_none).
    public func zeroGrad() throws { try check(ct_zero_grad(handle)) }
}

/// Runs `body` with gradient recording off on this thread (torch.no_grad), restoring the
/// previous mode afterwards even when `body` throws.
public func withNoGrad<R>(_ body: () throws -> R) throws -> R {
    var previous = true
    try check(ct_set_grad_enabled(false, &previous))
    defer { _ = ct_set_grad_enabled(previous, nil) }
    return try body()
}

/// Whether autograd is recording on this thread.
public var isGradEnabled: Bool {
    var v = true
    _ = ct_is_grad_enabled(&v)
    return v
}
