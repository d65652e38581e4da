// bcsft-bench: timed workloads through bcsft's own stack, printed as one JSON object, for the
// drivers in evaluation/ to set beside the HF transformers baseline in the same run.
//
//   bcsft-bench train --dim 256 --layers 4 --heads 4 --ffn 688 --vocab 2048 --seq 256 --batch 16
//
// Thread settings come from BCSFT_TORCH_THREADS / BCSFT_BLAS_THREADS like the CLI's.
import Foundation
import Models
import Torch

func arg(_ name: String, _ fallback: Int) -> Int {
    let a = CommandLine.arguments
    guard let i = a.firstIndex(of: "--\(name)"), i + 1 < a.count, let v = Int(a[i + 1]) else { return fallback }
    return v
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func train() throws -> [String: Any] {
    var c = TinyCausalLM.Config(vocabularySize: arg("vocab", 2048))
    c.dim = arg("dim", 256)
    c.layers = arg("layers", 4)
    c.heads = arg("heads", 4)
    c.hidden = arg("ffn", 688)
    let seq = arg("seq", 256), batch = arg("batch", 16), steps = arg("steps", 5), warmup = arg("warmup", 1)
    c.context = seq
    let gen = try Generator(seed: UInt64(arg("seed", 0)))
    let model = try TinyCausalLM(c, generator: gen)
    let params = model.parameters.map(\.1)
    let opt = try AdamW(parameters: params, .init(learningRate: 3e-4))
    var times: [Double] = []
    for step in 0..<(warmup + steps) {
        let windows = try Tensor.randint(0, c.vocabularySize, shape: [batch, seq + 1], generator: gen)
        let t0 = DispatchTime.now().uptimeNanoseconds
        try opt.zeroGrad()
        try model.loss(windows).backward()
        try opt.step()
        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        if step >= warmup { times.append(dt) }
    }
    let t = median(times)
    return ["mode": "train", "tokens_per_s": Double(batch * seq) / t, "step_ms": 1000 * t,
            "params": params.reduce(0) { $0 + $1.count }, "threads": Runtime.threads, "blas_threads": Runtime.blasThreads ?? 0]
}

do {
    try Runtime.apply(Runtime.ThreadSettings.fromEnvironment())
    let mode = CommandLine.arguments.dropFirst().first ?? "train"
    guard mode == "train" else { throw TorchError(kind: .invalidArgument, message: "unknown mode \(mode); use: train") }
    let result = try train()
    let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
} catch {
    FileHandle.standardError.write(Data("bcsft-bench: \(error.localizedDescription)\n".utf8))
    exit(1)
}
