import ArgumentParser
import Datasets
import Foundation
import Models
import Tokenizers
import Torch

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Generate from a checkpoint folder (HF-style: config.json, model.safetensors, tokenizer.model)."
    )

    @Option(help: "Checkpoint folder.") var model: String
    @Option(help: "Prompt text (encoded with the folder's tokenizer.model).") var prompt: String?
    @Option(name: .customLong("prompt-ids"), help: "Prompt as space-separated token ids.") var promptIDs: String?
    @Option(help: "Render --prompt as a user turn with this chat template (bcsft or llama2) instead of raw text.")
    var template: String?
    @Option(name: .customLong("max-new-tokens")) var maxNewTokens = 64
    @Option(help: "0 is greedy.") var temperature = 0.0
    @Option(name: .customLong("top-p")) var topP = 1.0
    @Option(name: .customLong("top-k")) var topK = 0
    @Option var seed: UInt64 = 0
    @Option(name: .customLong("stop"), help: "Stop string (repeatable).") var stop: [String] = []
    @Flag(help: "Print {\"ids\": [...], \"text\": ...} instead of the text.") var json = false
    @Option(help: "cpu, cuda or cuda:N.") var device = "cpu"

    func validate() throws {
        guard (prompt == nil) != (promptIDs == nil) else { throw ValidationError("give exactly one of --prompt and --prompt-ids") }
        guard maxNewTokens >= 0 else { throw ValidationError("--max-new-tokens must be >= 0") }
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be >= 0 (0 is greedy)") }
        guard topP > 0, topP <= 1 else { throw ValidationError("--top-p must lie in (0, 1]") }
        guard topK >= 0 else { throw ValidationError("--top-k must be >= 0 (0 keeps every token)") }
    }

    func run() throws {
        try configureRuntime()
        let dir = URL(fileURLWithPath: model)
        let dev: Device
        do { dev = try Device.resolve(device) } catch let e as TorchError { throw ValidationError("--device \(e.message)") }
        let llama = try Checkpoint.load(dir, device: dev)
        let tokURL = dir.appendingPathComponent("tokenizer.model")
        let tok = FileManager.default.fileExists(atPath: tokURL.path) ? try SentencePieceTokenizer(contentsOf: tokURL) : nil
        var ids: [Int32]
        if let promptIDs {
            ids = try promptIDs.split(separator: " ").map {
                guard let v = Int32($0), v >= 0, Int(v) < llama.config.vocabSize else {
                    throw ValidationError("--prompt-ids: '\($0)' is not a token id below the vocabulary size \(llama.config.vocabSize)")
                }
                return v
            }
        } else {
            guard let tok else { throw ValidationError("\(tokURL.path) not found: use --prompt-ids, or put the tokenizer in the folder") }
            if let template {
                ids = try ChatTemplate.named(template).encode([.user(prompt!)], with: tok, addGenerationPrompt: true).ids
            } else {
                ids = (tok.bosID.map { [$0] } ?? []) + (try tok.encode(prompt!))
            }
        }
        guard !ids.isEmpty else { throw ValidationError("the prompt is empty") }
        var p = SamplingParameters(maxNewTokens: maxNewTokens)
        p.temperature = temperature
        p.topP = topP
        p.topK = topK
        p.seed = seed
        p.stopStrings = stop
        p.stopTokenIDs = llama.stopTokenIDs(tokenizerEOS: tok?.eosID)
        let decode: (([Int32]) throws -> String)? = tok.map { t in { try t.decode($0) } }
        let r = try llama.generate(prompts: [ids], p, decode: decode)[0]
        if json {
            var o: [String: Any] = ["ids": r.ids.map(Int.init), "finish_reason": r.finishReason.rawValue,
                                    "prompt_tokens": r.promptTokens, "completion_tokens": r.completionTokens]
            o["text"] = r.text ?? NSNull()
            print(String(decoding: try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(r.text ?? r.ids.map(String.init).joined(separator: " "))
        }
    }
}
