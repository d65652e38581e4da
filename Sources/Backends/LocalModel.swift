import Datasets
import Foundation
import Models
import Pipelines
import Settings
import Teachers
import Tokenizers
import Torch
import Training

/// The in-process student as a LanguageModel: a checkpoint folder (config.json,
/// model.safetensors, and tokenizer.json or tokenizer.model), or a trainer's output folder (its newest checkpoint),
/// behind the same interface as a teacher server, so every pipeline and the evaluator run on a
/// fine-tuned student unchanged.
///
/// Concurrent requests are batched: a worker thread takes the waiting requests that share
/// sampling settings (up to `maxBatch`) and runs them through one KV-cached batched
/// generation, which is where CPU generation gets its throughput.
public final class LocalModel: ContextWindowModel, @unchecked Sendable {
    public let name: String
    let llama: Llama
    let tokenizer: any Tokenizer
    /// The checkpoint's chat encoder, with the variables it was trained with.
    let chat: ChatEncoder
    let maxBatch: Int
    /// Generation ends at any of these: the config's eos ids, the tokenizer's EOS and the
    /// template's end of turn (Llama 3.1 ends a turn with <|eot_id|>, not its EOS).
    let stopIDs: Set<Int32>

    private struct Pending {
        let ids: [Int32]
        let sampling: Sampling
        let stop: Set<Int32>
        let key: String
        let continuation: CheckedContinuation<GenerationResult, Error>
    }
    private let condition = NSCondition()
    private var queue: [Pending] = []
    private var workerStarted = false
    /// Encoders for the `chat_template_kwargs` requests have asked for, by their variables.
    private let encodersLock = NSLock()
    private var encoders: [[String: TemplateVariable]: ChatEncoder] = [:]

    /// - template: `auto` renders prompts with the checkpoint's own chat template (the one it was
    ///   trained with); a built-in name or .jinja file names another.
    public init(checkpoint: URL, template: String = "auto", maxBatch: Int = 16, device: Device = .cpu) throws {
        let dir = try RunDirectory.modelFolder(checkpoint)
        llama = try Checkpoint.load(dir, device: device)
        let tokenizerDir = try Checkpoint.tokenizerFolder(dir)
        do { tokenizer = try loadTokenizer(at: tokenizerDir) } catch let e as TokenizerError {
            throw PipelineError.invalid("\(e.localizedDescription); a local backend needs the checkpoint's tokenizer.json or tokenizer.model")
        }
        chat = try ChatEncoder.forModel(tokenizerDir, tokenizer: tokenizer, setting: template)
        self.maxBatch = max(1, maxBatch)
        // The name keys cached answers: the weights' content, the chat rendering and the kernels'
        // numerics decide them, not the folder's name.
        name = "local:\(dir.standardizedFileURL.lastPathComponent)@\(try Checkpoint.fingerprint(dir))+chat-\(chat.sha256.prefix(12))+numerics-\(Llama.numericsRevision)"
        stopIDs = llama.stopTokenIDs(tokenizerEOS: tokenizer.eosID).union(chat.endOfTurnIDs)
    }

    /// The encoder a request renders with: the checkpoint's, its variables overridden and
    /// extended by the request's `chat_template_kwargs` (as apply_chat_template's keyword
    /// arguments, and vLLM's, reach the template). Cached answers stay apart: the kwargs are part
    /// of the response cache's key.
    func encoder(_ kwargs: [String: SettingValue]) throws -> ChatEncoder {
        guard !kwargs.isEmpty else { return chat }
        var variables = chat.variables
        for (key, value) in kwargs.sorted(by: { $0.key < $1.key }) {
            variables[key] = switch value {
            case let .bool(b): .bool(b)
            case let .int(i): .int(i)
            case let .double(d): .double(d)
            case let .string(s): .string(s)
            default: throw PipelineError.invalid("chat_template_kwargs.\(key): a local checkpoint's template takes a boolean, a number or a string, got \(value.typeName)")
            }
        }
        if variables == chat.variables { return chat }
        encodersLock.lock()
        defer { encodersLock.unlock() }
        if let e = encoders[variables] { return e }
        let e = try ChatEncoder(template: chat.template, tokenizer: tokenizer, variables: variables)
        encoders[variables] = e
        return e
    }

