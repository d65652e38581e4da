import Foundation

/// `rope_scaling` of an HF config: how the rotary frequencies are stretched for contexts longer
/// than the model was first trained on. Llama 3.1 / 3.2 / 3.3 checkpoints ship `llama3`; `linear`
/// is position interpolation; `yarn` is what Qwen2.5 and Qwen3 configs name for long contexts;
/// `dynamic` (NTK) raises the base with the longest sequence seen, as transformers' rotary module
/// does (`Llama.rotaryFrequencies`). LongRoPE is refused by name.
public struct RopeScaling: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case linear, llama3, yarn, dynamic }

    public var kind: Kind
    public var factor: Double
    /// llama3 only.
    public var lowFreqFactor: Double = 1
    public var highFreqFactor: Double = 4
    public var originalMaxPositionEmbeddings: Int = 8192
    /// yarn only: the ramp's bounds in rotations, and the cos/sin scale when the config states one.
    public var betaFast: Double = 32
    public var betaSlow: Double = 1
    public var attentionFactor: Double?
    public var mscale: Double?
    public var mscaleAllDim: Double?
    /// yarn only: whether the ramp's bounds are rounded outwards to whole dimensions.
    public var truncate = true
    /// yarn only: whether the config named original_max_position_embeddings (else the model's
    /// max_position_embeddings stands for it).
    public var statesOriginal = true

    public init(kind: Kind, factor: Double, lowFreqFactor: Double = 1, highFreqFactor: Double = 4,
                originalMaxPositionEmbeddings: Int = 8192) {
        self.kind = kind
        self.factor = factor
        self.lowFreqFactor = lowFreqFactor
        self.highFreqFactor = highFreqFactor
        self.originalMaxPositionEmbeddings = originalMaxPositionEmbeddings
    }

    /// Reads HF's dictionary (`rope_type`, or `type` in older configs); errors name the field.
    public init(hf raw: [String: Any], path: String) throws {
        func bad(_ f: String, _ r: String) -> ModelError { .invalidConfig(path: path, field: "rope_scaling.\(f)", reason: r) }
        func number(_ key: String) throws -> Double {
            guard let v = raw[key] else { throw bad(key, "missing") }
            guard let n = (v as? NSNumber)?.doubleValue, n.isFinite else { throw bad(key, "not a number: \(v)") }
            return n
        }
        guard let name = (raw["rope_type"] ?? raw["type"]) as? String else { throw bad("rope_type", "missing") }
        guard let k = Kind(rawValue: name) else {
            if name == "default" { throw bad("rope_type", "'default' means no scaling: remove rope_scaling or set it to null") }
            throw ModelError.unsupported("\(path): rope_scaling.rope_type '\(name)' (implemented: \(Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        kind = k
        factor = try number("factor")
        guard factor >= 1 else { throw bad("factor", "must be at least 1, got \(factor)") }
        func original() throws -> Int {
            let original = try number("original_max_position_embeddings")
            // A whole number the model's context limit allows (found by fuzzing: 6.4e124 trapped).
            guard original >= 1, original == original.rounded(), let o = Int(exactly: original), o <= 1 << 24 else {
                throw bad("original_max_position_embeddings", "not a positive integer of at most \(1 << 24), got \(original)")
            }
            return o
        }
        func optional(_ key: String) throws -> Double? { raw[key] == nil || raw[key] is NSNull ? nil : try number(key) }
        switch k {
        case .llama3:
            lowFreqFactor = try number("low_freq_factor")
            highFreqFactor = try number("high_freq_factor")
            guard highFreqFactor > lowFreqFactor, lowFreqFactor > 0 else {
                throw bad("high_freq_factor", "must exceed low_freq_factor (\(lowFreqFactor)), both positive")
            }
            originalMaxPositionEmbeddings = try original()
        case .yarn:
            // transformers' defaults: beta_fast 32, beta_slow 1, truncate true, the original context
            // the model's max_position_embeddings (filled in by LlamaConfig when absent).
            betaFast = try optional("beta_fast") ?? 32
            betaSlow = try optional("beta_slow") ?? 1
            guard betaFast > 0, betaSlow > 0 else { throw bad("beta_fast", "beta_fast and beta_slow must be positive") }
            attentionFactor = try optional("attention_factor")
            mscale = try optional("mscale")
            mscaleAllDim = try optional("mscale_all_dim")
            if let t = raw["truncate"], !(t is NSNull) {
                guard let b = t as? Bool else { throw bad("truncate", "not a boolean: \(t)") }
                truncate = b
            }
            statesOriginal = raw["original_max_position_embeddings"] != nil && !(raw["original_max_position_embeddings"] is NSNull)
            if statesOriginal { originalMaxPositionEmbeddings = try original() }
        case .linear, .dynamic: break
        }
    }

    /// HF's dictionary for config.json.
    public var hf: [String: Any] {
        var o: [String: Any] = ["rope_type": kind.rawValue, "factor": factor]
        switch kind {
        case .llama3:
            o["low_freq_factor"] = lowFreqFactor
            o["high_freq_factor"] = highFreqFactor
            o["original_max_position_embeddings"] = originalMaxPositionEmbeddings
        case .yarn:
            o["beta_fast"] = betaFast
            o["beta_slow"] = betaSlow
            o["truncate"] = truncate
            if statesOriginal { o["original_max_position_embeddings"] = originalMaxPositionEmbeddings }
            if let a = attentionFactor { o["attention_factor"] = a }
            if let m = mscale { o["mscale"] = m }
            if let m = mscaleAllDim { o["mscale_all_dim"] = m }
        case .linear, .dynamic: break
        }
        return o
    }

    /// The scaled inverse frequencies, as transformers' `_compute_linear_scaling_rope_parameters`
    /// and `_compute_llama3_parameters` compute them: llama3 keeps the high frequencies (wavelength
    /// below original / high_freq_factor), divides the low ones (wavelength above
    /// original / low_freq_factor) by `factor`, and blends linearly in 1/wavelength between.
    ///
    /// yarn (transformers' `_compute_yarn_parameters`): each frequency blends its interpolated
    /// (divided by factor) and extrapolated (kept) values by a linear ramp over the dimensions
    /// whose rotations within the original context fall between beta_fast and beta_slow.
    /// `base` and `dim` are rope_theta and the rotary dimension.
    public func apply(_ invFreq: [Double], base: Double, dim: Int) -> [Double] {
        switch kind {
        case .dynamic:
            return invFreq  // within max_position_embeddings: the plain frequencies (dynamicFrequencies beyond)
        case .linear:
            return invFreq.map { $0 / factor }
        case .yarn:
            let original = Double(originalMaxPositionEmbeddings)
            func correctionDim(_ rotations: Double) -> Double {
                Double(dim) * Foundation.log(original / (rotations * 2 * Double.pi)) / (2 * Foundation.log(base))
            }
            var low = correctionDim(betaFast), high = correctionDim(betaSlow)
            if truncate { (low, high) = (low.rounded(.down), high.rounded(.up)) }
            low = Swift.max(low, 0)
            high = Swift.min(high, Double(dim - 1))
            if low == high { high += 0.001 }
            return invFreq.enumerated().map { i, f in
                let ramp = Swift.min(Swift.max((Double(i) - low) / (high - low), 0), 1)
                let extrapolation = 1 - ramp
                return (f / factor) * (1 - extrapolation) + f * extrapolation
            }
        case .llama3:
            let original = Double(originalMaxPositionEmbeddings)
            let lowWavelen = original / lowFreqFactor, highWavelen = original / highFreqFactor
            return invFreq.map { f in
                let wavelen = 2 * Double.pi / f
                if wavelen < highWavelen { return f }
                if wavelen > lowWavelen { return f / factor }
                let smooth = (original / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor)
                return (1 - smooth) * f / factor + smooth * f
            }
        }
    }

    /// Dynamic NTK's frequencies for sequences of `length` positions (transformers'
    /// `_compute_dynamic_ntk_parameters`): the base raised to base * (factor * L / max - (factor - 1))^(d / (d - 2)),
    /// L the length but at least `maxPositionEmbeddings`.
    public func dynamicFrequencies(length: Int, maxPositionEmbeddings: Int, base: Double, dim: Int) -> [Double] {
        let l = Double(Swift.max(length, maxPositionEmbeddings)), m = Double(maxPositionEmbeddings)
        let raised = base * Foundation.pow(factor * l / m - (factor - 1), Double(dim) / Double(dim - 2))
        return stride(from: 0, to: dim, by: 2).map { 1 / Foundation.pow(raised, Double($0) / Double(dim)) }
    }

    /// The scale of cos and sin (yarn's attention factor): the configured one, else
    /// 0.1 ln(factor) + 1 (with mscale and mscale_all_dim, their ratio); 1 for other kinds.
    public var cosSinScale: Double {
        guard kind == .yarn else { return 1 }
        if let a = attentionFactor { return a }
        func m(_ scale: Double, _ k: Double) -> Double { scale <= 1 ? 1 : 0.1 * k * Foundation.log(scale) + 1 }
        if let a = mscale, let b = mscaleAllDim, a != 0, b != 0 { return m(factor, a) / m(factor, b) }
        return m(factor, 1)
    }
}
