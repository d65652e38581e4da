import Common
import Foundation

/// A Llama-family configuration, read from HF's `config.json` (`decode`; the CodingKeys are
/// HF's names) and written back by `hfJSON`. Keys this model does not use are ignored on load; keys that would change
/// the computation and are not implemented (rope_scaling kinds other than linear and llama3,
/// attention or MLP bias) are errors.
public struct LlamaConfig: Decodable, Sendable, Equatable {
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

    public var headDim: Int { hiddenSize / numAttentionHeads }

    /// The rotary inverse frequencies theta^(-2i/d), i < d/2, with `ropeScaling` applied.
    public var inverseFrequencies: [Double] {
        let plain = stride(from: 0, to: headDim, by: 2).map { 1 / Foundation.pow(ropeTheta, Double($0) / Double(headDim)) }
        return ropeScaling?.apply(plain) ?? plain
    }

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads", rmsNormEps = "rms_norm_eps", ropeTheta = "rope_theta"
        case maxPositionEmbeddings = "max_position_embeddings", tieWordEmbeddings = "tie_word_embeddings"
        case bosTokenID = "bos_token_id", eosTokenID = "eos_token_id"
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
    }

    /// The config.json keys this implementation reads or checks: what a from-scratch
    /// `model.config` may set (HF checkpoints' other keys are ignored on load).
    public static let understoodKeys: Set<String> = Set(
        ["vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
         "rms_norm_eps", "rope_theta", "max_position_embeddings", "tie_word_embeddings", "bos_token_id", "eos_token_id",
         "rope_scaling", "attention_bias", "mlp_bias", "hidden_act", "head_dim", "model_type"])

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
        if let type = raw["model_type"] as? String, !["llama", "mistral"].contains(type) {
            throw ModelError.invalidConfig(path: path, field: "model_type", reason: "'\(type)' is not a Llama-family model")
        }
        var scaling: RopeScaling?
        if let value = raw["rope_scaling"], !(value is NSNull) {
            guard let dict = value as? [String: Any] else {
                throw ModelError.invalidConfig(path: path, field: "rope_scaling", reason: "not an object: \(value)")
            }
            scaling = try RopeScaling(hf: dict, path: path)
        }
        for key in ["attention_bias", "mlp_bias"] where (raw[key] as? Bool) == true {
            throw ModelError.unsupported("\(path): \(key) = true")
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
        config.ropeScaling = scaling
        try config.validate(path: path)
        // Some configs state head_dim; one other than hidden_size / heads is not this layout.
        if let hd = raw["head_dim"], !(hd is NSNull), (hd as? Int) != config.headDim {
            throw ModelError.unsupported("\(path): head_dim = \(hd), but hidden_size / num_attention_heads = \(config.headDim)")
        }
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
        let h = Double(hiddenSize), kv = Double(numKeyValueHeads * headDim)
        let layer = h * h * 2 + h * kv * 2 + h * Double(intermediateSize) * 3 + h * 2
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
        guard hiddenSize % numAttentionHeads == 0 else { throw bad("hidden_size", "\(hiddenSize) is not divisible by num_attention_heads \(numAttentionHeads)") }
        guard headDim % 2 == 0 else { throw bad("hidden_size", "head dimension \(headDim) must be even for rotary embeddings") }
        guard numAttentionHeads % numKeyValueHeads == 0 else {
            throw bad("num_key_value_heads", "\(numKeyValueHeads) does not divide num_attention_heads \(numAttentionHeads)")
        }
    }

    /// HF's config.json for this model (what `LlamaForCausalLM.from_pretrained` reads).
    public func hfJSON(dtype: String = "float32") throws -> Data {
        var o: [String: Any] = [
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "torch_dtype": dtype,
            "vocab_size": vocabSize, "hidden_size": hiddenSize, "intermediate_size": intermediateSize,
            "num_hidden_layers": numHiddenLayers, "num_attention_heads": numAttentionHeads,
            "num_key_value_heads": numKeyValueHeads, "rms_norm_eps": rmsNormEps, "rope_theta": ropeTheta,
            "max_position_embeddings": maxPositionEmbeddings, "tie_word_embeddings": tieWordEmbeddings,
            "hidden_act": "silu", "attention_bias": false, "rope_scaling": ropeScaling?.hf ?? NSNull(), "initializer_range": 0.02,
        ]
        if let b = bosTokenID { o["bos_token_id"] = b }
        if let e = eosTokenJSON { o["eos_token_id"] = e }
        return try JSONSerialization.data(withJSONObject: o, options: [.prettyPrinted, .sortedKeys])
    }

    /// eos_token_id as HF writes it: one id, or the list when there are several.
    public var eosTokenJSON: Any? { eosTokenIDs.count > 1 ? eosTokenIDs : eosTokenIDs.first }
}
