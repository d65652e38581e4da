import Foundation
import Torch

/// A Llama-family decoder written on Torch, with HF's tensor names and conventions, so
/// checkpoints move both ways with HF transformers: RMSNorm, rotary embeddings in HF's
/// rotate-half layout, grouped-query attention, SwiGLU MLP, tied or untied output head. The
/// families differ only where `LlamaConfig` names it: q/k/v (and o) biases (Qwen2; Llama and Qwen3
/// with attention_bias), per-head q/k RMSNorm before rotary (Qwen3), an explicit head_dim (Qwen3,
/// Mistral), a sliding attention window (Mistral).
///
/// Packed rows: pass `documentIDs` (and `positions` restarting at each document) and each
/// token attends only to earlier tokens of its own document.
public final class Llama {
    /// How this code's kernels round, as a number: what a seeded run trains or generates
    /// depends on it. Caches of the student's work (a recipe's train and eval stages, a local
    /// backend's answers) carry it, so a change that rounds differently runs them again.
    /// 2: the fused causal attention, SwiGLU, RMSNorm, rotary and cross-entropy kernels.
    public static let numericsRevision = 2

    public let config: LlamaConfig
    /// Every weight by its HF name (`model.layers.0.self_attn.q_proj.weight`, ...).
    public let weights: [String: Tensor]
    /// Where the weights live; inputs are moved here and generation runs here.
    public let device: Device
    let layers: [Layer]
    let embed, norm, head: Tensor
    let invFreq: Tensor
    /// Dynamic NTK's state, kept as transformers' rotary module keeps it: the longest sequence
    /// seen past max_position_embeddings and the frequencies for it (back to `invFreq` when a
    /// shorter-than-max sequence comes). Other kinds never change it.
    var dynamicLength: Int
    var dynamicInvFreq: Tensor
    /// Low-rank adapters on the projections (`attach`), or nil: the plain model.
    public internal(set) var adapters: LoRAAdapters?

    struct Layer {
        let q, k, v, o, gate, up, down, inputNorm, postNorm: Tensor
        let qBias, kBias, vBias, oBias: Tensor?
        let qNorm, kNorm: Tensor?
    }

    /// Inference-only concatenations (q|k|v and gate|up): one matmul instead of three and two.
    /// Built by `generate` for its duration, since training changes the weights. Adapters are
    /// merged into every projection here (o and down too), so inference runs no adapter term.
    struct Fused {
        let qkv, gateUp, o, down: Tensor
        let qkvBias: Tensor?
    }
    var fused: [Fused]?

    /// Activation checkpointing: while gradients are recorded, each decoder layer keeps only
    /// its input and is recomputed in backward (`recompute`), trading one more forward for the
    /// layers' activations. Generation and validation (no gradients) are unaffected.
    public var activationCheckpointing = false

    func withFusedWeights<R>(_ body: () throws -> R) throws -> R {
        let built = try withNoGrad {
            try layers.enumerated().map { i, l in
                let w = { (t: Tensor, name: String) throws -> Tensor in try self.inferenceWeight(t, layer: i, name) }
                return Fused(qkv: try Tensor.cat([w(l.q, "q_proj"), w(l.k, "k_proj"), w(l.v, "v_proj")], dim: 0).detach(),
                             gateUp: try Tensor.cat([w(l.gate, "gate_proj"), w(l.up, "up_proj")], dim: 0).detach(),
                             o: try w(l.o, "o_proj").detach(), down: try w(l.down, "down_proj").detach(),
                             qkvBias: try l.qBias.map { try Tensor.cat([$0, l.kBias!, l.vBias!], dim: 0).detach() })
            }
        }
        fused = built
        defer { fused = nil }
        return try body()
    }

