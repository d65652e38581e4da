import Foundation

/// The shape of a normalised answer: what kind of object it is and its parts, so that the
/// grader compares tuples elementwise, sets in any order and numbers by value.
struct AnswerStructure: Equatable, Sendable {
    indirect enum Kind: Equatable, Sendable {
        /// A multiple-choice letter: `B`, `(B)`.
        case choice(Character)
        /// Words, or anything that does not parse as math; compared as text.
        case text
        /// A numeral with a base subscript: `52_8`.
        case baseNumber(digits: String, base: String)
        case expression(Expression)
        /// An equation that is not just `x = value` (a line, a plane).
        case equation(Expression, Expression)
        /// A tuple, point or interval: the brackets are kept, so `[1,2)` is not `(1,2)`.
        case bracketed(open: Character, close: Character, [AnswerStructure])
        case union([AnswerStructure])
        /// `\{1,2\}` or a bare list of solutions "1, 2": unordered.
        case collection([AnswerStructure])
        case matrix([[AnswerStructure]])
        /// Past one of GraderLimits: not parsed, and never equal to anything. The reason
        /// completes "prediction ..." or "gold ...".
        case refused(String)
    }

    var kind: Kind
    /// The normalised text this came from, for reasons.
    var source: String

    var kindName: String {
        switch kind {
        case .choice: "a choice"
        case .text: "text"
        case .baseNumber: "a base-b numeral"
        case .expression: "an expression"
        case .equation: "an equation"
        case let .bracketed(open, _, _): open == "(" ? "a tuple or interval" : "an interval"
        case .union: "a union"
        case .collection: "a set or list"
        case .matrix: "a matrix"
        case .refused: "not parsed"
        }
    }

    /// Parses a whole normalised answer: `parse`, refused when it has more elements than
    /// GraderLimits.elements, and refused as a whole when any part of it was.
    static func parseAnswer(_ raw: String) -> AnswerStructure {
        let separators = separatorCount(raw)
        if separators > GraderLimits.elements {
            return AnswerStructure(kind: .refused("has \(separators) separators (, & \\\\ \\cup \\pm), over the \(GraderLimits.elements) the grader parses"), source: raw)
        }
        let s = parse(raw)
        return s.refusal.map { AnswerStructure(kind: .refused($0), source: raw) } ?? s
    }

