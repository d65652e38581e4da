import Foundation

/// `rope_scaling` of an HF Llama config: how the rotary frequencies are stretched for contexts
/// longer than the model was first trained on. Llama 3.1 / 3.2 / 3.3 checkpoints ship `llama3`;
/// `linear` is position interpolation. Other kinds (dynamic NTK, YaRN, LongRoPE) change the
/// computation in ways not implemented here and are refused by name.
public struct RopeScaling: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case linear, llama3 }

    public var kind: Kind
    public var factor: Double
    /// llama3 only.
    public var lowFreqFactor: Double = 1
    public var highFreqFactor: Double = 4
    public var originalMaxPositionEmbeddings: Int = 8192

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
        if k == .llama3 {
            lowFreqFactor = try number("low_freq_factor")
            highFreqFactor = try number("high_freq_factor")
            guard highFreqFactor > lowFreqFactor, lowFreqFactor > 0 else {
                throw bad("high_freq_factor", "must exceed low_freq_factor (\(lowFreqFactor)), both positive")
            }
            let original = try number("original_max_position_embeddings")
            // A whole number the model's context limit allows (found by fuzzing: 6.4e124 trapped).
            guard original >= 1, original == original.rounded(), let o = Int(exactly: original), o <= 1 << 24 else {
                throw bad("original_max_position_embeddings", "not a positive integer of at most \(1 << 24), got \(original)")
            }
            originalMaxPositionEmbeddings = o
        }
    }

    /// HF's dictionary for config.json.
    public var hf: [String: Any] {
        var o: [String: Any] = ["rope_type": kind.rawValue, "factor": factor]
        if kind == .llama3 {
            o["low_freq_factor"] = lowFreqFactor
            o["high_freq_factor"] = highFreqFactor
            o["original_max_position_embeddings"] = originalMaxPositionEmbeddings
        }
        return o
    }

    /// The scaled inverse frequencies, as transformers' `_compute_linear_scaling_rope_parameters`
    /// and `_compute_llama3_parameters` compute them: llama3 keeps the high frequencies (wavelength
    /// below original / high_freq_factor), divides the low ones (wavelength above
    /// original / low_freq_factor) by `factor`, and blends linearly in 1/wavelength between.
    public func apply(_ invFreq: [Double]) -> [Double] {
        switch kind {
        case .linear:
            return invFreq.map { $0 / factor }
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
}
