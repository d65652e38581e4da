import CTorch

/// Activation checkpointing: `body(inputs)` as one autograd op that keeps only `inputs`
/// (`ct_recompute`, torch.utils.checkpoint's re-entrant variant). Forward runs `body` without
/// recording a graph, so none of its intermediate tensors stay alive for backward; backward runs
/// `body` again with gradients on and back-propagates through that fresh graph. The tensors
/// `body` captures (parameters) get their gradients there; `inputs` get theirs as usual. With
/// gradients off (validation, generation) it is just `body(inputs)`.
///
/// The rule for `body`: it must compute the same function both times. It runs once now and once
/// more during the `backward()` that reaches it, after the code that follows this call has run:
/// - anything random (dropout) must replay identically: draw from state fixed before this call
///   (a mask drawn outside, or a generator seeded per call inside), never from a generator that
///   has advanced in between;
/// - it must not read state that changes before backward (a KV cache, a counter).
/// An error thrown by `body` during backward makes that `backward()` throw a `TorchError`
/// carrying its description. `body` is kept (with what it captures) until the graph built from
/// the result is freed; it may run on autograd's thread while the caller waits in `backward()`.
public func recompute(_ inputs: [Tensor], _ body: @escaping ([Tensor]) throws -> Tensor) throws -> Tensor {
    guard isGradEnabled else { return try body(inputs) }
    // One retain, handed to the shim; its release callback balances it exactly once.
    let context = Unmanaged.passRetained(RecomputeBody(body)).toOpaque()
    let handles: [OpaquePointer?] = inputs.map(\.handle)
    return try withExtendedLifetime(inputs) {
        try Tensor.make { out in
            ct_recompute({ context, inputs, n, out in RecomputeBody.call(context, inputs, n, out) }, context,
                         { Unmanaged<RecomputeBody>.fromOpaque($0!).release() }, handles, Int32(handles.count), out)
        }
    }
}

/// The closure behind one `recompute` op, reached through the shim's context pointer.
final class RecomputeBody {
    let body: ([Tensor]) throws -> Tensor
    init(_ body: @escaping ([Tensor]) throws -> Tensor) { self.body = body }

    /// The C callback: borrowed input handles in, a new output handle out; a Swift error becomes
    /// a status and this thread's shim message (no Swift error may unwind through C).
    static func call(_ context: UnsafeMutableRawPointer?, _ inputs: UnsafePointer<OpaquePointer?>?, _ n: Int32,
                     _ out: UnsafeMutablePointer<OpaquePointer?>?) -> ct_status {
        let me = Unmanaged<RecomputeBody>.fromOpaque(context!).takeUnretainedValue()
        do {
            let tensors = try (0..<Int(n)).map { i in try Tensor.make { ct_share(inputs![i], $0) } }
            let y = try me.body(tensors)
            var h: OpaquePointer?
            try check(ct_share(y.handle, &h))
            out!.pointee = h
            return CT_OK
        } catch {
            ct_set_error((error as? TorchError)?.message ?? String(describing: error))
            return CT_ERROR_UNKNOWN
        }
    }
}
