import CTorch

// Elementwise math, reductions and neural-network pieces. Every op returns a new tensor and
// throws TorchError with libtorch's message on a shape, dtype or index error.
extension Tensor {
    func unary(_ op: ct_unary_op) throws -> Tensor { try Tensor.make { ct_unary(op, handle, $0) } }
    func binary(_ op: ct_binary_op, _ other: Tensor) throws -> Tensor {
        try Tensor.make { ct_binary(op, handle, other.handle, $0) }
    }
    func binary(_ op: ct_binary_op, _ s: Double) throws -> Tensor {
        try Tensor.make { ct_binary_scalar(op, handle, s, $0) }
    }

    // MARK: Unary
    public func neg() throws -> Tensor { try unary(CT_NEG) }
    public func exp() throws -> Tensor { try unary(CT_EXP) }
    public func log() throws -> Tensor { try unary(CT_LOG) }
    public func sqrt() throws -> Tensor { try unary(CT_SQRT) }
    public func rsqrt() throws -> Tensor { try unary(CT_RSQRT) }
    public func abs() throws -> Tensor { try unary(CT_ABS) }
    public func tanh() throws -> Tensor { try unary(CT_TANH) }
    public func sigmoid() throws -> Tensor { try unary(CT_SIGMOID) }
    public func silu() throws -> Tensor { try unary(CT_SILU) }
    public func relu() throws -> Tensor { try unary(CT_RELU) }
    public func gelu() throws -> Tensor { try unary(CT_GELU) }
    public func cos() throws -> Tensor { try unary(CT_COS) }
    public func sin() throws -> Tensor { try unary(CT_SIN) }
    public func square() throws -> Tensor { try unary(CT_SQUARE) }
    public func reciprocal() throws -> Tensor { try unary(CT_RECIPROCAL) }
    public func logicalNot() throws -> Tensor { try unary(CT_LOGICAL_NOT) }
    public func floor() throws -> Tensor { try unary(CT_FLOOR) }
    public func isFinite() throws -> Tensor { try unary(CT_ISFINITE) }