    /// The prompt's token ids: the messages in the chat template (with `chat_template_kwargs`),
    /// ending with the assistant's turn; and the ids that end the turn.
    func prompt(_ messages: [Message], _ kwargs: [String: SettingValue] = [:]) throws -> (ids: [Int32], stop: Set<Int32>) {
        let turns = try messages.map { m -> ChatMessage in
            guard let role = ChatMessage.Role(rawValue: m.role) else { throw PipelineError.invalid("message role '\(m.role)' is not system, user or assistant") }
            return ChatMessage(role, m.content)
        }
        let encoder = try encoder(kwargs)
        return (try encoder.promptIDs(turns), stopIDs.union(encoder.endOfTurnIDs))
    }

    public func complete(_ messages: [Message], _ sampling: Sampling) async throws -> Completion {
        let (ids, stop) = try prompt(messages, sampling.chatTemplateKwargs)
        var choices: [Choice] = []
        var completionTokens = 0
        for i in 0..<max(1, sampling.n) {
            let p = sampling.sample(i)
            // Requests batch together only where generation reads the same settings.
            let key = "\(p.maxTokens)/\(p.temperature)/\(p.topP)/\(p.topK)/\(p.minP)/\(p.repetitionPenalty)/\(p.seed ?? 0)/\(p.stop)/\(stop.sorted())"
            let r = try await withCheckedThrowingContinuation { c in enqueue(Pending(ids: ids, sampling: p, stop: stop, key: key, continuation: c)) }
            let (reasoning, content) = splitThinking(r.text ?? "")
            choices.append(Choice(content: content, reasoning: reasoning, finishReason: r.finishReason == .length ? "length" : "stop"))
            completionTokens += r.completionTokens
        }
        return Completion(choices: choices, usage: Usage(promptTokens: ids.count, completionTokens: completionTokens), model: name)
    }

    /// The checkpoint's context (`LlamaConfig.contextLength`) and the prompt's length: generation sizes its KV
    /// cache by prompt + max_tokens, so `bcsft serve` refuses a max_tokens past the window.
    public func contextUse(of messages: [Message]) throws -> (window: Int, promptTokens: Int) {
        (llama.config.contextLength, try prompt(messages).ids.count)
    }

    private func enqueue(_ p: Pending) {
        condition.lock()
        queue.append(p)
        if !workerStarted {
            workerStarted = true
            let t = Thread { self.work() }  // lives as long as the process: the model stays loaded
            t.stackSize = 8 << 20
            t.start()
        }
        condition.signal()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while queue.isEmpty { condition.wait() }
            // Give requests launched together a moment to arrive, so they share a batch.
            condition.unlock()
            usleep(2000)
            condition.lock()
            let key = queue[0].key
            var batch: [Pending] = []
            queue.removeAll { p in
                guard batch.count < maxBatch, p.key == key else { return false }
                batch.append(p)
                return true
            }
            condition.unlock()
            do {
                // Each row samples from a generator seeded by its own request (seed and prompt),
                // so a sampled answer does not depend on which requests happened to share the batch.
                let rowSeeds = batch.map { p in
                    var h = UInt64(truncatingIfNeeded: p.sampling.seed ?? 0) ^ 0x9E37_79B9_7F4A_7C15
                    for id in p.ids { h = (h ^ UInt64(UInt32(bitPattern: id))) &* 0x100_0000_01b3 }
                    return h
                }
                let results = try llama.generate(prompts: batch.map(\.ids), batch[0].sampling, rowSeeds: rowSeeds,
                                                 stopTokenIDs: batch[0].stop) { [tokenizer] in try tokenizer.decode($0) }
                for (p, r) in zip(batch, results) { p.continuation.resume(returning: r) }
            } catch {
                for p in batch { p.continuation.resume(throwing: error) }
            }
        }
    }
}
