import Crypto
import Common
import Foundation

/// One SFT example: an id (used for the deterministic train/validation split) and its turns.
///
/// Accepted JSONL shapes, one object per line:
///  - `{"id": ..., "messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}`
///    (OpenAI/HF chat format, what TRL and HF `datasets` read as is);
///  - `{"id": ..., "prompt": "...", "response": "...", "system": "..."?}`, mapped to messages.
/// `id` may be a string or a number; without one, the id is a hash of the messages.
public struct SFTRecord: Sendable, Equatable {
    public var id: String
    public var messages: [ChatMessage]
    /// The question the record answers, to match records of two SFT sets (`match`): its
    /// `meta.problem_id` when it has one, else the text of its first user turn. Not the id:
    /// ids carry sample suffixes and differ between sets.
    public var question: String

    public init(id: String, messages: [ChatMessage], question: String? = nil) {
        self.id = id
        self.messages = messages
        self.question = question ?? Self.userText(messages) ?? id
    }

    static func userText(_ messages: [ChatMessage]) -> String? { messages.first { $0.role == .user }?.content }

    /// The record as one JSONL line in the messages format.
    public func jsonLine() throws -> String {
        struct Out: Encodable { let id: String; let messages: [ChatMessage] }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try enc.encode(Out(id: id, messages: messages)), as: UTF8.self)
    }

    /// Parses one JSONL line; the error says which field is wrong (file and line are added by
    /// the reader).
    /// The largest record read: far above any SFT example (a 16k-token trace is about 64 KiB),
    /// far below what tokenizing one record may take in memory (a few hundred bytes per byte).
    public static let maxBytes = 4 << 20

    public static func parse(_ line: Data) throws -> SFTRecord {
        guard line.count <= maxBytes else {
            throw ParseError("the record is \(line.count >> 20) MiB, over the \(maxBytes >> 20) MiB a record may hold")
        }
        if let p = JSONStructure.problem(in: line) { throw ParseError(p.description) }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: line, options: [])
        } catch {
            throw ParseError("not valid JSON (\(Self.jsonReason(error)))")
        }
        guard let o = object as? [String: Any] else { throw ParseError("expected a JSON object") }
        var messages: [ChatMessage] = []
        if let raw = o["messages"] {
            guard let list = raw as? [Any] else { throw ParseError("field 'messages': expected an array") }
            guard !list.isEmpty else { throw ParseError("field 'messages': empty") }
            for (i, m) in list.enumerated() {
                guard let m = m as? [String: Any] else { throw ParseError("messages[\(i)]: expected an object") }
                guard let roleName = m["role"] as? String else { throw ParseError("messages[\(i)].role: missing or not a string") }
                guard let role = ChatMessage.Role(rawValue: roleName) else {
                    throw ParseError("messages[\(i)].role: '\(roleName)' is not one of system, user, assistant")
                }
                guard let content = m["content"] as? String else { throw ParseError("messages[\(i)].content: missing or not a string") }
                messages.append(ChatMessage(role, content))
            }
        } else if o["prompt"] != nil || o["response"] != nil {
            guard let prompt = o["prompt"] as? String else { throw ParseError("field 'prompt': missing or not a string") }
            guard let response = o["response"] as? String else { throw ParseError("field 'response': missing or not a string") }
            if let s = o["system"] {
                guard let s = s as? String else { throw ParseError("field 'system': not a string") }
                messages.append(.system(s))
            }
            messages += [.user(prompt), .assistant(response)]
        } else {
            throw ParseError("expected a 'messages' array or 'prompt' and 'response' fields")
        }
        let id: String
        switch o["id"] {
        case let s as String: id = s
        case let n as NSNumber: id = n.stringValue
        case nil, is NSNull: id = contentID(messages)
        default: throw ParseError("field 'id': expected a string or a number")
        }
        // A problem id names the question whatever the prompt around it (behaviors, templates).
        let problemID = ((o["meta"] as? [String: Any])?["problem_id"]).flatMap { v -> String? in
            switch v {
            case let s as String: s
            case let n as NSNumber: n.stringValue
            default: nil
            }
        }
        return SFTRecord(id: id, messages: messages, question: problemID)
    }

    /// A stable id for records that carry none: the hash of their turns.
    static func contentID(_ messages: [ChatMessage]) -> String {
        var h = SHA256()
        for m in messages {
            h.update(data: Data(m.role.rawValue.utf8))
            h.update(data: Data([0]))
            h.update(data: Data(m.content.utf8))
            h.update(data: Data([0]))
        }
        return "sha256:" + h.finalize().prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    static func jsonReason(_ error: Error) -> String {
        let ns = error as NSError
        return (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
    }

    struct ParseError: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }
}
