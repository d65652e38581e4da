import CTorch

/// AdamW with decoupled weight decay, the same update as `torch.optim.AdamW`, over parameter
/// groups that each carry their own weight decay (e.g. none for norms and biases).
public final class AdamW: @unchecked Sendable {
    public struct Hyperparameters: Sendable {
        public var learningRate: Double
        public var beta1: Double
        public var beta2: Double
        public var eps: Double
        public var weightDecay: Double

        /// torch.optim.AdamW's defaults (lr 1e-3, betas 0.9/0.999, eps 1e-8, decay 0.01).
        public static var `default`: Hyperparameters {
            let p = ct_adamw_default_params()
            return Hyperparameters(learningRate: p.lr, beta1: p.beta1, beta2: p.beta2, eps: p.eps, weightDecay: p.weight_decay)
        }

        public init(learningRate: Double, beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8,
                    weightDecay: Double = 0.01) {
            self.learningRate = learningRate
            self.beta1 = beta1
            self.beta2 = beta2
            self.eps = eps
            self.weightDecay = weightDecay
        }
    }

    /// One parameter's optimizer state, for checkpoints.
    public struct ParameterState {
        public var step: Int
        public var expAvg: Tensor?
        public var expAvgSq: Tensor?
        public init(step: Int, expAvg: Tensor?, expAvgSq: Tensor?) {
            self.step = step
            self.expAvg = expAvg
            self.expAvgSq = expAvgSq
        }
    }

    let handle: OpaquePointer
    public var hyperparameters: Hyperparameters
    /// Every parameter, in the order the groups added them (the index used by `state(of:)`).
    public private(set) var parameters: [Tensor] = []

    public init(_ hp: Hyperparameters = .default) throws {
        var p = ct_adamw_params(lr: hp.learningRate, beta1: hp.beta1, beta2: hp.beta2, eps: hp.eps, weight_decay: hp.weightDecay)
        var out: OpaquePointer?
        try check(ct_adamw_new(&p, &out))
        handle = out!
        hyperparameters = hp
    }

    /// Convenience: one group with the default weight decay.
    public convenience init(parameters: [Tensor], _ hp: Hyperparameters = .default) throws {
        try self.init(hp)
        try addGroup(parameters)
    }

    deinit { ct_adamw_free(handle) }

    /// Adds parameters with their own weight decay (nil: the optimizer's default).
    public func addGroup(_ params: [Tensor], weightDecay: Double? = nil) throws {
        let handles: [OpaquePointer?] = params.map { $0.handle }
        try check(ct_adamw_add_group(handle, handles, Int32(handles.count), weightDecay ?? hyperparameters.weightDecay))
        parameters += params
    }

    /// One step at `learningRate` (nil: the configured one; schedules pass their value).
    public func step(learningRate: Double? = nil) throws {
        try check(ct_adamw_step(handle, learningRate ?? hyperparameters.learningRate))
    }

    public func zeroGrad() throws { try check(ct_adamw_zero_grad(handle)) }

    /// Bytes of the moments held now (none before the first step allocates them).
    public var stateBytes: Int {
        get throws {
            var n: Int64 = 0
            try check(ct_adamw_state_bytes(handle, &n))
            return Int(n)
        }
    }

    /// Parameter `index`'s step and moments, sharing the optimizer's storage (the next step
    /// changes them; clone what must outlive it): a checkpoint writes them without a copy.
    public func state(of index: Int) throws -> ParameterState {
        var step: Int64 = 0
        var m: OpaquePointer?, v: OpaquePointer?
        try check(ct_adamw_get_state(handle, Int32(index), &step, &m, &v))
        return ParameterState(step: Int(step), expAvg: m.map { Tensor(owning: $0) }, expAvgSq: v.map { Tensor(owning: $0) })
    }

    public func setState(_ state: ParameterState, of index: Int) throws {
        guard let m = state.expAvg, let v = state.expAvgSq else {
            throw TorchError(kind: .invalidArgument, message: "AdamW.setState: parameter \(index) state has no moment tensors")
        }
        try check(ct_adamw_set_state(handle, Int32(index), Int64(state.step), m.handle, v.handle))
    }
}

/// Scales the gradients of `parameters` so their joint L2 norm is at most `maxNorm`; returns
/// the norm before clipping (inf or nan when a gradient is: the caller decides what to do).
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Double) throws -> Double {
    let handles: [OpaquePointer?] = parameters.map { $0.handle }
    var total = 0.0
    try withExtendedLifetime(parameters) {
        try check(ct_clip_grad_norm(handles, Int32(handles.count), maxNorm, &total))
    }
    return total
}
