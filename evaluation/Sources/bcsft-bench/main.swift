// bcsft-bench: timed workloads through bcsft's own stack, printed as one JSON object, for the
// drivers in evaluation/ to set beside the HF transformers baseline in the same run.
//
//   bcsft-bench train    [--packed] --dim 256 --layers 4 --heads 4 --kv-heads 4 --ffn 688 --vocab 2048 --seq 256 --batch 16
//   bcsft-bench generate --gen-batch 8 --prompt-len 64 --new-tokens 128
//   bcsft-bench matmul   --size 1024
//   bcsft-bench tokenize --tokenizer DIR|tokenizer.json --texts FILE.jsonl [--threads N] [--ids OUT]
//   bcsft-bench export   --out DIR [--dtype bfloat16|float32] [--shard-mb 5000] (model flags as train's)
//
// train: one AdamW step of the Llama decoder on rows of --seq tokens. With --packed, rows are
// packed (best fit) from documents of uniform length in [--min-len, --seq], each attending only
// to itself, and tokens/s counts the documents' tokens (padding excluded), as SFT sees them.
// Thread settings come from BCSFT_TORCH_THREADS / BCSFT_BLAS_THREADS like the CLI's.
import Datasets
import Foundation
import Models
import Settings
import Torch

func arg(_ name: String, _ fallback: Int) -> Int {
    let a = CommandLine.arguments
    guard let i = a.firstIndex(of: "--\(name)"), i + 1 < a.count, let v = Int(a[i + 1]) else { return fallback }
    return v
}
func flag(_ name: String) -> Bool { CommandLine.arguments.contains("--\(name)") }

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

func model() throws -> Llama {
    let c = LlamaConfig(vocabSize: arg("vocab", 2048), hiddenSize: arg("dim", 256), intermediateSize: arg("ffn", 688),
                        numHiddenLayers: arg("layers", 4), numAttentionHeads: arg("heads", 4), numKeyValueHeads: arg("kv-heads", arg("heads", 4)))
    return try Llama(config: c, generator: Generator(seed: UInt64(arg("seed", 0))))
}

/// Matmul FLOPs of one training step (forward + backward = 3x forward) for `tokens` tokens in
/// rows of `seq`: 2 * params per token for the projections and head, plus attention scores
/// and values (4 * seq * dim per token per layer, halved when documents are shorter).
func trainFLOPs(_ m: Llama, tokens: Int, attendedSpan: Double) -> Double {
    let c = m.config
    let perLayer = Double(c.hiddenSize * c.headDim * (c.numAttentionHeads * 2 + c.numKeyValueHeads * 2) + 3 * c.hiddenSize * c.intermediateSize)
    let dense = 2 * (perLayer * Double(c.numHiddenLayers) + Double(c.vocabSize * c.hiddenSize))
    let attention = 4 * attendedSpan * Double(c.hiddenSize) * Double(c.numHiddenLayers)
    return 3 * Double(tokens) * (dense + attention)
}

