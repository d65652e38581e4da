import Common
import Foundation

/// A Llama-family configuration, read from HF's `config.json` (`decode`; the CodingKeys are
/// HF's names) and written back by `hfJSON`. One decoder serves the four families; their
/// differences are the named fields below (`family`, the attention biases, Qwen3's q/k norm,
/// an explicit `head_dim`, Mistral's sliding window). Keys this model does not use are ignored
/// on load; keys that would change the computation and are not implemented (rope_scaling kinds
/// other than linear and llama3, an MLP bias, Qwen's layer-dependent sliding window) are errors.
public struct LlamaConfig: Decodable, Sendable, Equatable {
    /// HF's model_type: which family's small differences apply.
    public enum Family: String, Sendable, CaseIterable {
        case llama, mistral, qwen2, qwen3

        /// HF's class name, written as `architectures`.
        public var architecture: String {
            switch self {
            case .llama: "LlamaForCausalLM"
            case .mistral: "MistralForCausalLM"
            case .qwen2: "Qwen2ForCausalLM"
            case .qwen3: "Qwen3ForCausalLM"
            }
        }
    }

    public var family = Family.llama
    /// Biases on the q, k and v projections: always in Qwen2, `attention_bias` in Llama and Qwen3.
    public var qkvBias = false
    /// A bias on the output projection: `attention_bias` in Llama and Qwen3, never in Qwen2.
    public var outputBias = false
    /// `head_dim` when the config states one (Qwen3, Mistral-Nemo: heads x head_dim need not be
    /// hidden_size); nil: hidden_size / num_attention_heads.
    public var explicitHeadDim: Int?
    /// Mistral's sliding window: a query attends to the keys at most `slidingWindow - 1`
    /// positions back (itself included, `slidingWindow` keys in all).
    public var slidingWindow: Int?
    /// Qwen3 normalises each head's queries and keys (RMSNorm over head_dim) before rotary.
    public var qkNorm: Bool { family == .qwen3 }
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int
    public var rmsNormEps: Double
    public var ropeTheta: Double
    public var maxPositionEmbeddings: Int
    public var tieWordEmbeddings: Bool
    public var bosTokenID: Int?
    /// Every id that ends a generation (Llama 3 lists several: end of text, end of turn, ...).
    public var eosTokenIDs: [Int]
    /// The first of `eosTokenIDs` (one id, as most configs give it).
    public var eosTokenID: Int? {
        get { eosTokenIDs.first }
        set { eosTokenIDs = newValue.map { [$0] } ?? [] }
    }
    /// Not a CodingKey: read and written through HF's dictionary (`decode`, `hfJSON`).
    public var ropeScaling: RopeScaling?

    public var headDim: Int { explicitHeadDim ?? hiddenSize / numAttentionHeads }

    /// The longest sequence generation runs to: max_position_embeddings, times the factor for
    /// dynamic NTK (which scales the rotary base for longer sequences instead of stating a longer
    /// max_position_embeddings, as yarn and llama3 configs do).
    public var contextLength: Int {
        guard let s = ropeScaling, s.kind == .dynamic else { return maxPositionEmbeddings }
        return Int((Double(maxPositionEmbeddings) * s.factor).rounded(.down))
    }