    /// HF names and shapes this config implies, in a fixed order.
    public static func parameterShapes(_ c: LlamaConfig) -> [(String, [Int])] {
        let (d, f, hd) = (c.hiddenSize, c.intermediateSize, c.headDim)
        let (qWidth, kvWidth) = (c.numAttentionHeads * hd, c.numKeyValueHeads * hd)
        var s: [(String, [Int])] = [("model.embed_tokens.weight", [c.vocabSize, d])]
        for i in 0..<c.numHiddenLayers {
            let p = "model.layers.\(i)."
            s += [(p + "self_attn.q_proj.weight", [qWidth, d]),
                  (p + "self_attn.k_proj.weight", [kvWidth, d]),
                  (p + "self_attn.v_proj.weight", [kvWidth, d]),
                  (p + "self_attn.o_proj.weight", [d, qWidth])]
            if c.qkvBias {
                s += [(p + "self_attn.q_proj.bias", [qWidth]), (p + "self_attn.k_proj.bias", [kvWidth]), (p + "self_attn.v_proj.bias", [kvWidth])]
            }
            if c.outputBias { s.append((p + "self_attn.o_proj.bias", [d])) }
            if c.qkNorm { s += [(p + "self_attn.q_norm.weight", [hd]), (p + "self_attn.k_norm.weight", [hd])] }
            s += [(p + "mlp.gate_proj.weight", [f, d]), (p + "mlp.up_proj.weight", [f, d]), (p + "mlp.down_proj.weight", [d, f]),
                  (p + "input_layernorm.weight", [d]), (p + "post_attention_layernorm.weight", [d])]
        }
        s.append(("model.norm.weight", [d]))
        if !c.tieWordEmbeddings { s.append(("lm_head.weight", [c.vocabSize, d])) }
        return s
    }

    /// A freshly initialised model (HF's scheme: normal(0, 0.02) weights, unit norms). The
    /// weights are drawn on the CPU generator and then moved, so a seed gives the same model on
    /// every device.
    public convenience init(config: LlamaConfig, generator: Generator, dtype: DType = .float32, device: Device = .cpu) throws {
        try config.validate()
        // Initial weights are drawn on the CPU: they must fit its memory.
        let bytes = config.parameterCount * Double(dtype.size)
        let memory = Double(ProcessInfo.processInfo.physicalMemory)
        guard bytes < memory / 2 else {
            let embeddings = Double(config.vocabSize) * Double(config.hiddenSize) * (config.tieWordEmbeddings ? 1 : 2)
            throw ModelError.invalidConfig(path: "model.config", field: embeddings > config.parameterCount / 2 ? "vocab_size" : "num_hidden_layers",
                                           reason: String(format: "%.3g parameters need %.1f GiB (%@), more than half of this machine's %.1f GiB: lower num_hidden_layers, hidden_size, intermediate_size or vocab_size",
                                                          config.parameterCount, bytes / 1073741824, dtype.description, memory / 1073741824))
        }
        var w: [String: Tensor] = [:]
        for (name, shape) in Self.parameterShapes(config) {
            w[name] = name.hasSuffix("norm.weight") ? try Tensor.ones(shape, dtype: dtype)
                : name.hasSuffix(".bias") ? try Tensor.zeros(shape, dtype: dtype)
                : try (Tensor.randn(shape, generator: generator) * 0.02).to(dtype)
        }
        try self.init(config: config, weights: w, source: "initialisation", device: device)
    }

    /// A model over given weights; every expected tensor must be present with its shape.
    /// Weights become leaf tensors that require gradients, on `device` (default: where the
    /// given weights are).
    public init(config: LlamaConfig, weights: [String: Tensor], source: String = "weights", dtype: DType? = nil,
                device: Device? = nil) throws {
        try config.validate(path: source)
        self.config = config
        let device = device ?? weights["model.embed_tokens.weight"]?.device ?? .cpu
        self.device = device
        var w: [String: Tensor] = [:]
        let expected = Self.parameterShapes(config)
        for (name, shape) in expected {
            guard let t = weights[name] else { throw ModelError.missingTensor(name, in: source) }
            guard t.shape == shape else { throw ModelError.shapeMismatch(tensor: name, expected: shape, found: t.shape, in: source) }
            let cast = try dtype.map { t.dtype == $0 ? t : try t.to($0) } ?? t
            w[name] = try cast.to(device).detach().requiresGrad(true)
        }
        // HF checkpoints of tied models sometimes also carry lm_head.weight; rotary buffers are recomputed.
        let extra = Set(weights.keys).subtracting(w.keys).filter { $0 != "lm_head.weight" && !$0.hasSuffix("rotary_emb.inv_freq") }
        if !extra.isEmpty { throw ModelError.unexpectedTensors(extra.sorted(), in: source) }
        self.weights = w
        embed = w["model.embed_tokens.weight"]!
        norm = w["model.norm.weight"]!
        head = config.tieWordEmbeddings ? embed : w["lm_head.weight"]!
        layers = (0..<config.numHiddenLayers).map { i in
            let p = "model.layers.\(i)."
            return Layer(q: w[p + "self_attn.q_proj.weight"]!, k: w[p + "self_attn.k_proj.weight"]!, v: w[p + "self_attn.v_proj.weight"]!,
                         o: w[p + "self_attn.o_proj.weight"]!, gate: w[p + "mlp.gate_proj.weight"]!, up: w[p + "mlp.up_proj.weight"]!,
                         down: w[p + "mlp.down_proj.weight"]!, inputNorm: w[p + "input_layernorm.weight"]!,
                         postNorm: w[p + "post_attention_layernorm.weight"]!,
                         qBias: w[p + "self_attn.q_proj.bias"], kBias: w[p + "self_attn.k_proj.bias"], vBias: w[p + "self_attn.v_proj.bias"],
                         oBias: w[p + "self_attn.o_proj.bias"], qNorm: w[p + "self_attn.q_norm.weight"], kNorm: w[p + "self_attn.k_norm.weight"])
        }
        // inv_freq[i] = theta^(-2i/d) (rope_scaling applied), in float32 as HF keeps it.
        invFreq = try Tensor(config.inverseFrequencies.map { Float($0) }, device: device)
        dynamicLength = config.maxPositionEmbeddings
        dynamicInvFreq = invFreq
    }