    // MARK: Binary (broadcasting)
    public func pow(_ e: Tensor) throws -> Tensor { try binary(CT_POW, e) }
    public func pow(_ e: Double) throws -> Tensor { try binary(CT_POW, e) }
    public func maximum(_ o: Tensor) throws -> Tensor { try binary(CT_MAXIMUM, o) }
    public func minimum(_ o: Tensor) throws -> Tensor { try binary(CT_MINIMUM, o) }
    public func clamp(min: Double) throws -> Tensor { try binary(CT_MAXIMUM, min) }
    public func clamp(max: Double) throws -> Tensor { try binary(CT_MINIMUM, max) }
    public func remainder(_ s: Double) throws -> Tensor { try binary(CT_REMAINDER, s) }
    public func eq(_ o: Tensor) throws -> Tensor { try binary(CT_EQ, o) }
    public func eq(_ s: Double) throws -> Tensor { try binary(CT_EQ, s) }
    public func ne(_ o: Tensor) throws -> Tensor { try binary(CT_NE, o) }
    public func ne(_ s: Double) throws -> Tensor { try binary(CT_NE, s) }
    public func lt(_ o: Tensor) throws -> Tensor { try binary(CT_LT, o) }
    public func lt(_ s: Double) throws -> Tensor { try binary(CT_LT, s) }
    public func le(_ o: Tensor) throws -> Tensor { try binary(CT_LE, o) }
    public func le(_ s: Double) throws -> Tensor { try binary(CT_LE, s) }
    public func gt(_ o: Tensor) throws -> Tensor { try binary(CT_GT, o) }
    public func gt(_ s: Double) throws -> Tensor { try binary(CT_GT, s) }
    public func ge(_ o: Tensor) throws -> Tensor { try binary(CT_GE, o) }
    public func ge(_ s: Double) throws -> Tensor { try binary(CT_GE, s) }
    public func logicalAnd(_ o: Tensor) throws -> Tensor { try binary(CT_LOGICAL_AND, o) }
    public func logicalOr(_ o: Tensor) throws -> Tensor { try binary(CT_LOGICAL_OR, o) }

    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(CT_ADD, b) }
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(CT_SUB, b) }
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(CT_MUL, b) }
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(CT_DIV, b) }
    public static func + (a: Tensor, s: Double) throws -> Tensor { try a.binary(CT_ADD, s) }
    public static func - (a: Tensor, s: Double) throws -> Tensor { try a.binary(CT_SUB, s) }
    public static func * (a: Tensor, s: Double) throws -> Tensor { try a.binary(CT_MUL, s) }
    public static func / (a: Tensor, s: Double) throws -> Tensor { try a.binary(CT_DIV, s) }
    public static func + (s: Double, a: Tensor) throws -> Tensor { try a.binary(CT_ADD, s) }
    public static func * (s: Double, a: Tensor) throws -> Tensor { try a.binary(CT_MUL, s) }
    public static func - (s: Double, a: Tensor) throws -> Tensor { try a.neg().binary(CT_ADD, s) }
    public static prefix func - (a: Tensor) throws -> Tensor { try a.neg() }

    // MARK: Reductions
    func reduce(_ op: ct_reduce_op, _ dims: [Int], _ keepDim: Bool) throws -> Tensor {
        let d = dims.map(Int64.init)
        return try Tensor.make { ct_reduce(op, handle, d, Int32(d.count), keepDim, $0) }
    }
    /// Sum over `dims` (all elements when empty).
    public func sum(_ dims: [Int] = [], keepDim: Bool = false) throws -> Tensor { try reduce(CT_SUM, dims, keepDim) }
    public func mean(_ dims: [Int] = [], keepDim: Bool = false) throws -> Tensor { try reduce(CT_MEAN, dims, keepDim) }
    public func max(_ dims: [Int] = [], keepDim: Bool = false) throws -> Tensor { try reduce(CT_AMAX, dims, keepDim) }
    public func min(_ dims: [Int] = [], keepDim: Bool = false) throws -> Tensor { try reduce(CT_AMIN, dims, keepDim) }
    public func cumsum(_ dim: Int) throws -> Tensor { try Tensor.make { ct_cumsum(handle, Int64(dim), $0) } }
    public func argmax(_ dim: Int, keepDim: Bool = false) throws -> Tensor {
        try Tensor.make { ct_argmax(handle, Int64(dim), keepDim, $0) }
    }
    public func topk(_ k: Int, dim: Int = -1, largest: Bool = true) throws -> (values: Tensor, indices: Tensor) {
        var v: OpaquePointer?, i: OpaquePointer?
        try check(ct_topk(handle, Int64(k), Int64(dim), largest, &v, &i))
        return (Tensor(owning: v!), Tensor(owning: i!))
    }
    public func sort(_ dim: Int = -1, descending: Bool = false) throws -> (values: Tensor, indices: Tensor) {
        var v: OpaquePointer?, i: OpaquePointer?
        try check(ct_sort(handle, Int64(dim), descending, &v, &i))
        return (Tensor(owning: v!), Tensor(owning: i!))
    }
    /// `n` draws per row of non-negative weights.
    public func multinomial(_ n: Int, replacement: Bool = false, generator: Generator? = nil) throws -> Tensor {
        try Tensor.make { ct_multinomial(handle, Int64(n), replacement, generator?.handle, $0) }
    }

    // MARK: Linear algebra and activations
    public func matmul(_ o: Tensor) throws -> Tensor { try Tensor.make { ct_matmul(handle, o.handle, $0) } }
    /// self @ weight^T (+ bias), with weight laid out [out, in] as in HF checkpoints.
    /// Scaled dot-product attention, softmax(q @ k^T * scale + mask) @ v, as one op with its own
    /// backward: q [B, H, T, D], k [B, H, S, D], v [B, H, S, Dv]; `mask` additive (0 or -inf),
    /// broadcastable to [B, H, T, S]. A query whose keys are all masked gives a NaN row.
    /// With `causal`, key j is hidden from query i when j > i + S - T (on top of `mask`), and the
    /// fp32 CPU path skips the products for those keys.
    public static func attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor?, scale: Double, causal: Bool = false) throws -> Tensor {
        try Tensor.make { ct_attention(q.handle, k.handle, v.handle, mask?.handle, scale, causal, $0) }
    }

    /// HF's LlamaRMSNorm over the last dimension, `weight * x / sqrt(mean(x^2) + eps)` (float32
    /// inside for half types), as one op with a closed-form backward.
    public func rmsNorm(_ weight: Tensor, eps: Double) throws -> Tensor {
        try Tensor.make { ct_rms_norm(handle, weight.handle, eps, $0) }
    }

    /// SwiGLU's product `silu(gate) * up` (the same shapes), one op with a closed-form backward.
    public static func swiglu(gate: Tensor, up: Tensor) throws -> Tensor {
        try Tensor.make { ct_swiglu(gate.handle, up.handle, $0) }
    }

    /// Rotary embedding in HF's rotate-half layout for this [B, H, T, D] tensor, by the angles'
    /// `cos` and `sin` [B or 1, 1, T, D/2]; one op with its own backward. Returns a contiguous
    /// [B, H, T, D].
    public func rotary(cos: Tensor, sin: Tensor) throws -> Tensor {
        try Tensor.make { ct_rotary(handle, cos.handle, sin.handle, $0) }
    }

    public func linear(_ weight: Tensor, bias: Tensor? = nil) throws -> Tensor {
        try Tensor.make { ct_linear(handle, weight.handle, bias?.handle, $0) }
    }
    public func softmax(_ dim: Int) throws -> Tensor { try Tensor.make { ct_softmax(handle, Int64(dim), $0) } }
    public func logSoftmax(_ dim: Int) throws -> Tensor { try Tensor.make { ct_log_softmax(handle, Int64(dim), $0) } }

    /// Rows of this [V, D] table at integer `indices` of any shape.
    public func embedding(_ indices: Tensor) throws -> Tensor {
        try Tensor.make { ct_embedding(handle, indices.handle, $0) }
    }
    public func maskedFill(_ mask: Tensor, _ value: Double) throws -> Tensor {
        try Tensor.make { ct_masked_fill(handle, mask.handle, value, $0) }
    }
    public static func `where`(_ cond: Tensor, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        try make { ct_where(cond.handle, a.handle, b.handle, $0) }
    }
    public func triu(_ diagonal: Int = 0) throws -> Tensor { try Tensor.make { ct_triu(handle, Int64(diagonal), $0) } }
    public func tril(_ diagonal: Int = 0) throws -> Tensor { try Tensor.make { ct_tril(handle, Int64(diagonal), $0) } }
}

