import ChatTemplates
import Crypto
import Foundation
import Tokenizers

/// A chat template applied with a tokenizer: the ids a conversation becomes, which of them carry
/// loss, and the ids that end a turn. Datasets, the trainer's checkpoints, generation and the
/// local backend all go through it, so a student sees at inference exactly the layout it was
/// trained on.
///
/// The conversation is rendered to text by the template (as apply_chat_template does) and the
/// whole text is tokenized, so the ids are those transformers gives. The loss mask is derived
/// from the rendering, with no per-family rules: each assistant message's content is found in the
/// text, followed (after optional whitespace) by a special token that closes the turn; the tokens
/// covering content through that token carry loss. A template that changes an assistant's
/// content, or closes its turn with no special token, is refused.
public struct ChatEncoder: @unchecked Sendable {  // variables are plain data, never mutated
    public let template: ChatTemplate
    public let tokenizer: any Tokenizer
    public let variables: [String: TemplateVariable]
    /// Ids that end an assistant's turn: the one the template closes a turn with and the
    /// tokenizer's EOS. Generation stops at any of them.
    public let endOfTurnIDs: Set<Int32>
    /// A hash of what decides the ids: the template's text, its special tokens and variables,
    /// and the tokenizer. Datasets record it; a checkpoint's encoder must have the same.
    public let sha256: String
    public var name: String { template.name }

    /// Special pieces by their UTF-8 bytes, longest first: the texts that can close a turn.
    private let specials: [(bytes: [UInt8], id: Int32)]
    /// Pieces split out of the text before encoding, where the tokenizer's encode does not do
    /// it itself (SentencePiece's control and user-defined pieces, as HF's slow tokenizers do).
    private let splitPieces: [(bytes: [UInt8], id: Int32)]

    /// `template` with the tokenizer's BOS/EOS pieces as bos_token/eos_token where the template's
    /// folder names none.
    public init(template: ChatTemplate, tokenizer: any Tokenizer, variables: [String: TemplateVariable] = [:]) throws {
        var t = template
        if t.specialTokens["bos_token"] == nil, let b = tokenizer.bosID { t.specialTokens["bos_token"] = try tokenizer.piece(forID: b) }
        if t.specialTokens["eos_token"] == nil, let e = tokenizer.eosID { t.specialTokens["eos_token"] = try tokenizer.piece(forID: e) }
        self.template = t
        self.tokenizer = tokenizer
        self.variables = variables
        let sorted = tokenizer.specialPieces.map { (bytes: Array($0.key.utf8), id: $0.value) }.sorted { $0.bytes.count > $1.bytes.count }
        specials = sorted
        splitPieces = tokenizer.encodeParsesSpecialPieces ? [] : sorted
        var h = SHA256()
        for part in [t.source] + t.specialTokens.sorted(by: { $0.key < $1.key }).map({ "\($0.key)=\($0.value)" })
            + variables.sorted(by: { $0.key < $1.key }).map({ "\($0.key)=\($0.value.text)" }) + [tokenizer.sha256] {
            h.update(data: Data(part.utf8))
            h.update(data: Data([0]))
        }
        sha256 = h.finalize().map { String(format: "%02x", $0) }.joined()
        var ends = Set(tokenizer.eosID.map { [$0] } ?? [])
        // The template's end of turn, from a probe exchange; a template that cannot show one
        // still generates (ending at EOS), and `checkLossSpans` says why it cannot train.
        if let spans = try? Self.spans(in: Self.render(t, [.user("Hi"), .assistant("Hello")], false, variables), of: [.user("Hi"), .assistant("Hello")],
                                       specials: sorted, name: t.name) {
            ends.formUnion(spans.map(\.endID))
        }
        endOfTurnIDs = ends
    }

    /// The encoder a `template` setting names (`auto`: the model folder's own template; `bcsft`,
    /// `llama2`; or a .jinja file), for a tokenizer loaded from `modelFolder`.
    public init(setting: String, tokenizer: any Tokenizer, modelFolder: URL?, variables: [String: TemplateVariable] = [:]) throws {
        let template: ChatTemplate
        do { template = try ChatTemplate.resolve(setting, modelFolder: modelFolder) } catch {
            throw DatasetError.template(name: setting, reason: error.localizedDescription)
        }
        // A built-in's markers must be single pieces, or they would be tokenized as characters.
        for marker in ChatTemplate.markers(ofBuiltin: setting) where tokenizer.id(forPiece: marker) == nil {
            throw DatasetError.missingMarker(template: setting, piece: marker)
        }
        try self.init(template: template, tokenizer: tokenizer, variables: variables)
    }

