import Foundation

/// tokenizer.json's `normalizer`: the ones bcsft implements, anything else refused by name.
enum Normalizer {
    case nfc
    case sequence([Normalizer])

    init(_ node: JSONNode) throws {
        switch try node.type() {
        case "NFC": self = .nfc
        case "Sequence": self = .sequence(try node["normalizers"].array().map(Normalizer.init))
        case let other: throw node["type"].unsupported("normalizer \(other) (bcsft implements NFC and Sequence)")
        }
    }

    func apply(_ text: String) -> String {
        switch self {
        case .nfc: NFCStable.normalize(text) { $0.precomposedStringWithCanonicalMapping }
        case let .sequence(steps): steps.reduce(text) { $1.apply($0) }
        }
    }
}

/// A regex split as tokenizers' `Split` does it: the matches and the text between them become
/// pieces, joined or dropped as `behavior` says; empty pieces are dropped.
struct RegexSplit: @unchecked Sendable {
    enum Behavior: String { case Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous }
    // NSRegularExpression is immutable and documented thread-safe, so pieces split concurrently.
    let regex: NSRegularExpression
    let behavior: Behavior
    /// The hand-written matcher, when the pattern is Llama 3's or Qwen2's.
    let fast: Cl100kSplit?

    init(pattern: String, behavior: Behavior, field: JSONNode) throws {
        do {
            regex = try NSRegularExpression(pattern: pattern)
        } catch {
            throw field.unsupported("the regex does not compile with ICU (\(error.localizedDescription))")
        }
        self.behavior = behavior
        fast = Cl100kSplit(pattern: pattern)
    }

    func split(_ text: String) -> [String] {
        guard fast != nil else { return regexSplit(text) }
        var text = text
        return text.withUTF8 { buf in byteRanges(buf).map { String(decoding: UnsafeBufferPointer(rebasing: buf[$0]), as: UTF8.self) } }
    }

    /// `split`'s pieces as byte ranges of `text`'s UTF-8 (the offsets path).
    func byteRanges(_ text: String) -> [Range<Int>] {
        if fast != nil {
            var text = text
            return text.withUTF8 { byteRanges($0) }
        }
        let ns = text as NSString
        let matches = regex.matches(in: text, range: NSRange(location: 0, length: ns.length)).map {
            $0.range.location..<($0.range.location + $0.range.length)
        }
        let utf16 = pieces(matches: matches, length: ns.length)
        // The ranges come in order, so one pass over the bytes turns UTF-16 offsets into UTF-8
        // ones (the regex splits between scalars, never inside a surrogate pair).
        var bytes = text.utf8.makeIterator()
        var (u8, u16) = (0, 0)
        func byteOffset(_ target: Int) -> Int {
            while u16 < target, let b = bytes.next() {
                let length = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4
                for _ in 1..<length { _ = bytes.next() }
                u8 += length
                u16 += length == 4 ? 2 : 1
            }
            return u8
        }
        return utf16.map { r in
            let lower = byteOffset(r.lowerBound)
            return lower..<byteOffset(r.upperBound)
        }
    }

    /// split(_:) through the regex, whatever the pattern (what the hand-written matcher is held to).
    func regexSplit(_ text: String) -> [String] {
        let ns = text as NSString
        let matches = regex.matches(in: text, range: NSRange(location: 0, length: ns.length)).map {
            $0.range.location..<($0.range.location + $0.range.length)
        }
        return pieces(matches: matches, length: ns.length).map { ns.substring(with: NSRange(location: $0.lowerBound, length: $0.count)) }
    }

    /// The pieces of UTF-8 text as byte ranges; only for a split with a hand-written matcher.
    func byteRanges(_ bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        let matches = fast!.matches(bytes)
        // The matches tile the text, so Isolated keeps them as they are.
        return behavior == .Isolated ? matches : pieces(matches: matches, length: bytes.count)
    }

    /// The ranges to emit, in any unit (UTF-16 for the regex, bytes for the hand-written
    /// matcher): a match joins the part before it (or after it) when that part is not a match
    /// itself; Contiguous joins runs of matches.
    private func pieces(matches: [Range<Int>], length: Int) -> [Range<Int>] {
        var parts: [(Range<Int>, Bool)] = []
        var last = 0
        for m in matches where !m.isEmpty {
            if m.lowerBound > last { parts.append((last..<m.lowerBound, false)) }
            parts.append((m, true))
            last = m.upperBound
        }
        if last < length { parts.append((last..<length, false)) }

        var out: [Range<Int>] = []
        switch behavior {
        case .Removed: out = parts.filter { !$0.1 }.map(\.0)
        case .Isolated: out = parts.map(\.0)
        case .MergedWithPrevious, .Contiguous:
            var previousMatch = false
            for (r, isMatch) in parts {
                let join = behavior == .Contiguous ? isMatch == previousMatch : isMatch && !previousMatch
                if join, let prev = out.popLast() { out.append(prev.lowerBound..<r.upperBound) } else { out.append(r) }
                previousMatch = isMatch
            }
        case .MergedWithNext:
            var previousMatch = false
            for (r, isMatch) in parts.reversed() {
                if isMatch, !previousMatch, let next = out.popLast() { out.append(r.lowerBound..<next.upperBound) } else { out.append(r) }
                previousMatch = isMatch
            }
            out.reverse()
        }
        return out.filter { !$0.isEmpty }
    }
}

