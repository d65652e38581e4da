import ArgumentParser
import Backends
import Datasets
import Foundation
import Models
import Pipelines
import Settings
import Tokenizers
import Torch
import Training

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Generate from a checkpoint folder (HF-style: config.json, model.safetensors, tokenizer.json or tokenizer.model). Sampling flags and defaults are those of every step."
    )

    @Option(help: "Checkpoint folder, or a trainer's output folder (its newest checkpoint).") var model: String
    @Option(help: "Prompt text (encoded with the folder's tokenizer.json or tokenizer.model).") var prompt: String?
    @Option(name: .customLong("prompt-ids"), help: "Prompt as space-separated token ids.") var promptIDs: String?
    @Option(help: "Render --prompt as a user turn with this chat template instead of raw text: auto (the folder's own), bcsft, llama2 or a .jinja file.")
    var template: String?
    @Option(name: .customLong("template-vars"), help: "A variable the chat template reads, KEY=VALUE (repeatable), e.g. enable_thinking=false.")
    var templateVars: [String] = []
    @OptionGroup var sampling: SamplingOptions
    @Flag(help: "Print {\"ids\": [...], \"text\": ...} instead of the text.") var json = false
    @Option(help: help("cpu, cuda or cuda:N.", default: Backend().device)) var device: String?

    func validate() throws {
        guard (prompt == nil) != (promptIDs == nil) else { throw ValidationError("give exactly one of --prompt and --prompt-ids") }
    }

    func run() throws {
        var g = GivenSettings()
        sampling.fill(&g)
        let p = try g.decode(Sampling.self)
        try configureRuntime()
        let dir = try RunDirectory.modelFolder(URL(fileURLWithPath: model))
        let dev: Device
        do { dev = try Device.resolve(device ?? Backend().device) } catch let e as TorchError { throw ValidationError("--device \(e.message)") }
        let llama = try Checkpoint.load(dir, device: dev)
        let tokenizerDir = try Checkpoint.tokenizerFolder(dir)
        let hasTokenizer = [BPETokenizer.fileName, SentencePieceTokenizer.fileName].contains { FileManager.default.fileExists(atPath: tokenizerDir.appendingPathComponent($0).path) }
        let tok = hasTokenizer ? try loadTokenizer(at: tokenizerDir) : nil
        var ids: [Int32]
        var stop = llama.stopTokenIDs(tokenizerEOS: tok?.eosID)
        if let promptIDs {
            ids = try promptIDs.split(separator: " ").map {
                guard let v = Int32($0), v >= 0, Int(v) < llama.config.vocabSize else {
                    throw ValidationError("--prompt-ids: '\($0)' is not a token id below the vocabulary size \(llama.config.vocabSize)")
                }
                return v
            }
        } else {
            guard let tok else { throw ValidationError("\(dir.path) holds neither tokenizer.json nor tokenizer.model: use --prompt-ids, or put the tokenizer in the folder") }
            if let template {
                var chat = try ChatEncoder.forModel(tokenizerDir, tokenizer: tok, setting: template)
                if !templateVars.isEmpty {
                    chat = try ChatEncoder(template: chat.template, tokenizer: tok, variables: try TemplateVariable.parse(templateVars, flag: "--template-vars"))
                }
                ids = try chat.promptIDs([.user(prompt!)])
                stop.formUnion(chat.endOfTurnIDs)
            } else {
                ids = (tok.bosID.map { [$0] } ?? []) + (try tok.encode(prompt!))
            }
        }
        guard !ids.isEmpty else { throw ValidationError("the prompt is empty") }
        let decode: (([Int32]) throws -> String)? = tok.map { t in { try t.decode($0) } }
        let r = try llama.generate(prompts: [ids], p, stopTokenIDs: stop, decode: decode)[0]
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
