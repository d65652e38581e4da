import Torch

/// A deliberately small causal language model (token embedding, pre-norm attention blocks
/// with SwiGLU MLPs, RMSNorm, untied output head; no rotary embeddings) used by
/// `bcsft smoke`, `bcsft doctor` and the threads benchmark to prove that tokenizer, tensors,
/// autograd and the optimizer work together end to end. The student model proper is the
/// Llama-family decoder (Models/Llama), not this.
public final class TinyCausalLM {
    public struct Config: Sendable {
        public var vocabularySize: Int
        public var dim = 64
        public var layers = 1
        public var heads = 4
        public var hidden = 172
        public var context = 64
        public init(vocabularySize: Int) { self.vocabularySize = vocabularySize }
    }

    struct Block {
        let norm1, wq, wk, wv, wo, norm2, gate, up, down: Tensor
    }

    public let config: Config
    let embed, normOut, head: Tensor
    let blocks: [Block]

    /// Parameters as (name, tensor) in a fixed order.
    public var parameters: [(String, Tensor)] {
        var p = [("embed", embed)]
        for (i, b) in blocks.enumerated() {
            p += [("\(i).norm1", b.norm1), ("\(i).wq", b.wq), ("\(i).wk", b.wk), ("\(i).wv", b.wv), ("\(i).wo", b.wo),
                  ("\(i).norm2", b.norm2), ("\(i).gate", b.gate), ("\(i).up", b.up), ("\(i).down", b.down)]
        }
        return p + [("norm_out", normOut), ("head", head)]
    }

    public init(_ config: Config, generator: Generator) throws {
        precondition(config.dim % config.heads == 0, "dim must be divisible by heads")
        self.config = config
        func w(_ shape: [Int]) throws -> Tensor {
            try (Tensor.randn(shape, generator: generator) * 0.02).requiresGrad(true)
        }
        func ones() throws -> Tensor { try Tensor.ones([config.dim]).requiresGrad(true) }
        let d = config.dim
        embed = try w([config.vocabularySize, d])
        blocks = try (0..<config.layers).map { _ in
            Block(norm1: try ones(), wq: try w([d, d]), wk: try w([d, d]), wv: try w([d, d]), wo: try w([d, d]),
                  norm2: try ones(), gate: try w([d, config.hidden]), up: try w([d, config.hidden]), down: try w([config.hidden, d]))
        }
        normOut = try ones()
        head = try w([d, config.vocabularySize])
    }

    func rmsNorm(_ x: Tensor, _ weight: Tensor) throws -> Tensor {
        try x * (x.square().mean([-1], keepDim: true) + 1e-5).rsqrt() * weight
    }

    /// Logits [B, T, V] for int64 token ids [B, T].
    public func callAsFunction(_ ids: Tensor) throws -> Tensor {
        let (b, t) = (ids.size(0), ids.size(1))
        let (d, h) = (config.dim, config.heads)
        let mask = try Tensor.ones([t, t], dtype: .bool).triu(1)
        var x = try embed.embedding(ids)
        for blk in blocks {
            let n = try rmsNorm(x, blk.norm1)
            func split(_ w: Tensor) throws -> Tensor { try n.matmul(w).view([b, t, h, d / h]).transpose(1, 2) }
            let (q, k, v) = (try split(blk.wq), try split(blk.wk), try split(blk.wv))
            let att = try (q.matmul(k.transpose(-2, -1)) / Double(d / h).squareRoot()).maskedFill(mask, -.infinity).softmax(-1)
            x = try x + att.matmul(v).transpose(1, 2).contiguous().view([b, t, d]).matmul(blk.wo)
            let m = try rmsNorm(x, blk.norm2)
            x = try x + (m.matmul(blk.gate).silu() * m.matmul(blk.up)).matmul(blk.down)
        }
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