/// tokenizer.json's `pre_tokenizer`, flattened to steps. A ByteLevel step must come last: the
/// BPE model then reads each piece as bytes.
struct PreTokenizer: Sendable {
    enum Step {
        case split(RegexSplit)
        /// ByteLevel's add_prefix_space: a space before a piece that lacks one.
        case prefixSpace
    }

    /// GPT-2's split, which ByteLevel applies when its `use_regex` is true.
    static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

    private(set) var steps: [Step] = []
    private(set) var byteLevel = false
    /// Whether every step is a split with a hand-written matcher, so words can be found on the
    /// text's bytes without making Strings.
    private(set) var onBytes = true

    init(_ node: JSONNode?) throws {
        guard let node, !node.isNull else { return }
        try add(node)
        onBytes = steps.allSatisfy { if case let .split(s) = $0 { s.fast != nil } else { false } }
    }

    private mutating func add(_ node: JSONNode) throws {
        if byteLevel { throw node.unsupported("a pre-tokenizer after ByteLevel (bcsft needs ByteLevel last)") }
        switch try node.type() {
        case "Sequence":
            for p in try node["pretokenizers"].array() { try add(p) }
        case "Split":
            if try node["invert"].bool(default: false) { throw node["invert"].unsupported("invert: true") }
            let patternNode = node["pattern"]
            let pattern: String
            if !patternNode["Regex"].isNull {
                pattern = try patternNode["Regex"].string()
            } else if !patternNode["String"].isNull {
                pattern = NSRegularExpression.escapedPattern(for: try patternNode["String"].string())
            } else {
                throw patternNode.malformed("a {\"Regex\": …} or {\"String\": …} object expected")
            }
            let b = try node["behavior"].string()
            guard let behavior = RegexSplit.Behavior(rawValue: b) else { throw node["behavior"].unsupported("behavior \(b)") }
            steps.append(.split(try RegexSplit(pattern: pattern, behavior: behavior, field: patternNode)))
        case "ByteLevel":
            if try node["add_prefix_space"].bool(default: true) { steps.append(.prefixSpace) }
            if try node["use_regex"].bool(default: true) {
                steps.append(.split(try RegexSplit(pattern: Self.gpt2Pattern, behavior: .Isolated, field: node["use_regex"])))
            }
            byteLevel = true
        case let other:
            throw node["type"].unsupported("pre-tokenizer \(other) (bcsft implements Sequence, Split and ByteLevel)")
        }
    }

    /// A piece of `spans`: bytes of the input, after the space add_prefix_space put before them.
    struct Span {
        var prefixSpace: Bool
        var source: Range<Int>

        func bytes(of input: [UInt8]) -> [UInt8] { (prefixSpace ? [0x20] : []) + input[source] }

        /// The input offset of an offset in this piece's bytes; the added space has the offset of
        /// the byte it stands before.
        func inputOffset(_ offset: Int) -> Int { prefixSpace ? source.lowerBound + max(offset - 1, 0) : source.lowerBound + offset }

        /// The sub-piece at `range` of this piece's bytes.
        func sub(_ range: Range<Int>) -> Span {
            Span(prefixSpace: prefixSpace && range.lowerBound == 0, source: inputOffset(range.lowerBound)..<inputOffset(range.upperBound))
        }
    }

    /// `apply`'s pieces as spans of `input`'s bytes, the same pieces in the same order.
    func spans(_ input: [UInt8]) -> [Span] {
        var pieces = input.isEmpty ? [] : [Span(prefixSpace: false, source: 0..<input.count)]
        for step in steps {
            switch step {
            case let .split(s):
                pieces = pieces.flatMap { p in
                    // The hand-written matcher reads the input's bytes in place.
                    if s.fast != nil, !p.prefixSpace {
                        return input.withUnsafeBufferPointer { s.byteRanges(UnsafeBufferPointer(rebasing: $0[p.source])) }.map(p.sub)
                    }
                    return s.byteRanges(String(decoding: p.bytes(of: input), as: UTF8.self)).map(p.sub)
                }
            case .prefixSpace:
                pieces = pieces.map { p in
                    p.prefixSpace || p.source.first.map({ input[$0] == 0x20 }) == true ? p : Span(prefixSpace: true, source: p.source)
                }
            }
        }
        return pieces
    }

    /// Calls `body` with the UTF-8 bytes of each word apply(_:) returns, in order.
    func forEachWord(in text: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
        guard onBytes else {
            for word in apply(text) {
                var word = word
                try word.withUTF8(body)
            }
            return
        }
        var text = text
        try text.withUTF8 { buf in
            var ranges = buf.isEmpty ? [] : [0..<buf.count]
            for case let .split(s) in steps {
                ranges = ranges.flatMap { r in
                    s.byteRanges(UnsafeBufferPointer(rebasing: buf[r])).map { ($0.lowerBound + r.lowerBound)..<($0.upperBound + r.lowerBound) }
                }
            }
            for r in ranges { try body(UnsafeBufferPointer(rebasing: buf[r])) }
        }
    }

    func apply(_ text: String) -> [String] {
        var pieces = text.isEmpty ? [] : [text]
        for step in steps {
            switch step {
            case let .split(s): pieces = pieces.flatMap(s.split)
            case .prefixSpace: pieces = pieces.map { $0.utf8.first == 0x20 ? $0 : " " + $0 }
            }
        }
        return pieces
    }
}