    /// The folder a tokenizer path names: the path itself when it is a folder, else the folder
    /// holding the file (where `auto` looks for the chat template).
    public static func modelFolder(ofTokenizer url: URL) -> URL {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) && isDir.boolValue ? url : url.deletingLastPathComponent()
    }

    /// The rendered text of a conversation; with `addGenerationPrompt`, ending where the
    /// assistant's next turn begins.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = false) throws -> String {
        try Self.render(template, messages, addGenerationPrompt, variables)
    }

    /// The ids that generation feeds the model: the conversation and the assistant's turn opening.
    public func promptIDs(_ messages: [ChatMessage]) throws -> [Int32] { try ids(messages, addGenerationPrompt: true) }

    /// The ids of the rendering (apply_chat_template with tokenize=True), without a loss mask.
    public func ids(_ messages: [ChatMessage], addGenerationPrompt: Bool = false) throws -> [Int32] {
        try encodeText(try render(messages, addGenerationPrompt: addGenerationPrompt)).ids
    }

    /// Token ids and the loss mask (1 where the student is trained) of a conversation.
    public func encode(_ messages: [ChatMessage]) throws -> (ids: [Int32], mask: [UInt8]) {
        let text = try render(messages)
        let spans = try Self.spans(in: text, of: messages, specials: specials, name: name)
        let (ids, offsets) = try encodeText(text, boundaries: spans.flatMap { [$0.bytes.lowerBound, $0.bytes.upperBound] })
        var mask = [UInt8](repeating: 0, count: ids.count)
        for (i, r) in offsets.enumerated() where spans.contains(where: { r.isEmpty ? $0.bytes.contains(r.lowerBound) : r.overlaps($0.bytes) }) {
            mask[i] = 1
        }
        // Each span must end on its closing token, or the student would not learn to stop.
        for span in spans {
            guard let last = offsets.lastIndex(where: { !$0.isEmpty && $0.upperBound == span.bytes.upperBound }), ids[last] == span.endID else {
                throw DatasetError.template(name: name, reason: "the token closing an assistant turn (id \(span.endID)) is not a token of its own in the encoded text")
            }
        }
        return (ids, mask)
    }

    /// Checks on a probe conversation that the template's assistant spans can be found: a
    /// dataset build calls it first, so a template bcsft cannot mask fails once, clearly.
    public func checkLossSpans() throws {
        let probe: [ChatMessage] = [.system("You are helpful."), .user("What is 2 + 2?"), .assistant("2 + 2 = 4."), .user("And 3 + 3?"), .assistant("3 + 3 = 6.")]
        let withSystem = (try? render(probe)) != nil
        _ = try encode(withSystem ? probe : Array(probe.dropFirst()))
    }

    /// The ids of rendered text with the UTF-8 byte range each covers: special pieces become
    /// their ids (split out here where the tokenizer's encode does not). Exact offsets are only
    /// worked out where they decide something: around `boundaries` (the loss spans' ends). A
    /// segment between split pieces that no boundary falls inside is encoded plainly, each of its
    /// tokens given the segment's range; with no boundaries (a prompt) nothing needs offsets.
    func encodeText(_ text: String, boundaries: [Int]? = nil) throws -> (ids: [Int32], offsets: [Range<Int>]) {
        guard !splitPieces.isEmpty else {
            if boundaries == nil { return (try tokenizer.encode(text), []) }
            return try tokenizer.encodeWithOffsets(text)
        }
        let bytes = Array(text.utf8)
        var ids: [Int32] = [], offsets: [Range<Int>] = []
        var start = 0, i = 0
        func flush(_ end: Int) throws {
            guard start < end else { return }
            let segment = String(decoding: bytes[start..<end], as: UTF8.self)
            if let boundaries, boundaries.contains(where: { start < $0 && $0 < end }) {
                let (segIDs, segOffsets) = try tokenizer.encodeWithOffsets(segment)
                ids += segIDs
                offsets += segOffsets.map { ($0.lowerBound + start)..<($0.upperBound + start) }
            } else {
                let segIDs = try tokenizer.encode(segment)
                ids += segIDs
                offsets += repeatElement(start..<end, count: segIDs.count)
            }
        }
        scan: while i < bytes.count {
            for p in splitPieces where bytes[i] == p.bytes[0] && i + p.bytes.count <= bytes.count && bytes[i..<(i + p.bytes.count)].elementsEqual(p.bytes) {
                try flush(i)
                ids.append(p.id)
                offsets.append(i..<(i + p.bytes.count))
                i += p.bytes.count
                start = i
                continue scan
            }
            i += 1
        }
        try flush(bytes.count)
        return (ids, offsets)
    }

    static func render(_ template: ChatTemplate, _ messages: [ChatMessage], _ addGenerationPrompt: Bool,
                       _ variables: [String: TemplateVariable]) throws -> String {
        let values: [Value] = messages.map { .dict(Value.Dict([("role", .string($0.role.rawValue)), ("content", .string($0.content))])) }
        return try template.render(messages: values, addGenerationPrompt: addGenerationPrompt, variables: variables.mapValues(\.value))
    }

    /// An assistant's loss span: UTF-8 bytes of the rendered text from its content through the
    /// special token that closes its turn.
    struct Span {
        let bytes: Range<Int>
        let endID: Int32
    }

    /// Finds each assistant message's content in the rendering, in order, where a special token
    /// follows it after optional whitespace.
    static func spans(in text: String, of messages: [ChatMessage], specials: [(bytes: [UInt8], id: Int32)], name: String) throws -> [Span] {
        let bytes = Array(text.utf8)
        var cursor = 0
        var spans: [Span] = []
        func closing(after end: Int) -> (end: Int, id: Int32)? {
            var j = end
            while j < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[j]) { j += 1 }
            for s in specials where j + s.bytes.count <= bytes.count && bytes[j..<(j + s.bytes.count)].elementsEqual(s.bytes) {
                return (j + s.bytes.count, s.id)
            }
            return nil
        }
        func searchTexts(_ m: ChatMessage) -> [[UInt8]] {
            [m.content, m.content.trimmingCharacters(in: .whitespacesAndNewlines)].filter { !$0.isEmpty }.map { Array($0.utf8) }
        }
        for (k, m) in messages.enumerated() where m.role == .assistant {
            let candidates = searchTexts(m)
            // Start after the turn this one answers (when it appears as given), so a short answer
            // is not matched inside an earlier header or question.
            var start = cursor
            if k > 0, messages[k - 1].role != .assistant, let c = searchTexts(messages[k - 1]).first,
               let at = firstIndex(of: c, in: bytes, from: cursor) {
                start = at + c.count
            }
            guard !candidates.isEmpty else {
                throw DatasetError.template(name: name, reason: "assistant message \(k + 1) is empty: there is nothing to learn from it")
            }
            var found: Span?
            search: for c in candidates {
                var from = start
                while let at = firstIndex(of: c, in: bytes, from: from) {
                    if let close = closing(after: at + c.count) {
                        found = Span(bytes: at..<close.end, endID: close.id)
                        break search
                    }
                    from = at + 1
                }
            }
            guard let span = found else {
                let contentAppears = candidates.contains { firstIndex(of: $0, in: bytes, from: start) != nil }
                throw DatasetError.template(name: name, reason: contentAppears
                    ? "assistant message \(k + 1) is not followed by a special token that closes its turn, so bcsft cannot tell where the student should stop; use a template whose assistant turns end with an end-of-turn token"
                    : "assistant message \(k + 1) does not appear as given in the rendering (the template changes it, e.g. drops the reasoning of earlier turns), so bcsft cannot tell which tokens are the assistant's")
            }
            spans.append(span)
            cursor = span.bytes.upperBound
        }
        return spans
    }

    private static func firstIndex(of needle: [UInt8], in hay: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, needle.count <= hay.count else { return nil }
        var i = from
        let first = needle[0]
        while i + needle.count <= hay.count {
            if hay[i] == first, hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
