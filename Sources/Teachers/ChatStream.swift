import Foundation
import Settings

/// Whether chat completions are requested as a stream of server-sent events (`backend.stream`).
/// A streamed reply arrives as the model writes it, so the request timeout counts the silence
/// between pieces rather than the whole generation: a 16k-token trace no longer has to finish
/// within one read. Streamed or not, the `Completion` is the same.
public enum Streaming: String, Codable, Sendable, CaseIterable, SettingChoice {
    /// Streams when the request's `max_tokens` is above `autoThreshold`.
    case auto
    case on
    case off

    /// `auto` streams above this many tokens: below it an answer comes back well within any
    /// timeout, and a whole body is one read instead of a chunk per token.
    public static let autoThreshold = 2048

    public func streams(maxTokens: Int) -> Bool {
        switch self {
        case .on: true
        case .off: false
        case .auto: maxTokens > Self.autoThreshold
        }
    }

    /// YAML 1.1 reads an unquoted `on`/`off` as a boolean; it means the choice of that name.
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        switch text {
        case "true": self = .on
        case "false": self = .off
        default:
            guard let s = Streaming(rawValue: text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "'\(text)' is not one of auto, on, off"))
            }
            self = s
        }
    }
}

/// Assembles a streamed chat completion (`text/event-stream`: `data: {json}` events separated
/// by blank lines, `data: [DONE]` at the end, `:` comment lines ignored) into the `Completion`
/// the same server would have sent whole. Bytes are fed as they arrive; what it keeps is the
/// unfinished line and the text so far, so memory follows the response's size.
struct ChatStreamAssembler {
    struct Part { var content = ""; var reasoning: String?; var finishReason: String? }

    let url: String
    let model: String
    private var line: [UInt8] = []
    private var eventData: [String] = []
    private var parts: [Int: Part] = [:]
    private var usage: Usage?
    private var servedModel: String?
    private(set) var done = false

    init(url: String, model: String) {
        self.url = url
        self.model = model
    }

    /// A stream that stopped before it was whole: retried like a dropped connection.
    struct Cut: Error, LocalizedError {
        let reason: String
        var errorDescription: String? { "the stream was cut off: \(reason)" }
    }

    /// Takes the next bytes of the body, however the network cut them (a line, a character's
    /// bytes or an event may span two pieces).
    /// An `{"error": ...}` event: the server failed after its 200. It counts as the status its
    /// `code` names (vLLM and SGLang give one), else as a 500, so it is retried or not as that
    /// status would be.
    struct ErrorEvent: Error {
        let status: Int
        let text: String
    }

    mutating func feed(_ bytes: Data) throws {
        var start = bytes.startIndex
        while let nl = bytes[start...].firstIndex(of: 0x0A) {
            line.append(contentsOf: bytes[start..<nl])
            try take(line)
            line.removeAll(keepingCapacity: true)
            start = nl + 1
        }
        line.append(contentsOf: bytes[start...])
    }

    /// The completion once the body has ended; a stream without `[DONE]`, or with a choice
    /// that never got its finish_reason, was cut.
    mutating func finish() throws -> Completion {
        if !line.isEmpty {
            try take(line)
            line.removeAll()
        }
        try take([])  // an event the body ended without its blank line
        guard done else { throw Cut(reason: "the body ended before data: [DONE]") }
        guard !parts.isEmpty else { throw TeacherError.badResponse(url: url, reason: "no choices") }
        if let open = parts.keys.sorted().first(where: { parts[$0]?.finishReason == nil }) {
            throw Cut(reason: "choice \(open) has no finish_reason")
        }
        // As the whole reply is read: a reasoning field wins, else a <think> span is split off.
        let choices = parts.keys.sorted().map { i -> Choice in
            let p = parts[i]!
            if p.reasoning != nil { return Choice(content: p.content, reasoning: p.reasoning, finishReason: p.finishReason) }
            let split = splitThinking(p.content)
            return Choice(content: split.content, reasoning: split.reasoning, finishReason: p.finishReason)
        }
        return Completion(choices: choices, usage: usage, model: servedModel ?? model)
    }

    /// One line of the event stream; an empty line ends an event.
    private mutating func take(_ raw: [UInt8]) throws {
        var bytes = raw[...]
        if bytes.last == 0x0D { bytes = bytes.dropLast() }
        if bytes.isEmpty {
            guard !eventData.isEmpty else { return }
            let data = eventData.joined(separator: "\n")
            eventData.removeAll()
            try event(data)
            return
        }
        if bytes.first == UInt8(ascii: ":") { return }  // a comment (keep-alive)
        let text = String(decoding: bytes, as: UTF8.self)
        let field: Substring, value: Substring
        if let colon = text.firstIndex(of: ":") {
            field = text[..<colon]
            let rest = text[text.index(after: colon)...]
            value = rest.first == " " ? rest.dropFirst() : rest
        } else {
            field = text[...]
            value = ""
        }
        // event:, id: and retry: say nothing a chat completion needs.
        if field == "data" { eventData.append(String(value)) }
    }

    private mutating func event(_ data: String) throws {
        if data == "[DONE]" {
            done = true
            return
        }
        guard !done else { throw TeacherError.badResponse(url: url, reason: "an event after data: [DONE]") }
        guard let o = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] else {
            throw TeacherError.badResponse(url: url, reason: "an event is not JSON: \(data.prefix(200))")
        }
        if let e = o["error"], !(e is NSNull) {
            let fields = e as? [String: Any] ?? [:]
            let code = fields["code"] as? Int ?? 500
            throw ErrorEvent(status: (400..<600).contains(code) ? code : 500, text: String(data.prefix(500)))
        }
        if let m = o["model"] as? String { servedModel = m }
        if let u = o["usage"] as? [String: Any] { usage = Usage(openAI: u) }
        for c in o["choices"] as? [[String: Any]] ?? [] {
            let i = c["index"] as? Int ?? 0
            var p = parts[i] ?? Part()
            if let delta = c["delta"] as? [String: Any] {
                if let s = delta["content"] as? String { p.content += s }
                if let r = (delta["reasoning_content"] as? String) ?? (delta["reasoning"] as? String) { p.reasoning = (p.reasoning ?? "") + r }
            }
            if let f = c["finish_reason"] as? String { p.finishReason = f }
            parts[i] = p
        }
    }
}

extension Usage {
    /// An OpenAI `usage` object, as a whole reply and a stream's last chunk carry it.
    init(openAI u: [String: Any]) {
        let details = u["completion_tokens_details"] as? [String: Any]
        self.init(promptTokens: u["prompt_tokens"] as? Int ?? 0, completionTokens: u["completion_tokens"] as? Int ?? 0,
                  reasoningTokens: details?["reasoning_tokens"] as? Int)
    }
}