    /// The rotary inverse frequencies theta^(-2i/d), i < d/2, with `ropeScaling` applied.
    public var inverseFrequencies: [Double] {
        let plain = stride(from: 0, to: headDim, by: 2).map { 1 / Foundation.pow(ropeTheta, Double($0) / Double(headDim)) }
        return ropeScaling?.apply(plain, base: ropeTheta, dim: headDim) ?? plain
    }

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads", rmsNormEps = "rms_norm_eps", ropeTheta = "rope_theta"
        case maxPositionEmbeddings = "max_position_embeddings", tieWordEmbeddings = "tie_word_embeddings"
        case bosTokenID = "bos_token_id", eosTokenID = "eos_token_id", headDim = "head_dim"
    }

    public init(vocabSize: Int, hiddenSize: Int, intermediateSize: Int, numHiddenLayers: Int, numAttentionHeads: Int,
                numKeyValueHeads: Int? = nil, rmsNormEps: Double = 1e-5, ropeTheta: Double = 10000,
                maxPositionEmbeddings: Int = 4096, tieWordEmbeddings: Bool = false, bosTokenID: Int? = 1, eosTokenID: Int? = 2,
                ropeScaling: RopeScaling? = nil) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.numKeyValueHeads = numKeyValueHeads ?? numAttentionHeads
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.tieWordEmbeddings = tieWordEmbeddings
        self.bosTokenID = bosTokenID
        eosTokenIDs = eosTokenID.map { [$0] } ?? []
        self.ropeScaling = ropeScaling
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        numHiddenLayers = try c.decode(Int.self, forKey: .numHiddenLayers)
        numAttentionHeads = try c.decode(Int.self, forKey: .numAttentionHeads)
        numKeyValueHeads = try c.decodeIfPresent(Int.self, forKey: .numKeyValueHeads) ?? numAttentionHeads
        rmsNormEps = try c.decodeIfPresent(Double.self, forKey: .rmsNormEps) ?? 1e-6
        ropeTheta = try c.decodeIfPresent(Double.self, forKey: .ropeTheta) ?? 10000
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 2048
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false
        bosTokenID = try? c.decodeIfPresent(Int.self, forKey: .bosTokenID)
        // One id or a list (Llama 3.x); all of them stop generation.
        eosTokenIDs = (try? c.decodeIfPresent(Int.self, forKey: .eosTokenID)).flatMap { $0.map { [$0] } }
            ?? (try? c.decodeIfPresent([Int].self, forKey: .eosTokenID)).flatMap { $0 } ?? []
        explicitHeadDim = try c.decodeIfPresent(Int.self, forKey: .headDim)
        // A stated head_dim equal to the default is no difference.
        if numAttentionHeads > 0, hiddenSize % numAttentionHeads == 0, explicitHeadDim == hiddenSize / numAttentionHeads { explicitHeadDim = nil }
    }

    /// The config.json keys this implementation reads or checks: what a from-scratch
    /// `model.config` may set (HF checkpoints' other keys are ignored on load).
    public static let understoodKeys: Set<String> = Set(
        ["vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
         "rms_norm_eps", "rope_theta", "max_position_embeddings", "tie_word_embeddings", "bos_token_id", "eos_token_id",
         "rope_scaling", "attention_bias", "mlp_bias", "hidden_act", "head_dim", "model_type", "sliding_window", "use_sliding_window"])

    /// Reads `config.json`, checking what this implementation supports.
    public static func load(_ url: URL) throws -> LlamaConfig {
        let data: Data
        do {
            try FileCheck.readable(url)
            data = try Data(contentsOf: url)
        } catch let FileError.cannotRead(_, reason) {
            throw ModelError.invalidConfig(path: url.path, field: "-", reason: "cannot read: \(reason)")
        } catch {
            throw ModelError.invalidConfig(path: url.path, field: "-", reason: "cannot read: \(error.localizedDescription)")
        }
        return try decode(data, source: url.path)
    }

    /// Decodes config.json content; `source` names it in errors.
    public static func decode(_ data: Data, source path: String) throws -> LlamaConfig {
        if let p = JSONStructure.problem(in: data) { throw ModelError.invalidConfig(path: path, field: "-", reason: p.description) }
        guard let raw = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelError.invalidConfig(path: path, field: "-", reason: "not a JSON object")
        }
        var family = Family.llama
        if let type = raw["model_type"] as? String {
            guard let f = Family(rawValue: type) else {
                throw ModelError.invalidConfig(path: path, field: "model_type", reason: "'\(type)' is not a supported family (\(Family.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            family = f
        }
        var scaling: RopeScaling?
        if let value = raw["rope_scaling"], !(value is NSNull) {
            guard let dict = value as? [String: Any] else {
                throw ModelError.invalidConfig(path: path, field: "rope_scaling", reason: "not an object: \(value)")
            }
            scaling = try RopeScaling(hf: dict, path: path)
        }
        if (raw["mlp_bias"] as? Bool) == true { throw ModelError.unsupported("\(path): mlp_bias = true") }
        let attentionBias = (raw["attention_bias"] as? Bool) == true
        // Qwen2/Qwen3 window only some layers (max_window_layers, layer_types) when asked to.
        if family == .qwen2 || family == .qwen3, (raw["use_sliding_window"] as? Bool) == true {
            throw ModelError.unsupported("\(path): use_sliding_window = true (Qwen's layer-dependent sliding window is not implemented)")
        }
        if let types = raw["layer_types"] as? [String], types.contains(where: { $0 != "full_attention" }) {
            throw ModelError.unsupported("\(path): layer_types other than full_attention")
        }
        if let act = raw["hidden_act"], (act as? String) != "silu" {
            throw ModelError.unsupported("\(path): hidden_act = \(act) (this Llama's MLP is SwiGLU, silu)")
        }
        var config: LlamaConfig
        do { config = try JSONDecoder().decode(LlamaConfig.self, from: data) } catch let DecodingError.keyNotFound(key, _) {
            throw ModelError.invalidConfig(path: path, field: key.stringValue, reason: "missing")
        } catch let DecodingError.typeMismatch(_, ctx) {
            throw ModelError.invalidConfig(path: path, field: ctx.codingPath.map(\.stringValue).joined(separator: "."), reason: "wrong type")
        } catch let DecodingError.valueNotFound(_, ctx) {
            throw ModelError.invalidConfig(path: path, field: ctx.codingPath.map(\.stringValue).joined(separator: "."), reason: "null")
        }
        // yarn's original context defaults to the model's.
        if var y = scaling, y.kind == .yarn, !y.statesOriginal {
            y.originalMaxPositionEmbeddings = config.maxPositionEmbeddings
            scaling = y
        }
        config.ropeScaling = scaling
        config.family = family
        switch family {
        case .qwen2: (config.qkvBias, config.outputBias) = (true, false)
        case .llama, .qwen3: (config.qkvBias, config.outputBias) = (attentionBias, attentionBias)
        case .mistral: break  // Mistral's projections have no biases
        }
        if family == .mistral, let w = raw["sliding_window"] as? Int { config.slidingWindow = w }
        try config.validate(path: path)
        return config
    }

    /// Upper bounds far above any released model (Llama 3.1 405B: 126 layers, hidden 16384,
    /// vocabulary 128256), so a typo or a hostile config.json is an error, not an allocation
    /// that runs until the machine kills the process.
    static let limits: [(field: String, max: Int)] = [
        ("vocab_size", 1 << 22), ("hidden_size", 1 << 16), ("intermediate_size", 1 << 18), ("num_hidden_layers", 1024),
        ("num_attention_heads", 1024), ("num_key_value_heads", 1024), ("max_position_embeddings", 1 << 24),
    ]

    /// Parameters of a model with this configuration (in Double: no size can overflow it).
    public var parameterCount: Double {
        let h = Double(hiddenSize), q = Double(numAttentionHeads * headDim), kv = Double(numKeyValueHeads * headDim)
        let layer = h * q * 2 + h * kv * 2 + h * Double(intermediateSize) * 3 + h * 2
        return Double(vocabSize) * h * (tieWordEmbeddings ? 1 : 2) + Double(numHiddenLayers) * layer + h
    }

    public func validate(path: String = "config") throws {
        func bad(_ f: String, _ r: String) -> ModelError { .invalidConfig(path: path, field: f, reason: r) }
        for (f, v) in [("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
                       ("num_hidden_layers", numHiddenLayers), ("num_attention_heads", numAttentionHeads),
                       ("num_key_value_heads", numKeyValueHeads)] where v <= 0 {
            throw bad(f, "must be positive, got \(v)")
        }
        let values = ["vocab_size": vocabSize, "hidden_size": hiddenSize, "intermediate_size": intermediateSize, "num_hidden_layers": numHiddenLayers,
                      "num_attention_heads": numAttentionHeads, "num_key_value_heads": numKeyValueHeads, "max_position_embeddings": maxPositionEmbeddings]
        for (f, limit) in Self.limits where values[f]! > limit {
            throw bad(f, "\(values[f]!) is above \(limit), larger than any model this implementation supports")
        }
        if let hd = explicitHeadDim {
            guard hd > 0, hd <= 1024 else { throw bad("head_dim", "must be in 1...1024, got \(hd)") }
        } else {
            guard hiddenSize % numAttentionHeads == 0 else { throw bad("hidden_size", "\(hiddenSize) is not divisible by num_attention_heads \(numAttentionHeads)") }
        }
        guard headDim % 2 == 0 else { throw bad(explicitHeadDim == nil ? "hidden_size" : "head_dim", "head dimension \(headDim) must be even for rotary embeddings") }
        if let w = slidingWindow, w < 1 { throw bad("sliding_window", "must be at least 1, got \(w)") }
        guard numAttentionHeads % numKeyValueHeads == 0 else {
            throw bad("num_key_value_heads", "\(numKeyValueHeads) does not divide num_attention_heads \(numAttentionHeads)")
        }
    }

    /// HF's config.json for this model (what `LlamaForCausalLM.from_pretrained` reads).
    public func hfJSON(dtype: String = "float32") throws -> Data {
        var o: [String: Any] = [
            "architectures": [family.architecture], "model_type": family.rawValue, "torch_dtype": dtype, "head_dim": headDim,
            "vocab_size": vocabSize, "hidden_size": hiddenSize, "intermediate_size": intermediateSize,
            "num_hidden_layers": numHiddenLayers, "num_attention_heads": numAttentionHeads,
            "num_key_value_heads": numKeyValueHeads, "rms_norm_eps": rmsNormEps, "rope_theta": ropeTheta,
            "max_position_embeddings": maxPositionEmbeddings, "tie_word_embeddings": tieWordEmbeddings,
            "hidden_act": "silu", "rope_scaling": ropeScaling?.hf ?? NSNull(), "initializer_range": 0.02,
        ]
        switch family {
        case .llama, .qwen3: o["attention_bias"] = outputBias
        case .qwen2: o["use_sliding_window"] = false
        case .mistral: o["sliding_window"] = slidingWindow ?? NSNull()
        }
        if family == .qwen3 { o["use_sliding_window"] = false }
        if let b = bosTokenID { o["bos_token_id"] = b }
        if let e = eosTokenJSON { o["eos_token_id"] = e }
        return try JSONSerialization.data(withJSONObject: o, options: [.prettyPrinted, .sortedKeys])
    }

    /// eos_token_id as HF writes it: one id, or the list when there are several.
    public var eosTokenJSON: Any? { eosTokenIDs.count > 1 ? eosTokenIDs : eosTokenIDs.first }
}
