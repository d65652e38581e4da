import Foundation

/// One entry of tokenizer.json's `added_tokens`.
struct AddedToken: Sendable {
    let id: Int32
    let content: String
    let singleWord: Bool
    let lstrip: Bool
    let rstrip: Bool
    let normalized: Bool
    let special: Bool

    init(_ node: JSONNode) throws {
        id = Int32(try node["id"].int())
        content = try node["content"].string()
        if content.isEmpty { throw node["content"].malformed("an added token cannot be empty") }
        singleWord = try node["single_word"].bool(default: false)
        lstrip = try node["lstrip"].bool(default: false)
        rstrip = try node["rstrip"].bool(default: false)
        normalized = try node["normalized"].bool(default: true)
        special = try node["special"].bool(default: false)
    }
}

/// A piece of the input: text still to tokenize, or an added token already recognised.
enum Segment {
    case text(String)
    case token(Int32)
}

/// Finds added tokens in text the way tokenizers' AddedVocabulary does: leftmost-longest
/// matches on the bytes, then single_word drops matches inside a word, lstrip/rstrip widen a
/// match over the whitespace beside it (whitespace an earlier match took stays with it).
struct AddedTokenMatcher: Sendable {
    private let patterns: [(bytes: [UInt8], token: AddedToken)]
    /// Pattern indices by first byte (256 entries: the scan looks up every byte), longest first.
    private let byFirstByte: [[Int]]

    init(_ tokens: [AddedToken], content: (AddedToken) -> String) {
        let ps = tokens.map { (bytes: Array(content($0).utf8), token: $0) }
        var index = [[Int]](repeating: [], count: 256)
        for (i, p) in ps.enumerated() where !p.bytes.isEmpty { index[Int(p.bytes[0])].append(i) }
        patterns = ps
        byFirstByte = index.map { $0.sorted { ps[$0].bytes.count > ps[$1].bytes.count } }
    }

    var isEmpty: Bool { patterns.isEmpty }

    func split(_ text: String) -> [Segment] {
        guard !patterns.isEmpty, !text.isEmpty else { return text.isEmpty ? [] : [.text(text)] }
        let bytes = Array(text.utf8)
        let spans = spans(bytes)
        if spans.count == 1, spans[0].token == nil { return [.text(text)] }  // no added token: the text as it is
        return spans.map { span in
            span.token.map(Segment.token) ?? .text(String(decoding: bytes[span.range], as: UTF8.self))
        }
    }

    /// `split` as byte ranges of `bytes`: text to tokenize (token nil) or an added token, whose
    /// range holds the whitespace its lstrip/rstrip took. The ranges tile `bytes` in order but
    /// where a match lies in whitespace an earlier rstrip took.
    func spans(_ bytes: [UInt8]) -> [(range: Range<Int>, token: Int32?)] {
        guard !patterns.isEmpty, !bytes.isEmpty else { return bytes.isEmpty ? [] : [(0..<bytes.count, nil)] }
        // Leftmost-longest, non-overlapping matches on the original bytes. A match starts on a
        // UTF-8 lead byte because every pattern is whole UTF-8.
        var matches: [(start: Int, end: Int, token: AddedToken)] = []
        var i = 0
        scan: while i < bytes.count {
            for p in byFirstByte[Int(bytes[i])] {
                let b = patterns[p].bytes
                if i + b.count <= bytes.count, bytes[i..<(i + b.count)].elementsEqual(b) {
                    matches.append((i, i + b.count, patterns[p].token))
                    i += b.count
                    continue scan
                }
            }
            i += 1
        }
        if matches.isEmpty { return [(0..<bytes.count, nil)] }
        var out: [(range: Range<Int>, token: Int32?)] = []
        var offset = 0
        for m in matches {
            var (start, stop) = (m.start, m.end)
            if m.token.singleWord {
                let wordBefore = scalar(before: start, in: bytes).map(isWordScalar) ?? false
                let wordAfter = scalar(at: stop, in: bytes).map(isWordScalar) ?? false
                if wordBefore || wordAfter { continue }
            }
            if m.token.lstrip {
                var s = start
                while let (c, len) = scalarWithLength(before: s, in: bytes), c.properties.isWhitespace { s -= len }
                start = max(s, offset)
            }
            if m.token.rstrip {
                while let c = scalar(at: stop, in: bytes), c.properties.isWhitespace { stop += String(c).utf8.count }
            }
            if offset < start { out.append((offset..<start, nil)) }
            out.append((start..<stop, m.token.id))
            offset = stop
        }
        if offset < bytes.count { out.append((offset..<bytes.count, nil)) }
        return out
    }

    private func scalar(at i: Int, in bytes: [UInt8]) -> Unicode.Scalar? {
        guard i < bytes.count else { return nil }
        var len = 1
        while i + len < bytes.count, bytes[i + len] & 0xC0 == 0x80 { len += 1 }
        return String(decoding: bytes[i..<(i + len)], as: UTF8.self).unicodeScalars.first
    }

    private func scalarWithLength(before i: Int, in bytes: [UInt8]) -> (Unicode.Scalar, Int)? {
        guard i > 0 else { return nil }
        var s = i - 1
        while s > 0, bytes[s] & 0xC0 == 0x80 { s -= 1 }
        guard let c = String(decoding: bytes[s..<i], as: UTF8.self).unicodeScalars.first else { return nil }
        return (c, i - s)
    }

    private func scalar(before i: Int, in bytes: [UInt8]) -> Unicode.Scalar? { scalarWithLength(before: i, in: bytes)?.0 }

    /// Regex `\w` as the reference's single_word check uses it.
    private func isWordScalar(_ c: Unicode.Scalar) -> Bool {
        let p = c.properties
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return p.isAlphabetic || p.isJoinControl
        }
    }
}
