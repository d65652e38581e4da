import Torch

/// A deliberately small causal language model (token embedding, one pre-norm attention block
/// with an MLP, RMSNorm, output head) used by `bcsft smoke` and `bcsft doctor` to prove that
/// tokenizer, tensors, autograd and the optimizer work together end to end. The student
/// model proper is the Llama-family decoder (Models/Llama), not this.
public final class TinyCausalLM {
    public struct Config: Sendable {
        public var vocabularySize: Int
        public var dim = 64
        public var heads = 4
        public var hidden = 172
        public var context = 64
        public init(vocabularySize: Int) { self.vocabularySize = vocabularySize }
    }

    public let config: Config
    let embed, norm1, wq, wk, wv, wo, norm2, up, down, normOut, head: Tensor

    /// Parameters as (name, tensor) in a fixed order.
    public var parameters: [(String, Tensor)] {
        [("embed", embed), ("norm1", norm1), ("wq", wq), ("wk", wk), ("wv", wv), ("wo", wo),
         ("norm2", norm2), ("up", up), ("down", down), ("norm_out", normOut), ("head", head)]
    }

    public init(_ config: Config, generator: Generator) throws {
        precondition(config.dim % config.heads == 0, "dim must be divisible by heads")
        self.config = config
        func w(_ shape: [Int], scale: Double) throws -> Tensor {
            try (Tensor.randn(shape, generator: generator) * scale).requiresGrad(true)
        }
        let d = config.dim
        embed = try w([config.vocabularySize, d], scale: 0.02)
        (wq, wk, wv, wo) = (try w([d, d], scale: 0.02), try w([d, d], scale: 0.02), try w([d, d], scale: 0.02), try w([d, d], scale: 0.02))
        up = try w([d, config.hidden], scale: 0.02)
        down = try w([config.hidden, d], scale: 0.02)
        head = try w([d, config.vocabularySize], scale: 0.02)
        (norm1, norm2, normOut) = (try Tensor.ones([d]).requiresGrad(true), try Tensor.ones([d]).requiresGrad(true),
                                   try Tensor.ones([d]).requiresGrad(true))
    }

    func rmsNorm(_ x: Tensor, _ weight: Tensor) throws -> Tensor {
        try x * (x.square().mean([-1], keepDim: true) + 1e-5).rsqrt() * weight
    }

    /// Logits [B, T, V] for int64 token ids [B, T].
    public func callAsFunction(_ ids: Tensor) throws -> Tensor {
        let (b, t) = (ids.size(0), ids.size(1))
        let (d, h) = (config.dim, config.heads)
        var x = try embed.embedding(ids)
        let n = try rmsNorm(x, norm1)
        func split(_ w: Tensor) throws -> Tensor { try n.matmul(w).view([b, t, h, d / h]).transpose(1, 2) }
        let (q, k, v) = (try split(wq), try split(wk), try split(wv))
        let mask = try Tensor.ones([t, t], dtype: .bool).triu(1)
        let att = try (q.matmul(k.transpose(-2, -1)) / Double(d / h).squareRoot()).maskedFill(mask, -.infinity).softmax(-1)
        x = try x + att.matmul(v).transpose(1, 2).contiguous().view([b, t, d]).matmul(wo)
        x = try x + rmsNorm(x, norm2).matmul(up).silu().matmul(down)
        return try rmsNorm(x, normOut).matmul(head)
    }

    /// Mean next-token cross-entropy of a batch of windows [B, T+1].
    public func loss(_ windows: Tensor) throws -> Tensor {
        let t = windows.size(1) - 1
        let logits = try self(windows.narrow(1, start: 0, length: t))
        let targets = try windows.narrow(1, start: 1, length: t).reshape([-1])
        return try crossEntropy(logits.reshape([-1, config.vocabularySize]), targets)
    }

    /// Greedy continuation of `prompt` by `count` tokens (no KV cache: the smoke model is tiny).
    public func greedy(_ prompt: [Int32], count: Int) throws -> [Int32] {
        var ids = prompt
        try withNoGrad {
            for _ in 0..<count {
                let window = Array(ids.suffix(config.context)).map(Int64.init)
                let logits = try self(Tensor(window, shape: [1, window.count]))
                let next = try logits.narrow(1, start: window.count - 1, length: 1).reshape([-1]).argmax(0).item()
                ids.append(Int32(next))
            }
        }
        return Array(ids.dropFirst(prompt.count))
    }
}
