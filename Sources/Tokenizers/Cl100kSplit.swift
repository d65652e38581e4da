import Foundation

/// A hand-written matcher for the split regex of Llama 3 and Qwen2 (tiktoken's cl100k style),
/// working on UTF-8 bytes: the regex engine's per-call cost and UTF-16 round trips dominated
/// encoding. It finds exactly the matches NSRegularExpression finds for
///
///     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,D}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
///
/// with D = 3 (Llama 3, written `\p{N}{1,3}`) or 1 (Qwen2, written `\p{N}`); Cl100kSplitTests
/// holds it against the regex, class by class over every scalar and on mixed text. Any other
/// pattern goes through the regex.
struct Cl100kSplit: Sendable {
    /// The longest digit run one match takes.
    let maxDigits: Int

    static let patternPrefix = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|"#
    static let patternSuffix = #"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// The matcher for `pattern`, or nil when it is not one this type implements.
    init?(pattern: String) {
        switch pattern {
        case Self.patternPrefix + #"\p{N}{1,3}"# + Self.patternSuffix: maxDigits = 3
        case Self.patternPrefix + #"\p{N}"# + Self.patternSuffix: maxDigits = 1
        default: return nil
        }
    }

    /// What the regex's classes say of a scalar: \p{L}, \p{N}, \s, or none of them (they never overlap).
    enum Class: UInt8 { case letter, number, space, other }

    /// The class of every BMP scalar, computed once; astral scalars are classified on the fly.
    private static let bmpClasses: [Class] = (0..<0x10000).map { v in
        Unicode.Scalar(UInt32(v)).map(classify) ?? .other
    }

    /// Whether ICU knows Unicode 17.0's scalars (U+A7CE is a letter from 17.0): the Swift runtime
    /// can be a version ahead of the ICU it ships, and to the regex a newer scalar is unassigned.
    private static let regexKnowsUnicode17: Bool = {
        guard let r = try? NSRegularExpression(pattern: #"\p{L}"#) else { return false }
        return r.firstMatch(in: "\u{A7CE}", range: NSRange(location: 0, length: 1)) != nil
    }()

    static func classify(_ s: Unicode.Scalar) -> Class {
        let p = s.properties
        if !regexKnowsUnicode17, let age = p.age, age.major >= 17 { return .other }
        // ICU's \s is the White_Space property.
        if p.isWhitespace { return .space }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// Reads the BMP table through a pointer: a static's accessor in the inner loop cost a
    /// once-check per scalar.
    private struct Classes {
        let bmp: UnsafeBufferPointer<Class>
        @inline(__always)
        func of(_ v: UInt32) -> Class { v < 0x10000 ? bmp[Int(v)] : Cl100kSplit.classify(Unicode.Scalar(v)!) }
    }

    /// The letter a scalar matches case-insensitively among those the contractions use; ICU
    /// folds U+017F LONG S to s, and no other non-ASCII scalar to one of "strevmld".
    @inline(__always)
    static func folded(_ v: UInt32) -> UInt32 {
        if v >= 0x41, v <= 0x5A { return v | 0x20 }
        return v == 0x17F ? 0x73 : v
    }

    /// The byte ranges of the matches in `bytes`, in order. Every position starts a match (each
    /// scalar is a letter, a number, a space or none of them, and some alternative takes each),
    /// so the ranges tile the input.
    func matches(_ bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var out: [Range<Int>] = []
        out.reserveCapacity(bytes.count / 4)
        Self.bmpClasses.withUnsafeBufferPointer { bmp in
            let classes = Classes(bmp: bmp)
            var i = 0
            while i < bytes.count {
                let end = matchEnd(bytes, from: i, classes)
                out.append(i..<end)
                i = end
            }
        }
        return out
    }

    /// Where the match starting at `i` ends: the alternatives tried in the regex's order, each
    /// with the backtracking the engine would do.
    private func matchEnd(_ b: UnsafeBufferPointer<UInt8>, from i: Int, _ classes: Classes) -> Int {
        let n = b.count
        let (v0, len0) = b.scalar(at: i)
        let c0 = classes.of(v0)
        let next = i + len0

        // (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if v0 == 0x27, next < n {
            let (v1, len1) = b.scalar(at: next)
            switch Self.folded(v1) {
            case 0x73, 0x74, 0x6D, 0x64: return next + len1 // s t m d
            case 0x72, 0x76, 0x6C: // r v l, then e e l
                let second: UInt32 = Self.folded(v1) == 0x6C ? 0x6C : 0x65
                if next + len1 < n {
                    let (v2, len2) = b.scalar(at: next + len1)
                    if Self.folded(v2) == second { return next + len1 + len2 }
                }
            default: break
            }
        }
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if c0 == .letter { return letters(b, from: i, classes) }
        if c0 != .number, v0 != 0x0D, v0 != 0x0A, next < n, classes.of(b.scalar(at: next).0) == .letter {
            return letters(b, from: next, classes)
        }
        // \p{N}{1,D}
        if c0 == .number {
            var j = i, count = 0
            while j < n, count < maxDigits {
                let (v, len) = b.scalar(at: j)
                guard classes.of(v) == .number else { break }
                j += len
                count += 1
            }
            return j
        }
        //  ?[^\s\p{L}\p{N}]+[\r\n]*
        var start = -1
        if c0 == .other {
            start = i
        } else if v0 == 0x20, next < n, classes.of(b.scalar(at: next).0) == .other {
            start = next
        }
        if start >= 0 {
            var j = start
            while j < n {
                let (v, len) = b.scalar(at: j)
                guard classes.of(v) == .other else { break }
                j += len
            }
            while j < n, b[j] == 0x0D || b[j] == 0x0A { j += 1 }
            return j
        }
        // The scalar at i is a space. The run of spaces from i, the end of its last \r or \n,
        // and where its last scalar starts.
        var j = i, afterNewline = -1, lastStart = i
        while j < n {
            let (v, len) = b.scalar(at: j)
            guard classes.of(v) == .space else { break }
            if v == 0x0D || v == 0x0A { afterNewline = j + 1 }
            lastStart = j
            j += len
        }
        // \s*[\r\n]+ : \s* gives back until [\r\n]+ can match, so the match ends after the run's last \r or \n.
        if afterNewline >= 0 { return afterNewline }
        // \s+(?!\S) : the whole run at the end of the text, else all but its last scalar (when that leaves one).
        if j == n { return j }
        if lastStart > i { return lastStart }
        // \s+
        return j
    }

    @inline(__always)
    private func letters(_ b: UnsafeBufferPointer<UInt8>, from i: Int, _ classes: Classes) -> Int {
        var j = i
        while j < b.count {
            let (v, len) = b.scalar(at: j)
            guard classes.of(v) == .letter else { break }
            j += len
        }
        return j
    }
}
