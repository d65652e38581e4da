import Crypto
import Foundation
import Tokenizers

/// How a conversation becomes tokens, and which of them carry loss. One renderer serves both
/// dataset building and generation, so the student sees at inference exactly the layout it
/// was trained on.
public struct ChatTemplate: Sendable, Equatable {
    /// A rendered piece: text to tokenize, a marker that must be a single piece of the
    /// tokenizer, or the tokenizer's BOS/EOS id. `loss` marks what the student learns to emit.
    public enum Segment: Sendable, Equatable {
        case text(String, loss: Bool)
        case marker(String, loss: Bool)
        case bos
        case eos(loss: Bool)
    }

    public enum Style: String, Sendable, CaseIterable {
        /// bcsft's default: dedicated single-piece markers for each turn; an assistant turn
        /// ends with EOS. `<s><|system|>S<|end|><|user|>U<|end|><|assistant|>A</s>`
        case bcsft
        /// Llama-2 chat: `<s>[INST] <<SYS>>\nS\n<</SYS>>\n\nU [/INST] A </s><s>[INST] U2 [/INST] A2 </s>`
        case llama2
    }

    public let style: Style
    public var name: String { style.rawValue }

    public init(_ style: Style) { self.style = style }

    public static let `default` = ChatTemplate(.bcsft)

    public static func named(_ name: String) throws -> ChatTemplate {
        guard let s = Style(rawValue: name) else {
            throw DatasetError.invalidOption("unknown chat template '\(name)'; known: \(Style.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return ChatTemplate(s)
    }

    /// Pieces that should be user-defined symbols of a tokenizer trained for this template.
    public var markers: [String] {
        switch style {
        case .bcsft: ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
        case .llama2: []
        }
    }

    /// The segments of a conversation. With `addGenerationPrompt`, the rendering ends where the
    /// assistant's next turn begins (what generation feeds the model).
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = false) -> [Segment] {
        switch style {
        case .bcsft: renderBCSFT(messages, addGenerationPrompt)
        case .llama2: renderLlama2(messages, addGenerationPrompt)
        }
    }

    private func renderBCSFT(_ messages: [ChatMessage], _ genPrompt: Bool) -> [Segment] {
        var s: [Segment] = [.bos]
        for m in messages {
            switch m.role {
            case .system: s += [.marker("<|system|>", loss: false), .text(m.content, loss: false), .marker("<|end|>", loss: false)]
            case .user: s += [.marker("<|user|>", loss: false), .text(m.content, loss: false), .marker("<|end|>", loss: false)]
            case .assistant: s += [.marker("<|assistant|>", loss: false), .text(m.content, loss: true), .eos(loss: true)]
            }
        }
        if genPrompt { s.append(.marker("<|assistant|>", loss: false)) }
        return s
    }

    private func renderLlama2(_ messages: [ChatMessage], _ genPrompt: Bool) -> [Segment] {
        var s: [Segment] = []
        var system: String?
        var pendingUser = false
        for m in messages {
            switch m.role {
            case .system:
                system = m.content
            case .user:
                var text = "[INST] "
                if let sys = system { text += "<<SYS>>\n\(sys)\n<</SYS>>\n\n" }
                system = nil
                text += "\(m.content) [/INST]"
                s += [.bos, .text(text, loss: false)]
                pendingUser = true
            case .assistant:
                if !pendingUser { s.append(.bos) }
                s += [.text(" \(m.content) ", loss: true), .eos(loss: true)]
                pendingUser = false
            }
        }
        _ = genPrompt  // the prompt already ends with "[/INST]"
        return s
    }

    /// A hash of the template's behaviour: the rendering of a fixed probe conversation, so
    /// any change to the layout changes it. Stored with datasets and checked at generation.
    public var sha256: String {
        let probe: [ChatMessage] = [.system("S"), .user("U1"), .assistant("A1"), .user("U2"), .assistant("A2")]
        var h = SHA256()
        h.update(data: Data(name.utf8))
        for seg in render(probe) + [.marker("|", loss: false)] + render(Array(probe.prefix(2)), addGenerationPrompt: true) {
            h.update(data: Data(String(describing: seg).utf8))
        }
        return h.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Token ids and the loss mask (1 where the student is trained) of a conversation.
    /// Each text segment is encoded on its own, so mask boundaries fall exactly between
    /// segments and generation (which encodes the same segments) sees the same ids.
    public func encode(_ messages: [ChatMessage], with tok: Tokenizer, addGenerationPrompt: Bool = false) throws -> (ids: [Int32], mask: [UInt8]) {
        var ids: [Int32] = [], mask: [UInt8] = []
        func add(_ xs: [Int32], _ loss: Bool) {
            ids += xs
            mask += [UInt8](repeating: loss ? 1 : 0, count: xs.count)
        }
        for seg in render(messages, addGenerationPrompt: addGenerationPrompt) {
            switch seg {
            case let .text(t, loss): if !t.isEmpty { add(try tok.encode(t), loss) }
            case let .marker(p, loss):
                guard let id = tok.id(forPiece: p) else { throw DatasetError.missingMarker(template: name, piece: p) }
                add([id], loss)
            case .bos: if let b = tok.bosID { add([b], false) }
            case let .eos(loss):
                guard let e = tok.eosID else { throw DatasetError.missingMarker(template: name, piece: "</s> (EOS)") }
                add([e], loss)
            }
        }
        return (ids, mask)
    }
}
