import Common
import Foundation
import Torch

/// The shape of a set of low-rank adapters (LoRA, Hu et al. 2021), as PEFT's adapter_config.json
/// states it: each target projection computes W x (+ b) + (alpha / rank) B A dropout(x).
/// The training settings (`TrainConfig.LoRASpec`) hold the defaults; this is what a model needs.
public struct LoRAConfig: Sendable, Equatable {
    public var rank: Int
    public var alpha: Double
    public var dropout: Double
    /// HF module names, a subset of `knownTargets`.
    public var targets: [String]

    /// The projections of a decoder layer, by HF module name, in the order adapters are listed.
    public static let knownTargets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

    public init(rank: Int, alpha: Double, dropout: Double, targets: [String]) {
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.targets = targets
    }

    /// PEFT's `scaling` (without rslora): alpha / rank.
    public var scale: Double { alpha / Double(rank) }

    /// The targets in `knownTargets`' order: a fixed order for optimizer state and files.
    var orderedTargets: [String] { Self.knownTargets.filter(targets.contains) }

    /// The HF module path of a target in layer `i` (`model.layers.3.self_attn.q_proj`).
    static func modulePath(layer i: Int, _ target: String) -> String {
        let block = ["gate_proj", "up_proj", "down_proj"].contains(target) ? "mlp" : "self_attn"
        return "model.layers.\(i).\(block).\(target)"
    }

    /// (in, out) features of a target projection.
    static func features(_ target: String, _ c: LlamaConfig) -> (in: Int, out: Int) {
        let (d, f) = (c.hiddenSize, c.intermediateSize)
        let (qWidth, kvWidth) = (c.numAttentionHeads * c.headDim, c.numKeyValueHeads * c.headDim)
        switch target {
        case "q_proj": return (d, qWidth)
        case "k_proj", "v_proj": return (d, kvWidth)
        case "o_proj": return (qWidth, d)
        case "gate_proj", "up_proj": return (d, f)
        default: return (f, d)  // down_proj
        }
    }

    /// Adapter parameters for a model: rank x (in + out) per target per layer (what the optimizer
    /// holds moments for when training adapters; the memory plan's count).
    public static func parameterCount(_ model: LlamaConfig, _ lora: LoRAConfig) -> Int {
        lora.targets.reduce(0) { sum, t in
            let (i, o) = features(t, model)
            return sum + lora.rank * (i + o)
        } * model.numHiddenLayers
    }
}

/// The adapter tensors of a model: for each target projection of each layer, A [rank, in] and
/// B [out, rank], named as PEFT names them in adapter_model.safetensors
/// (`base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`).
public final class LoRAAdapters {
    public let config: LoRAConfig
    /// Per layer, per target: (A, B).
    let layers: [[String: (a: Tensor, b: Tensor)]]
    /// The dropout masks' seed; the trainer sets it each step, so a resumed run draws the masks
    /// of the uninterrupted one. Setting it restarts `forwardCalls`.
    public var dropoutSeed: UInt64 = 0 { didSet { forwardCalls = 0 } }
    /// Forward passes with gradients since `dropoutSeed` was set. A mask depends on (seed, call,
    /// layer, target) alone, not on how many were drawn before it, so a layer recomputed in
    /// backward (activation checkpointing) draws the masks its forward drew.
    var forwardCalls = 0
    /// Whether the current forward trains (dropout on): set from the grad mode when a forward
    /// starts, since a checkpointed layer's first pass runs without grad and its recompute with it.
    var training = false

    /// PEFT's prefix before the HF module path (PeftModel wraps the CausalLM as base_model.model).
    public static let peftPrefix = "base_model.model."

    /// The file name of a module's A or B: `peftPrefix + module + ".lora_A.weight"`.
    public static func peftName(_ module: String, _ matrix: String) -> String { peftPrefix + module + ".lora_\(matrix).weight" }

    /// Fresh adapters as PEFT initialises them: A kaiming-uniform with a = sqrt(5), i.e.
    /// uniform in ±1/sqrt(in), drawn from `generator` on the CPU (the same on every device); B
    /// zeros, so the adapted model starts as the base.
    public convenience init(_ lora: LoRAConfig, model c: LlamaConfig, generator: Generator, dtype: DType = .float32, device: Device = .cpu) throws {
        var w: [String: Tensor] = [:]
        for i in 0..<c.numHiddenLayers {
            for t in lora.orderedTargets {
                let (fin, fout) = LoRAConfig.features(t, c)
                let bound = 1 / Double(fin).squareRoot()
                let module = LoRAConfig.modulePath(layer: i, t)
                w[Self.peftName(module, "A")] = try Tensor.rand([lora.rank, fin], generator: generator) * (2 * bound) - bound
                w[Self.peftName(module, "B")] = try Tensor.zeros([fout, lora.rank])
            }
        }
        try self.init(lora, model: c, weights: w, source: "initialisation", dtype: dtype, device: device)
    }