    /// The frequencies for a forward over positions up to `length - 1`: `invFreq`, or dynamic
    /// NTK's (transformers' `dynamic_frequency_update`: grow past the longest length seen, reset
    /// below max_position_embeddings; cached keys keep the rotation they were made with).
    func rotaryFrequencies(length: Int) throws -> Tensor {
        guard let s = config.ropeScaling, s.kind == .dynamic else { return invFreq }
        let max = config.maxPositionEmbeddings
        if length > dynamicLength {
            dynamicInvFreq = try Tensor(s.dynamicFrequencies(length: length, maxPositionEmbeddings: max, base: config.ropeTheta, dim: config.headDim)
                .map { Float($0) }, device: device)
            dynamicLength = length
        }
        if length < max, dynamicLength > max {
            dynamicInvFreq = invFreq
            dynamicLength = max
        }
        return dynamicInvFreq
    }

    /// Parameters as (HF name, tensor), in a fixed order (the tied head appears once).
    public var parameters: [(String, Tensor)] {
        Self.parameterShapes(config).map { ($0.0, weights[$0.0]!) }
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.1.count } }

    func rmsNorm(_ x: Tensor, _ w: Tensor) throws -> Tensor { try x.rmsNorm(w, eps: config.rmsNormEps) }

    /// cos and sin [B, 1, T, headDim / 2] of the rotary angles for int64 positions [B, T]: HF's
    /// cos/sin are these twice over (cat(freqs, freqs)); `Tensor.rotary` takes the halves.
    func rotary(_ positions: Tensor, dtype: DType, invFreq: Tensor) throws -> (Tensor, Tensor) {
        let freqs = try (positions.to(.float32).unsqueeze(-1) * invFreq.unsqueeze(0).unsqueeze(0)).unsqueeze(1)
        // yarn scales cos and sin (its attention factor); 1 for every other kind.
        let scale = config.ropeScaling?.cosSinScale ?? 1
        var (cos, sin) = (try freqs.cos(), try freqs.sin())
        if scale != 1 { (cos, sin) = (try cos * scale, try sin * scale) }
        return dtype == .float32 ? (cos, sin) : (try cos.to(dtype), try sin.to(dtype))
    }

    /// Logits [B, T, vocab] for int64 ids [B, T] (on the model's device, as every input).
    /// - positions: int64 [B, T]; default 0..<T (offset by the cache's length).
    /// - documentIDs: int64 [B, T] for packed rows: attention stays within a document.
    /// - cache: keys and values of earlier tokens, extended in place (generation).
    /// - keyMask: bool [B, cacheLength + T], false for padding keys (left-padded batches).
    public func forward(_ ids: Tensor, positions: Tensor? = nil, documentIDs: Tensor? = nil,
                        cache: KVCache? = nil, keyMask: Tensor? = nil) throws -> Tensor {
        try hiddenStates(ids, positions: positions, documentIDs: documentIDs, cache: cache, keyMask: keyMask).linear(head)
    }

    /// The output head's weight [vocab, hidden] (the embedding when tied): logits are
    /// `hiddenStates(...)` times its transpose.
    public var headWeight: Tensor { head }

    /// The final normed hidden states [B, T, hidden], the head's input; arguments as `forward`.
    /// For a loss that applies the head itself (`chunkedCrossEntropy`).
    public func hiddenStates(_ ids: Tensor, positions: Tensor? = nil, documentIDs: Tensor? = nil,
                             cache: KVCache? = nil, keyMask: Tensor? = nil) throws -> Tensor {
        let (b, t) = (ids.size(0), ids.size(1))
        let past = cache?.length ?? 0
        if isGradEnabled { adapters?.forwardCalls += 1 }
        adapters?.training = isGradEnabled
        let hd = config.headDim
        let pos = try positions ?? Tensor.arange(Double(past), Double(past + t), device: device).unsqueeze(0).expand([b, t])
        var x = try embed.embedding(ids)
        // Dynamic NTK needs the longest position of this call (transformers: max(position_ids) + 1).
        let length = config.ropeScaling?.kind == .dynamic ? (positions != nil ? Int(try pos.max().item()) + 1 : past + t) : 0
        let (cos, sin) = try rotary(pos, dtype: x.dtype, invFreq: try rotaryFrequencies(length: length))

        // Causality is attention's `causal` flag (its kernel then skips the hidden keys' products);
        // the additive mask, built once for every layer, only carries what else is hidden:
        // other documents of a packed row ([B, 1, T, T]) and padding keys ([B, 1, 1, S]).
        var allowed: Tensor? = nil
        if let docs = documentIDs {
            precondition(past == 0, "documentIDs are for training rows, not cached generation")
            allowed = try docs.unsqueeze(-1).eq(docs.unsqueeze(-2)).unsqueeze(1)
        }
        if let km = keyMask {
            let keys = try km.unsqueeze(1).unsqueeze(1)
            allowed = try allowed?.logicalAnd(keys) ?? keys
        }
        // Mistral's window: a query sees the keys fewer than `window` positions back. Indices stand
        // for positions: packed documents and left padding shift queries and keys alike.
        if let window = config.slidingWindow, past + t > window {
            let queries = try Tensor.arange(Double(past), Double(past + t), device: device).unsqueeze(-1)
            let keys = try Tensor.arange(0, Double(past + t), device: device).unsqueeze(0)
            let near = try (queries - keys).lt(Double(window)).unsqueeze(0).unsqueeze(0)
            allowed = try allowed?.logicalAnd(near) ?? near
        }
        let mask = try allowed.map { try Tensor.zeros($0.shape, dtype: x.dtype, device: x.device).maskedFill($0.logicalNot(), -.infinity) }
        let scale = 1.0 / Double(hd).squareRoot()

        let padded = keyMask != nil
        for i in layers.indices {
            // Checkpointed layers keep only their input; the closure captures what else they read,
            // LoRA's dropout state as this forward left it (a later forward may change it before
            // this one's backward recomputes the layer).
            if activationCheckpointing, isGradEnabled, cache == nil {
                let dropout = adapters.map { ($0.forwardCalls, $0.training) }
                x = try recompute([x]) { [self] in
                    let now = adapters.map { ($0.forwardCalls, $0.training) }
                    if let adapters, let (call, training) = dropout { (adapters.forwardCalls, adapters.training) = (call, training) }
                    defer { if let adapters, let (call, training) = now { (adapters.forwardCalls, adapters.training) = (call, training) } }
                    return try decoderLayer(i, $0[0], cos: cos, sin: sin, mask: mask, scale: scale, cache: nil, padded: padded)
                }
            } else {
                x = try decoderLayer(i, x, cos: cos, sin: sin, mask: mask, scale: scale, cache: cache, padded: padded)
            }
        }
        cache?.length = past + t
        return try rmsNorm(x, norm)
    }

    /// Decoder layer i on x [B, T, hidden]: attention and MLP, each with its residual. A pure
    /// function of its arguments and the weights (what `recompute` requires) but for the cache,
    /// which it extends.
    func decoderLayer(_ i: Int, _ x: Tensor, cos: Tensor, sin: Tensor, mask: Tensor?, scale: Double, cache: KVCache?,
                      padded: Bool) throws -> Tensor {
        let (b, t) = (x.size(0), x.size(1))
        let (h, kvh, hd) = (config.numAttentionHeads, config.numKeyValueHeads, config.headDim)
        let l = layers[i]
        var x = x
        let n = try rmsNorm(x, l.inputNorm)
        let f = isGradEnabled ? nil : fused?[i]
        var q: Tensor, k: Tensor, v: Tensor
        if let f {
            let qkv = try n.linear(f.qkv, bias: f.qkvBias).view([b, t, h + 2 * kvh, hd])
            q = try qkv.narrow(2, start: 0, length: h)
            k = try qkv.narrow(2, start: h, length: kvh)
            v = try qkv.narrow(2, start: h + kvh, length: kvh).transpose(1, 2)
        } else {
            q = try project(n, layer: i, "q_proj", l.q, bias: l.qBias).view([b, t, h, hd])
            k = try project(n, layer: i, "k_proj", l.k, bias: l.kBias).view([b, t, kvh, hd])
            v = try project(n, layer: i, "v_proj", l.v, bias: l.vBias).view([b, t, kvh, hd]).transpose(1, 2)
        }
        // Qwen3: each head's queries and keys are RMS-normalised over head_dim before rotary.
        if let qn = l.qNorm, let kn = l.kNorm {
            q = try rmsNorm(q.contiguous(), qn)
            k = try rmsNorm(k.contiguous(), kn)
        }
        q = try q.transpose(1, 2)
        k = try k.transpose(1, 2)
        q = try q.rotary(cos: cos, sin: sin)
        k = try k.rotary(cos: cos, sin: sin)
        if let cache { (k, v) = try cache.append(layer: i, keys: k, values: v) }
        if kvh != h {
            k = try k.repeatInterleave(h / kvh, dim: 1)
            v = try v.repeatInterleave(h / kvh, dim: 1)
        }
        var y = try Tensor.attention(q: q, k: k, v: v, mask: mask, scale: scale, causal: true)
        // Left-padding queries of a prefill have every key blocked and give NaN rows; zero them
        // (they are never read). Every other query sees at least itself.
        if padded, t > 1 { y = try Tensor.where(y.isFinite(), y, Tensor.zeros([1], dtype: y.dtype, device: y.device)) }
        y = try y.transpose(1, 2).contiguous().view([b, t, h * hd])  // free: attention's output is laid out [B, T, H, D]
        x = try x + (f.map { try y.linear($0.o, bias: l.oBias) } ?? project(y, layer: i, "o_proj", l.o, bias: l.oBias))
        let m = try rmsNorm(x, l.postNorm)
        if let f {
            let gu = try m.linear(f.gateUp)
            let width = config.intermediateSize
            x = try x + Tensor.swiglu(gate: gu.narrow(-1, start: 0, length: width), up: gu.narrow(-1, start: width, length: width)).linear(f.down)
        } else {
            let s = try Tensor.swiglu(gate: project(m, layer: i, "gate_proj", l.gate), up: project(m, layer: i, "up_proj", l.up))
            x = try x + project(s, layer: i, "down_proj", l.down)
        }
        return x
    }
}