public enum Reduction: Sendable {
    case none, mean, sum
    var raw: ct_reduction {
        switch self {
        case .none: CT_REDUCTION_NONE
        case .mean: CT_REDUCTION_MEAN
        case .sum: CT_REDUCTION_SUM
        }
    }
}

/// Cross-entropy of `logits` [N, C] against int64 `targets` [N]; targets equal to
/// `ignoreIndex` contribute nothing and are not counted by `.mean`.
public func crossEntropy(_ logits: Tensor, _ targets: Tensor, ignoreIndex: Int = -100,
                         reduction: Reduction = .mean) throws -> Tensor {
    try Tensor.make { ct_cross_entropy(logits.handle, targets.handle, Int64(ignoreIndex), reduction.raw, $0) }
}

/// The summed cross-entropy of the logits `hidden` [N, D] @ `weight`[V, D]^T against int64
/// `targets` [N], `chunkRows` rows at a time, so the [N, V] logits never exist at once (the
/// output head and its loss as one op; `ct_chunked_cross_entropy`). A float32 scalar. Forward
/// also takes the gradients of `hidden` and `weight` and keeps only those ([N, D] and [V, D]).
public func chunkedCrossEntropy(hidden: Tensor, weight: Tensor, targets: Tensor, ignoreIndex: Int = -100,
                                chunkRows: Int) throws -> Tensor {
    try Tensor.make { ct_chunked_cross_entropy(hidden.handle, weight.handle, targets.handle, Int64(ignoreIndex), Int64(chunkRows), $0) }
}