    /// Adapters over given tensors (PEFT names): every target of every layer must be present with
    /// its shape, and nothing else. They become leaf tensors that require gradients.
    public init(_ lora: LoRAConfig, model c: LlamaConfig, weights: [String: Tensor], source: String, dtype: DType = .float32,
                device: Device = .cpu) throws {
        config = lora
        var used = Set<String>()
        var layers: [[String: (a: Tensor, b: Tensor)]] = []
        for i in 0..<c.numHiddenLayers {
            var layer: [String: (a: Tensor, b: Tensor)] = [:]
            for t in lora.orderedTargets {
                let (fin, fout) = LoRAConfig.features(t, c)
                let module = LoRAConfig.modulePath(layer: i, t)
                var pair: [Tensor] = []
                for (m, shape) in [("A", [lora.rank, fin]), ("B", [fout, lora.rank])] {
                    let name = Self.peftName(module, m)
                    guard let x = weights[name] else { throw ModelError.missingTensor(name, in: source) }
                    guard x.shape == shape else { throw ModelError.shapeMismatch(tensor: name, expected: shape, found: x.shape, in: source) }
                    pair.append(try (x.dtype == dtype ? x : x.to(dtype)).to(device).detach().requiresGrad(true))
                    used.insert(name)
                }
                layer[t] = (pair[0], pair[1])
            }
            layers.append(layer)
        }
        let extra = Set(weights.keys).subtracting(used)
        if !extra.isEmpty { throw ModelError.unexpectedTensors(extra.sorted(), in: source) }
        self.layers = layers
    }

    /// Every adapter tensor by PEFT name, in a fixed order (layer, target, A then B).
    public var parameters: [(String, Tensor)] {
        layers.enumerated().flatMap { i, layer in
            config.orderedTargets.flatMap { t -> [(String, Tensor)] in
                let module = LoRAConfig.modulePath(layer: i, t)
                return [(Self.peftName(module, "A"), layer[t]!.a), (Self.peftName(module, "B"), layer[t]!.b)]
            }
        }
    }

    /// (alpha / rank) B A dropout(x) for a target of layer `i`, or nil when it has no adapter.
    /// Dropout applies only in a forward that started with gradients recorded (training), PEFT's
    /// inverted dropout.
    func delta(_ x: Tensor, layer i: Int, _ target: String) throws -> Tensor? {
        guard let pair = layers[i][target] else { return nil }
        let (a, b) = pair
        var input = x
        if config.dropout > 0, training {
            var mix = SplitMix64(seed: dropoutSeed)
            for v in [forwardCalls, i, LoRAConfig.knownTargets.firstIndex(of: target) ?? 0] { mix = SplitMix64(seed: mix.next() ^ UInt64(v)) }
            let keep = try Tensor.rand(x.shape, generator: Generator(seed: mix.next())).ge(config.dropout).to(x.dtype).to(x.device)
            input = try x * keep * (1 / (1 - config.dropout))
        }
        return try input.linear(a).linear(b) * config.scale
    }

    /// W + (alpha / rank) B A for a target of layer `i` (a new tensor, no gradient), or nil when
    /// it has no adapter. Computed in float32, returned in W's dtype.
    func merged(_ w: Tensor, layer i: Int, _ target: String) throws -> Tensor? {
        guard let pair = layers[i][target] else { return nil }
        let (a, b) = pair
        return try withNoGrad {
            try (w.to(.float32) + b.to(.float32).matmul(a.to(.float32)) * config.scale).to(w.dtype).to(w.device)
        }
    }
}

extension Llama {
    /// Attaches adapters and freezes the base: from here the base weights record no gradients
    /// and `trainableParameters` are the adapters'.
    public func attach(_ adapters: LoRAAdapters) throws {
        for (_, w) in parameters { try w.requiresGrad(false) }
        self.adapters = adapters
    }

    /// What an optimizer trains: the adapters when attached, else every weight.
    public var trainableParameters: [(String, Tensor)] { adapters?.parameters ?? parameters }

    /// Every weight by HF name with the adapters merged in (W + (alpha / rank) B A): a plain
    /// model's weights, for export and inference. Without adapters, the weights themselves.
    public func mergedWeights() throws -> [String: Tensor] {
        guard let adapters else { return weights }
        var w = weights
        for i in 0..<config.numHiddenLayers {
            for t in adapters.config.targets {
                let name = LoRAConfig.modulePath(layer: i, t) + ".weight"
                w[name] = try adapters.merged(w[name]!, layer: i, t)
            }
        }
        return w
    }

    /// A plain model over the merged weights (adapters folded in), on the same device.
    public func merged() throws -> Llama {
        guard adapters != nil else { return self }
        return try Llama(config: config, weights: try mergedWeights(), source: "merged adapters", device: device)
    }

    /// A projection `x W^T (+ b)` of layer `i`, plus its adapter's term when it has one.
    func project(_ x: Tensor, layer i: Int, _ target: String, _ w: Tensor, bias: Tensor? = nil) throws -> Tensor {
        let y = try x.linear(w, bias: bias)
        guard let d = try adapters?.delta(x, layer: i, target) else { return y }
        return try y + d
    }

    /// The weight inference uses for a projection: merged with its adapter when it has one.
    func inferenceWeight(_ w: Tensor, layer i: Int, _ target: String) throws -> Tensor {
        try adapters?.merged(w, layer: i, target) ?? w
    }
}