/// Keys and values of the tokens seen so far, per layer, for generation. With a capacity, each
/// layer's buffers are allocated once at full length and written in place (no copy of the
/// whole cache per token); without one, they grow by concatenation.
public final class KVCache {
    var keys: [Tensor?]
    var values: [Tensor?]
    let capacity: Int?
    public internal(set) var length = 0

    public init(layers: Int, capacity: Int? = nil) {
        keys = Array(repeating: nil, count: layers)
        values = Array(repeating: nil, count: layers)
        self.capacity = capacity
    }

    func append(layer i: Int, keys k: Tensor, values v: Tensor) throws -> (Tensor, Tensor) {
        let t = k.size(2), end = length + t
        guard let cap = capacity else {
            let nk = try keys[i].map { try Tensor.cat([$0, k], dim: 2) } ?? k
            let nv = try values[i].map { try Tensor.cat([$0, v], dim: 2) } ?? v
            keys[i] = nk
            values[i] = nv
            return (nk, nv)
        }
        precondition(end <= cap, "KV cache capacity \(cap) exceeded")
        if keys[i] == nil {
            keys[i] = try Tensor.zeros([k.size(0), k.size(1), cap, k.size(3)], dtype: k.dtype, device: k.device)
            values[i] = try Tensor.zeros([v.size(0), v.size(1), cap, v.size(3)], dtype: v.dtype, device: v.device)
        }
        try keys[i]!.narrow(2, start: length, length: t).copy_(k)
        try values[i]!.narrow(2, start: length, length: t).copy_(v)
        return (try keys[i]!.narrow(2, start: 0, length: end), try values[i]!.narrow(2, start: 0, length: end))
    }
}
