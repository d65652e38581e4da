import Foundation
import Settings
import Torch

public struct GenerationResult: Sendable, Equatable {
    public enum FinishReason: String, Sendable, Codable { case stopToken = "stop_token", stopString = "stop_string", length }
    /// The generated ids (not the prompt).
    public var ids: [Int32]
    /// Decoded text when a decoder was given, cut at a stop string.
    public var text: String?
    public var finishReason: FinishReason
    public var promptTokens: Int
    public var completionTokens: Int { ids.count }
}

extension Llama {
    /// The ids that end a generation: every EOS id of the config (Llama 3 lists several) and
    /// the tokenizer's EOS.
    public func stopTokenIDs(tokenizerEOS: Int32?) -> Set<Int32> {
        Set(config.eosTokenIDs.map(Int32.init) + (tokenizerEOS.map { [$0] } ?? []))
    }

    /// Batched, KV-cached generation of up to `sampling.maxTokens` tokens per prompt (greedy at
    /// temperature 0), with every sampling setting but `chat_template_kwargs` (the prompts are
    /// ids already: whoever renders them reads it). Prompts of different lengths are left-padded
    /// and the padding masked out, so each row gets the same tokens it would get alone.
    /// - rowSeeds: one seed per prompt: row i then samples from its own generator, so its tokens
    ///   do not depend on which other prompts share the batch (a server batching whatever
    ///   requests are waiting stays reproducible). nil: one generator seeded with `sampling.seed`.
    /// - stopTokenIDs: a row ends at any of these ids (the tokenizer's EOS, typically); the id is
    ///   kept in `ids` but not decoded into `text`. A row also ends when its decoded text holds
    ///   one of `sampling.stop` (`text` is cut before it).
    public func generate(prompts: [[Int32]], _ sampling: Sampling, rowSeeds: [UInt64]? = nil, stopTokenIDs: Set<Int32> = [],
                         decode: (([Int32]) throws -> String)? = nil) throws -> [GenerationResult] {
        if prompts.isEmpty { throw ModelError.invalidSampling(field: "prompts", reason: "no prompt given") }
        if let i = prompts.firstIndex(where: \.isEmpty) { throw ModelError.invalidSampling(field: "prompts", reason: "prompt \(i) is empty") }
        if let i = prompts.firstIndex(where: { $0.contains { $0 < 0 || Int($0) >= config.vocabSize } }) {
            throw ModelError.invalidSampling(field: "prompts", reason: "prompt \(i) holds an id outside the vocabulary (0..<\(config.vocabSize))")
        }
        do { try sampling.validate() } catch let SettingsError.invalid(key, reason, _) {
            throw ModelError.invalidSampling(field: key, reason: reason)
        }
        let p = sampling
        let b = prompts.count
        let width = prompts.map(\.count).max()!
        var ids = [Int64](), mask = [Bool](), pos = [Int64]()
        for prompt in prompts {
            let pad = width - prompt.count
            ids += [Int64](repeating: 0, count: pad) + prompt.map(Int64.init)
            mask += [Bool](repeating: false, count: pad) + [Bool](repeating: true, count: prompt.count)
            pos += [Int64](repeating: 0, count: pad) + (0..<Int64(prompt.count)).map { $0 }
        }
        if let rs = rowSeeds, rs.count != b { throw ModelError.unsupported("rowSeeds has \(rs.count) seeds for \(b) prompts") }
        let gens = try (rowSeeds ?? [UInt64(truncatingIfNeeded: p.seed ?? 0)]).map { try Generator(seed: $0) }
        // A row never runs past the model's context: the cache (sized up front) holds at most
        // `contextLength` positions, whatever budget a request asks for.
        let steps = max(0, min(p.maxTokens, config.contextLength - width))
        let cache = KVCache(layers: config.numHiddenLayers, capacity: width + steps)
        var keyMask = try Tensor(mask, shape: [b, width], device: device)
        var next = try Tensor(ids, shape: [b, width], device: device)
        var positions = try Tensor(pos, shape: [b, width], device: device)
        var outputs = [[Int32]](repeating: [], count: b)
        var finished = [GenerationResult.FinishReason?](repeating: nil, count: b)
        var texts = [String?](repeating: nil, count: b)
        // With a repetition penalty, which tokens each row holds so far (prompt and output).
        var seen: Tensor?
        if p.repetitionPenalty != 1 {
            let v = config.vocabSize
            var flags = [Bool](repeating: false, count: b * v)
            for (r, prompt) in prompts.enumerated() { for id in prompt { flags[r * v + Int(id)] = true } }
            seen = try Tensor(flags, shape: [b, v], device: device)
        }

        try withFusedWeights { try withNoGrad {
            for _ in 0..<steps {
                let logits = try forward(next, positions: positions, cache: cache, keyMask: keyMask)
                let last = try logits.narrow(1, start: logits.size(1) - 1, length: 1).squeeze(1)
                let chosen = try sample(last, p, gens, seen: seen).toArray(Int64.self)
                for r in 0..<b where finished[r] == nil {
                    let id = Int32(chosen[r])
                    outputs[r].append(id)
                    if stopTokenIDs.contains(id) {
                        finished[r] = .stopToken
                    } else if !p.stop.isEmpty, let decode {
                        let text = try decode(outputs[r])
                        if let hit = p.stop.compactMap({ text.range(of: $0) }).min(by: { $0.lowerBound < $1.lowerBound }) {
                            finished[r] = .stopString
                            texts[r] = String(text[..<hit.lowerBound])
                        }
                    }
                }
                if finished.allSatisfy({ $0 != nil }) { break }
                next = try Tensor(chosen, shape: [b, 1], device: device)
                if let s = seen { seen = try s.scatter(1, next, Tensor.ones([b, 1], dtype: .bool, device: device)) }
                positions = try positions.narrow(1, start: positions.size(1) - 1, length: 1) + 1
                keyMask = try Tensor.cat([keyMask, Tensor.ones([b, 1], dtype: .bool, device: device)], dim: 1)
            }
        } }
        return try (0..<b).map { r in
            let reason = finished[r] ?? .length
            var text = texts[r]
            if text == nil, let decode {
                text = try decode(reason == .stopToken ? Array(outputs[r].dropLast()) : outputs[r])
            }
            return GenerationResult(ids: outputs[r], text: text, finishReason: reason, promptTokens: prompts[r].count)
        }
    }

