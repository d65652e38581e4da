import Foundation
import Settings

/// One chat message sent to a model.
public struct Message: Codable, Sendable, Equatable {
    public var role: String
    public var content: String
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
    public static func system(_ c: String) -> Message { Message(role: "system", content: c) }
    public static func user(_ c: String) -> Message { Message(role: "user", content: c) }
    public static func assistant(_ c: String) -> Message { Message(role: "assistant", content: c) }
}

/// Token counts as the server reports them.
public struct Usage: Codable, Sendable, Equatable {
    public var promptTokens: Int
    public var completionTokens: Int
    /// Thinking tokens inside completionTokens, when the server reports them.
    public var reasoningTokens: Int?
    public init(promptTokens: Int, completionTokens: Int, reasoningTokens: Int? = nil) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.reasoningTokens = reasoningTokens
    }
}

/// One sample of a completion: the answer, the thinking kept apart, and why it ended.
public struct Choice: Sendable, Equatable {
    public var content: String
    public var reasoning: String?
    /// "stop", "length" (budget exhausted), ...
    public var finishReason: String?
    public init(content: String, reasoning: String? = nil, finishReason: String? = nil) {
        self.content = content
        self.reasoning = reasoning
        self.finishReason = finishReason
    }
}

extension Choice {
    /// The whole response as a reasoning model wrote it: the trace in a `<think>` span, then the
    /// answer. This is what the strategist reflects on (the paper's "reasoning trace + answer").
    public var transcript: String { Self.transcript(reasoning: reasoning, content: content) }

    public static func transcript(reasoning: String?, content: String) -> String {
        guard let reasoning, !reasoning.isEmpty else { return content }
        return "<think>\n\(reasoning)\n</think>\n\n" + content
    }

    /// The budget ran out before any answer (cut off while thinking): there is no solution to
    /// reflect on, only an unfinished trace.
    public var endedWhileThinking: Bool {
        finishReason == "length" && content.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
    }
}

public struct Completion: Sendable, Equatable {
    public var choices: [Choice]
    public var usage: Usage?
    public var model: String
    public init(choices: [Choice], usage: Usage?, model: String) {
        self.choices = choices
        self.usage = usage
        self.model = model
    }
}

/// What every backend offers: the OpenAI-compatible HTTP client, the in-process student,
/// and the scripted offline world.
public protocol LanguageModel: Sendable {
    var name: String { get }
    func complete(_ messages: [Message], _ sampling: Sampling) async throws -> Completion
}

/// Splits a `<think>...</think>` span (DeepSeek-R1 and Qwen3 style) from the answer.
public func splitThinking(_ text: String) -> (reasoning: String?, content: String) {
    guard let open = text.range(of: "<think>") else {
        // Some servers strip the opening tag and keep the closing one.
        if let close = text.range(of: "</think>") {
            return (String(text[..<close.lowerBound]).trimmingCharacters(in: .whitespacesAndNewlines),
                    String(text[close.upperBound...]).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return (nil, text)
    }
    guard let close = text.range(of: "</think>", range: open.upperBound..<text.endIndex) else {
        // Budget ran out while thinking: everything is reasoning, no answer.
        return (String(text[open.upperBound...]).trimmingCharacters(in: .whitespacesAndNewlines), "")
    }
    let reasoning = String(text[open.upperBound..<close.lowerBound]).trimmingCharacters(in: .whitespacesAndNewlines)
    let content = (String(text[..<open.lowerBound]) + String(text[close.upperBound...])).trimmingCharacters(in: .whitespacesAndNewlines)
    return (reasoning, content)
}

/// A model whose prompt and completion share a fixed context window (a checkpoint's
/// max_position_embeddings), and which sizes its KV cache by prompt + max_tokens. `bcsft serve`
/// asks it how much of the window a prompt takes and refuses (400) a max_tokens that does not
/// fit in the rest, rather than let one request allocate without bound.
public protocol ContextWindowModel: LanguageModel {
    /// The window, and the prompt's length in tokens as `complete` would encode these messages.
    func contextUse(of messages: [Message]) throws -> (window: Int, promptTokens: Int)
}
