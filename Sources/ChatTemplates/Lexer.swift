import Foundation

/// One token inside `{{ }}` or `{% %}`.
struct Token: Equatable {
    enum Kind: Equatable { case name, string, integer, float, op }
    let kind: Kind
    let text: String  // a name, an operator, or a string literal's decoded value
    let line: Int
}

/// The template split into text and tags, comments gone and whitespace control applied.
enum Piece {
    case text(String, line: Int)
    case output([Token], line: Int)
    case statement([Token], line: Int)
}

/// Splits a template the way jinja2's lexer does with Hugging Face's settings: trim_blocks and
/// lstrip_blocks on (transformers' `_compile_jinja_template`), `-`/`+` on either side of a tag,
/// newlines normalised to "\n", and one trailing newline dropped (keep_trailing_newline off).
struct Lexer {
    private let s: [Unicode.Scalar]
    private var i = 0
    /// The current line; after `pieces()`, the template's last line.
    private(set) var line = 1
    let trimBlocks: Bool
    let lstripBlocks: Bool

    init(_ source: String, trimBlocks: Bool = true, lstripBlocks: Bool = true) {
        var text = source.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        if text.hasSuffix("\n") { text.removeLast() }
        s = Array(text.unicodeScalars)
        self.trimBlocks = trimBlocks
        self.lstripBlocks = lstripBlocks
    }

    private func at(_ k: Int) -> Unicode.Scalar? { k < s.count ? s[k] : nil }
    private func starts(_ lit: String, _ k: Int) -> Bool {
        var k = k
        for u in lit.unicodeScalars { guard at(k) == u else { return false }; k += 1 }
        return true
    }
    private mutating func advance(to k: Int) {
        while i < k { if s[i] == "\n" { line += 1 }; i += 1 }
    }

    mutating func pieces() throws -> [Piece] {
        var out: [Piece] = []
        var lineStarting = true  // the previous tag's end consumed a newline (or this is the start)
        var stripNext = false  // the previous tag ended with '-'
        while i < s.count {
            // The next tag opener.
            var k = i
            while k < s.count, !(s[k] == "{" && (at(k + 1) == "{" || at(k + 1) == "%" || at(k + 1) == "#")) { k += 1 }
            var text = String(String.UnicodeScalarView(s[i..<k]))
            let textLine = line
            if stripNext { text = String(String.UnicodeScalarView(text.unicodeScalars.drop(while: isPythonSpace))) }
            if k == s.count {
                if !text.isEmpty { out.append(.text(text, line: textLine)) }
                advance(to: k)
                break
            }
            let kind = s[k + 1]
            let sign = at(k + 2)
            if sign == "-" {
                text = String(String.UnicodeScalarView(rstrip(Array(text.unicodeScalars))))
            } else if sign != "+", lstripBlocks, kind != "{" {
                // Only spaces between the line's start and a block or comment tag: drop them.
                let scalars = Array(text.unicodeScalars)
                let lpos = (scalars.lastIndex(of: "\n") ?? -1) + 1
                if (lpos > 0 || lineStarting), lpos < scalars.count, scalars[lpos...].allSatisfy(isPythonSpace) {
                    text = String(String.UnicodeScalarView(scalars[..<lpos]))
                }
            }
            if !text.isEmpty { out.append(.text(text, line: textLine)) }
            advance(to: k)
            let tagLine = line
            advance(to: k + 2 + (sign == "-" || sign == "+" ? 1 : 0))
            switch kind {
            case "#":
                var e = i
                while e < s.count, !(s[e] == "#" && at(e + 1) == "}") { e += 1 }
                guard e < s.count else { throw JinjaError.syntax(tagLine, "missing end of comment tag") }
                let minus = e > i && s[e - 1] == "-"
                let plus = e > i && s[e - 1] == "+"
                advance(to: e + 2)
                (stripNext, lineStarting) = closeTag(minus: minus, plus: plus, trims: trimBlocks)
            case "{":
                let (tokens, minus) = try tokens(until: "}}", tagLine: tagLine)
                out.append(.output(tokens, line: tagLine))
                (stripNext, lineStarting) = closeTag(minus: minus, plus: false, trims: false)
            default:
                let (tokens, minus, plus) = try blockTokens(tagLine: tagLine)
                if tokens.first?.text == "raw", tokens.count == 1 {
                    throw JinjaError.syntax(tagLine, "{% raw %} is not supported")
                }
                out.append(.statement(tokens, line: tagLine))
                (stripNext, lineStarting) = closeTag(minus: minus, plus: plus, trims: trimBlocks)
            }
        }
        return out
    }

    /// After a tag's closer: '-' strips what follows (done on the next text); otherwise
    /// trim_blocks eats one newline. Returns (stripNext, lineStarting).
    private mutating func closeTag(minus: Bool, plus: Bool, trims: Bool) -> (Bool, Bool) {
        if minus {
            var k = i
            while k < s.count, isPythonSpace(s[k]) { k += 1 }
            let endsWithNewline = k > i && s[k - 1] == "\n"
            advance(to: k)
            return (false, endsWithNewline)
        }
        if trims, !plus, at(i) == "\n" {
            advance(to: i + 1)
            return (false, true)
        }
        return (false, false)
    }