func train() throws -> [String: Any] {
    let m = try model()
    let seq = arg("seq", 256), batch = arg("batch", 16), steps = arg("steps", 5), warmup = arg("warmup", 1)
    let minLen = arg("min-len", 32), packed = flag("packed")
    let opt = try AdamW(parameters: m.parameters.map(\.1), .init(learningRate: 3e-4))
    let gen = try Generator(seed: 7)
    var lcg: UInt64 = 12345
    func uniform(_ lo: Int, _ hi: Int) -> Int {
        lcg = lcg &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return lo + Int((lcg >> 33) % UInt64(hi - lo + 1))
    }
    var times: [Double] = [], useful: [Int] = [], flops: [Double] = []
    var phases: [[Double]] = [[], [], []]  // forward + loss, backward, optimizer step
    for step in 0..<(warmup + steps) {
        var positions: Tensor? = nil, docs: Tensor? = nil
        var tokens = batch * seq
        var span = Double(seq + 1) / 2
        if packed {
            // Fill `batch` rows with whole documents of uniform length, best fit.
            var packer = BestFitPacker(seqLen: seq, padID: 0, maxOpenRows: 64)
            var rows: [PackedRow] = []
            while rows.count < batch {
                let n = uniform(minLen, seq)
                rows += packer.add(Document(ids: [Int32](repeating: 1, count: n), mask: [UInt8](repeating: 1, count: n)))
            }
            rows = Array(rows.prefix(batch))
            var p = [Int64](), d = [Int64]()
            tokens = 0
            var spanSum = 0.0
            for r in rows {
                var rp = [Int64](repeating: 0, count: seq), rd = [Int64](repeating: -1, count: seq)
                for (k, doc) in r.documents.enumerated() {
                    for j in 0..<doc.length { rp[doc.start + j] = Int64(j); rd[doc.start + j] = Int64(k) }
                    tokens += doc.length
                    spanSum += Double(doc.length) * Double(doc.length + 1) / 2
                }
                p += rp
                d += rd
            }
            span = spanSum / Double(tokens)
            positions = try Tensor(p, shape: [batch, seq])
            docs = try Tensor(d, shape: [batch, seq])
        }
        let ids = try Tensor.randint(0, m.config.vocabSize, shape: [batch, seq], generator: gen)
        let targets = try Tensor.randint(0, m.config.vocabSize, shape: [batch * seq], generator: gen)
        let t0 = now()
        try opt.zeroGrad()
        let logits = try m.forward(ids, positions: positions, documentIDs: docs)
        let loss = try crossEntropy(logits.view([-1, m.config.vocabSize]), targets)
        let t1 = now()
        try loss.backward()
        let t2 = now()
        try opt.step()
        let dt = now() - t0
        if step >= warmup {
            phases[0].append(t1 - t0); phases[1].append(t2 - t1); phases[2].append(now() - t2)
            times.append(dt)
            useful.append(tokens)
            flops.append(trainFLOPs(m, tokens: batch * seq, attendedSpan: span) / dt)
        }
    }
    let rates = zip(useful, times).map { Double($0) / $1 }
    return ["mode": packed ? "train-packed" : "train", "tokens_per_s": median(rates), "step_ms": 1000 * median(times),
            "gflops": median(flops) / 1e9, "params": m.parameterCount,
            "forward_ms": 1000 * median(phases[0]), "backward_ms": 1000 * median(phases[1]), "optimizer_ms": 1000 * median(phases[2])]
}

func generate() throws -> [String: Any] {
    let m = try model()
    let b = arg("gen-batch", 8), promptLen = arg("prompt-len", 64), newTokens = arg("new-tokens", 128)
    let steps = arg("steps", 3), warmup = arg("warmup", 1)
    let gen = try Generator(seed: 3)
    let ids = try Tensor.randint(0, m.config.vocabSize, shape: [b, promptLen], generator: gen).toArray(Int64.self).map(Int32.init)
    let prompts = (0..<b).map { Array(ids[($0 * promptLen)..<(($0 + 1) * promptLen)]) }
    var times: [Double] = []
    for i in 0..<(warmup + steps) {
        let t0 = now()
        let r = try m.generate(prompts: prompts, Sampling(temperature: 0, maxTokens: newTokens))
        precondition(r.allSatisfy { $0.ids.count == newTokens })
        if i >= warmup { times.append(now() - t0) }
    }
    let t = median(times)
    return ["mode": "generate", "tokens_per_s": Double(b * newTokens) / t, "run_ms": 1000 * t]
}

func matmul() throws -> [String: Any] {
    let n = arg("size", 1024)
    let a = try Tensor.randn([n, n]), b = try Tensor.randn([n, n])
    _ = try a.matmul(b)
    var times: [Double] = []
    for _ in 0..<arg("steps", 5) {
        let t0 = now()
        _ = try a.matmul(b)
        times.append(now() - t0)
    }
    return ["mode": "matmul", "gflops": 2 * pow(Double(n), 3) / median(times) / 1e9]
}

do {
    try Runtime.apply(Runtime.Settings.fromEnvironment())
    let mode = CommandLine.arguments.dropFirst().first ?? "train"
    var result: [String: Any]
    switch mode {
    case "train": result = try train()
    case "generate": result = try generate()
    case "matmul": result = try matmul()
    case "tokenize": result = try tokenize()
    case "export": result = try export()
    default: throw TorchError(kind: .invalidArgument, message: "unknown mode \(mode); use train, generate, matmul, tokenize or export")
    }
    result["threads"] = Runtime.threads
    result["blas_threads"] = Runtime.blasThreads ?? 0
    let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
} catch {
    FileHandle.standardError.write(Data("bcsft-bench: \(error.localizedDescription)\n".utf8))
    exit(1)
}