    /// One token per row from logits [B, V]: from one generator, or row i from `gens[i]`.
    /// The draw itself runs on the CPU generators wherever the logits are, so a seed picks the
    /// same tokens on every device (given the same probabilities).
    func sample(_ logits: Tensor, _ p: Sampling, _ gens: [Generator], seen: Tensor? = nil) throws -> Tensor {
        let l = try processed(logits, p, seen: seen)
        if p.temperature <= 0 { return try l.argmax(-1) }
        let probs = try l.softmax(-1).to(.cpu)
        guard gens.count > 1 else { return try probs.multinomial(1, generator: gens[0]).squeeze(-1) }
        return try Tensor.cat(gens.indices.map { i in try probs.narrow(0, start: i, length: 1).multinomial(1, generator: gens[i]) }, dim: 0).squeeze(-1)
    }

    /// The logits [B, V] a token is drawn from, in float32, as transformers' generate()
    /// processes them: the repetition penalty on the raw logits (greedy too), where `seen` [B, V]
    /// marks each row's prompt and output tokens; then, when sampling, temperature, top_k, top_p
    /// and min_p, each dropped token set to -inf. (vLLM applies min_p before top_k and top_p; the
    /// two agree unless top_p < 1 is given with it, since min_p compares each probability with the
    /// largest, which renormalising does not change.)
    func processed(_ logits: Tensor, _ p: Sampling, seen: Tensor?) throws -> Tensor {
        var l = try logits.to(.float32)
        if let seen, p.repetitionPenalty != 1 {
            // Positive logits divided, negative multiplied: a penalty above 1 always lowers them.
            let penalized = try Tensor.where(l.lt(0), l * p.repetitionPenalty, l / p.repetitionPenalty)
            l = try Tensor.where(seen, penalized, l)
        }
        if p.temperature <= 0 { return l }
        l = try l / p.temperature
        if p.topK > 0, p.topK < l.size(-1) {
            let kth = try l.topk(p.topK, dim: -1).values.narrow(-1, start: p.topK - 1, length: 1)
            l = try l.maskedFill(l.lt(kth), -.infinity)
        }
        if p.topP < 1 {
            let (sorted, order) = try l.sort(-1, descending: true)
            let cum = try sorted.softmax(-1).cumsum(-1)
            // Drop a token when the mass before it already reaches topP (the first always stays).
            let before = try cum - sorted.softmax(-1)
            let dropSorted = try before.ge(p.topP)
            let drop = try Tensor.zeros(l.shape, dtype: .bool, device: l.device).scatter(-1, order, dropSorted)
            l = try l.maskedFill(drop, -.infinity)
        }
        if p.minP > 0 {
            // The most likely token always stays: its probability is its own maximum.
            let probs = try l.softmax(-1)
            l = try l.maskedFill(probs.lt(try probs.max([-1], keepDim: true) * p.minP), -.infinity)
        }
        return l
    }
}