    /// What splits an answer into elements: `,`, `&`, `\\`, `\cup`, and `\pm`/`\mp` (two values).
    static func separatorCount(_ s: String) -> Int {
        let bytes = Array(s.utf8)
        var n = 0, i = 0
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: ","), UInt8(ascii: "&"): n += 1
            case UInt8(ascii: "\\") where i + 1 < bytes.count:
                if bytes[i + 1] == UInt8(ascii: "\\") {
                    n += 1
                    i += 1
                } else if bytes[(i + 1)...].starts(with: "cup".utf8) || bytes[(i + 1)...].starts(with: "pm".utf8) || bytes[(i + 1)...].starts(with: "mp".utf8) {
                    n += 1
                }
            default: break
            }
            i += 1
        }
        return n
    }

    /// The reason of the first refused part, if any.
    var refusal: String? {
        switch kind {
        case let .refused(why): why
        case .choice, .text, .baseNumber, .expression, .equation: nil
        case let .bracketed(_, _, parts), let .union(parts), let .collection(parts): parts.lazy.compactMap(\.refusal).first
        case let .matrix(rows): rows.lazy.flatMap { $0 }.compactMap(\.refusal).first
        }
    }

    /// Parses normalised text (AnswerNormalizer). Never fails: what is not math is text.
    static func parse(_ raw: String) -> AnswerStructure {
        let s = raw.trimmingCharacters(in: .whitespaces)
        if let m = matrix(s) { return m }
        let unionParts = TeX.splitTopLevel(s, separator: "\\cup")
        if unionParts.count > 1 { return AnswerStructure(kind: .union(unionParts.map(parse)), source: s) }
        if s.hasPrefix("\\{"), s.hasSuffix("\\}"), s.count >= 4 {
            let inner = String(s.dropFirst(2).dropLast(2))
            // only when the braces enclose the whole answer, not `\{1\} \cup \{2\}` (handled above)
            if TeX.splitTopLevel(inner, separator: "\\}").count == 1 {
                return AnswerStructure(kind: .collection(items(inner)), source: s)
            }
        }
        let parts = TeX.splitTopLevel(s, separator: ",")
        if parts.count > 1 { return AnswerStructure(kind: .collection(items(s)), source: s) }
        if let b = bracketed(s) { return b }
        return item(s)
    }

    /// Comma-separated elements, each parsed, with `a \pm b` contributing both values.
    static func items(_ s: String) -> [AnswerStructure] {
        TeX.splitTopLevel(s, separator: ",").flatMap { part -> [AnswerStructure] in
            let p = parse(part)
            if case let .collection(expanded) = p.kind, p.source.contains("\\pm") || p.source.contains("\\mp") { return expanded }
            return [p]
        }
    }

    /// `(a, b)`, `[a, b)`, `(-\infty, 0]`: brackets enclosing the whole answer with a comma inside.
    static func bracketed(_ s: String) -> AnswerStructure? {
        let chars = Array(s)
        guard chars.count >= 2, let open = chars.first, let close = chars.last, "([".contains(open), ")]".contains(close),
              TeX.closingBracket(in: chars, open: 0) == chars.count - 1 else { return nil }
        let inner = String(chars[1..<(chars.count - 1)])
        let parts = TeX.splitTopLevel(inner, separator: ",")
        guard parts.count > 1 else { return nil }
        return AnswerStructure(kind: .bracketed(open: open, close: close, parts.map(parse)), source: s)
    }

    /// `\begin{pmatrix} a & b \\ c & d \end{pmatrix}` (also bmatrix, vmatrix, array).
    static func matrix(_ s: String) -> AnswerStructure? {
        guard let m = matrixPattern.regex.firstMatch(in: s, range: NSRange(location: 0, length: (s as NSString).length)),
              let bodyRange = Range(m.range(at: 2), in: s) else { return nil }
        var body = String(s[bodyRange])
        if m.range(at: 1).length > 0, (s as NSString).substring(with: m.range(at: 1)) == "array", body.hasPrefix("{"),
           let close = TeX.closingBrace(in: Array(body), open: 0) {
            body = String(Array(body)[(close + 1)...])  // drop the column spec {cc}
        }
        let rows = TeX.splitTopLevel(body, separator: "\\\\")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .map { TeX.splitTopLevel($0, separator: "&").map { parse($0) } }
        return AnswerStructure(kind: .matrix(rows), source: s)
    }

    static let matrixPattern = RegexRule(#"^\\begin\{([pbvBV]?matrix|array)\}(.*)\\end\{\1\}$"#)
    /// What may stand left of `=` in `x = 3`, `a_1 = 3`, `\theta = 3`, `f(x) = 2x`.
    static let variablePrefix = RegexRule(#"^\s*(?:[a-zA-Z](?:_\{?[a-zA-Z0-9]+\}?)?(?:\([a-zA-Z, ]*\))?|\\[a-zA-Z]+)\s*$"#)
    static let membership = RegexRule(#"^\s*[a-zA-Z]\s*\\in\s*"#)
    static let choicePattern = RegexRule(#"^\(?([A-E])\)?$"#)
    static let basePattern = RegexRule(#"^(\d+)_\{?(\d+)\}?$"#)
    /// Three letters in a row outside a command: a word, not a product of variables.
    static let wordPattern = RegexRule(#"(?<![\\a-zA-Z])[a-zA-Z]{3,}"#)

    /// One element: `x = value` and `x \in S` lose their prefix; choices, base numerals, words,
    /// equations, `\pm` pairs and expressions are told apart.
    static func item(_ raw: String) -> AnswerStructure {
        let s = raw.trimmingCharacters(in: .whitespaces)
        let sides = TeX.splitTopLevel(s, separator: "=")
        if sides.count == 2 {
            if variablePrefix.matches(sides[0]), !sides[1].trimmingCharacters(in: .whitespaces).isEmpty { return parse(sides[1]) }
            switch (expression(sides[0]), expression(sides[1])) {
            case let (.success(l), .success(r)): return AnswerStructure(kind: .equation(l, r), source: s)
            case let (.failure(f), _) where f.refused, let (_, .failure(f)) where f.refused: return AnswerStructure(kind: .refused(f.message), source: s)
            default: return AnswerStructure(kind: .text, source: s)
            }
        }
        if membership.matches(s) { return parse(membership.apply(s)) }
        let ns = s as NSString, all = NSRange(location: 0, length: ns.length)
        if let m = choicePattern.regex.firstMatch(in: s, range: all) {
            return AnswerStructure(kind: .choice(Character(ns.substring(with: m.range(at: 1)))), source: s)
        }
        if let m = basePattern.regex.firstMatch(in: s, range: all) {
            return AnswerStructure(kind: .baseNumber(digits: ns.substring(with: m.range(at: 1)), base: ns.substring(with: m.range(at: 2))), source: s)
        }
        if sides.count > 2 || wordPattern.matches(s) { return AnswerStructure(kind: .text, source: s) }
        if s.contains("\\pm") || s.contains("\\mp") {
            let plus = s.replacingOccurrences(of: "\\pm", with: "+").replacingOccurrences(of: "\\mp", with: "-")
            let minus = s.replacingOccurrences(of: "\\pm", with: "-").replacingOccurrences(of: "\\mp", with: "+")
            return AnswerStructure(kind: .collection([item(plus), item(minus)]), source: s)
        }
        switch expression(s) {
        case let .success(e): return AnswerStructure(kind: .expression(e), source: s)
        case let .failure(f) where f.refused: return AnswerStructure(kind: .refused(f.message), source: s)
        case .failure: return AnswerStructure(kind: .text, source: s)
        }
    }

    static func expression(_ s: String) -> Result<Expression, ExpressionParser.Failure> {
        Result { () throws(ExpressionParser.Failure) in try ExpressionParser.parse(s) }
    }
}