    private func rstrip(_ a: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var e = a.count
        while e > 0, isPythonSpace(a[e - 1]) { e -= 1 }
        return Array(a[..<e])
    }

    private mutating func blockTokens(tagLine: Int) throws -> ([Token], Bool, Bool) {
        let (tokens, minus) = try tokens(until: "%}", tagLine: tagLine)
        return (tokens, minus, lastPlus)
    }

    private var lastPlus = false

    /// Tokens up to the closer `end` (at bracket depth 0, as jinja2 balances brackets), and
    /// whether the closer had a '-' (or, for blocks, a '+', kept in `lastPlus`).
    private mutating func tokens(until end: String, tagLine: Int) throws -> ([Token], Bool) {
        var tokens: [Token] = []
        var depth = 0
        lastPlus = false
        while true {
            while let u = at(i), isPythonSpace(u) { advance(to: i + 1) }
            guard let u = at(i) else {
                throw JinjaError.syntax(tagLine, "unexpected end of template: missing '\(end)'")
            }
            if depth == 0 {
                if starts(end, i) { advance(to: i + 2); return (tokens, false) }
                if u == "-", starts(end, i + 1) { advance(to: i + 3); return (tokens, true) }
                if u == "+", end == "%}", starts(end, i + 1) { advance(to: i + 3); lastPlus = true; return (tokens, false) }
            }
            let tokLine = line
            if u == "_" || u.properties.isAlphabetic && u.isASCII {
                var e = i
                while let c = at(e), c == "_" || (c.isASCII && (c.properties.isAlphabetic || c.properties.numericType != nil)) { e += 1 }
                tokens.append(Token(kind: .name, text: String(String.UnicodeScalarView(s[i..<e])), line: tokLine))
                advance(to: e)
            } else if u.isASCII, u.properties.numericType != nil {
                tokens.append(number(line: tokLine))
            } else if u == "'" || u == "\"" {
                tokens.append(Token(kind: .string, text: try string(quote: u, line: tokLine), line: tokLine))
            } else {
                let ops = ["//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", ".", ",", ":", "|",
                           "(", ")", "[", "]", "{", "}"]
                guard let op = ops.first(where: { starts($0, i) }) else {
                    throw JinjaError.syntax(tokLine, "unexpected character '\(Character(u))'")
                }
                if "([{".contains(op) { depth += 1 }
                if ")]}".contains(op) {
                    guard depth > 0 else { throw JinjaError.syntax(tokLine, "unexpected '\(op)'") }
                    depth -= 1
                }
                tokens.append(Token(kind: .op, text: op, line: tokLine))
                advance(to: i + op.unicodeScalars.count)
            }
        }
    }

    private mutating func number(line: Int) -> Token {
        func digits(_ k: inout Int) { while let c = at(k), c.isASCII, c.properties.numericType != nil || c == "_" { k += 1 } }
        var e = i
        digits(&e)
        var isFloat = false
        if at(e) == ".", let c = at(e + 1), c.isASCII, c.properties.numericType != nil { isFloat = true; e += 1; digits(&e) }
        if at(e) == "e" || at(e) == "E" {
            var k = e + 1
            if at(k) == "+" || at(k) == "-" { k += 1 }
            if let c = at(k), c.isASCII, c.properties.numericType != nil { isFloat = true; e = k; digits(&e) }
        }
        let text = String(String.UnicodeScalarView(s[i..<e])).replacingOccurrences(of: "_", with: "")
        advance(to: e)
        return Token(kind: isFloat ? .float : .integer, text: text, line: line)
    }

    /// A string literal, decoded as jinja2 does (Python's unicode-escape; unknown escapes kept).
    private mutating func string(quote: Unicode.Scalar, line: Int) throws -> String {
        var out = String.UnicodeScalarView()
        var k = i + 1
        while true {
            guard let c = at(k) else { throw JinjaError.syntax(line, "unterminated string") }
            if c == quote { break }
            if c == "\\", let n = at(k + 1) {
                k += 2
                switch n {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "\\": out.append("\\")
                case "'": out.append("'")
                case "\"": out.append("\"")
                case "a": out.append("\u{07}")
                case "b": out.append("\u{08}")
                case "f": out.append("\u{0C}")
                case "v": out.append("\u{0B}")
                case "\n": break
                case "x", "u", "U":
                    let width = n == "x" ? 2 : n == "u" ? 4 : 8
                    let hex = String(String.UnicodeScalarView(s[k..<min(k + width, s.count)]))
                    guard hex.count == width, let v = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(v) else {
                        throw JinjaError.syntax(line, "bad \\\(n) escape in string")
                    }
                    out.append(scalar)
                    k += width
                default:
                    out.append("\\")
                    out.append(n)
                }
                continue
            }
            out.append(c)
            k += 1
        }
        advance(to: k + 1)
        return String(out)
    }
}
