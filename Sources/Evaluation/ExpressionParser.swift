import Foundation

/// A recursive-descent parser for the LaTeX (and plain-text) math that answers are written
/// in: `+ - * / ^ !`, `\cdot \times \div`, `\frac`, `\sqrt[n]{}`, `\binom`, `|x|`, floors,
/// the usual functions, `\pi`, `e`, `i`, `\infty`, and implicit multiplication (`2\sqrt{3}`,
/// `3\pi`, `2x`, `(a+5)(b+2)`). It expects normalised input (AnswerNormalizer): spacing
/// commands, `\left`/`\right` and text wrappers already removed.
struct ExpressionParser {
    enum Token: Equatable {
        case number(String)
        case letter(Character)
        /// `\name`, or the escaped character for `\{`, `\}`, `\|`.
        case command(String)
        case symbol(Character)
    }

    struct Failure: Error, Equatable {
        let message: String
        /// The text is past one of GraderLimits: the grader refuses it rather than reading it as text.
        var refused = false
    }

    static let functions: [String: Expression.Function] = [
        "sin": .sin, "cos": .cos, "tan": .tan, "cot": .cot, "sec": .sec, "csc": .csc,
        "arcsin": .arcsin, "arccos": .arccos, "arctan": .arctan, "ln": .ln, "log": .log, "exp": .exp,
    ]

    static let inverses: [Expression.Function: Expression.Function] = [.sin: .arcsin, .cos: .arccos, .tan: .arctan]

    private let tokens: [Token]
    private var position = 0
    /// Inside `|...|` a bar closes the group instead of opening a new one.
    private var absoluteDepth = 0
    /// Nested groups, arguments, bars, signs and exponents being parsed: the recursion depth,
    /// bounded by GraderLimits.nesting.
    private var depth = 0

    static func parse(_ text: String) throws(Failure) -> Expression {
        var parser = ExpressionParser(tokens: try tokenize(text))
        guard !parser.tokens.isEmpty else { throw Failure(message: "empty expression") }
        guard parser.tokens.count <= GraderLimits.expressionTokens else {
            throw Failure(message: "has \(parser.tokens.count) tokens, over the \(GraderLimits.expressionTokens) the grader parses", refused: true)
        }
        let e = try parser.expression()
        guard parser.position == parser.tokens.count else {
            throw Failure(message: "unexpected \(parser.describe(parser.tokens[parser.position])) in \(text)")
        }
        return e
    }

    private init(tokens: [Token]) { self.tokens = tokens }

    static func tokenize(_ text: String) throws(Failure) -> [Token] {
        let chars = Array(text)
        var tokens: [Token] = [], i = 0
        while i < chars.count {
            let c = chars[i]
            if c.isWhitespace {
                i += 1
            } else if c.isASCIIDigit || (c == "." && i + 1 < chars.count && chars[i + 1].isASCIIDigit) {
                var j = i
                while j < chars.count, chars[j].isASCIIDigit || chars[j] == "." { j += 1 }
                // "1.5e3" is scientific notation; "2e" alone is 2 times Euler's e.
                if j + 1 < chars.count, chars[j] == "e" || chars[j] == "E" {
                    var k = j + 1
                    if k < chars.count, "+-".contains(chars[k]) { k += 1 }
                    if k < chars.count, chars[k].isASCIIDigit {
                        while k < chars.count, chars[k].isASCIIDigit { k += 1 }
                        j = k
                    }
                }
                tokens.append(.number(String(chars[i..<j])))
                i = j
            } else if c == "\\" {
                var j = i + 1
                while j < chars.count, chars[j].isLetter { j += 1 }
                if j == i + 1 {
                    guard j < chars.count else { throw Failure(message: "a lone backslash") }
                    tokens.append(.command(String(chars[j])))
                    i = j + 1
                } else {
                    tokens.append(.command(String(chars[(i + 1)..<j])))
                    i = j
                }
            } else if c.isLetter {
                tokens.append(.letter(c))
                i += 1
            } else if "+-*/^_()[]{}|!".contains(c) {
                tokens.append(.symbol(c))
                i += 1
            } else {
                throw Failure(message: "'\(c)' is not part of an expression")
            }
        }
        return tokens
    }

    // MARK: grammar

    private var current: Token? { position < tokens.count ? tokens[position] : nil }

    private mutating func take(_ t: Token) -> Bool {
        guard current == t else { return false }
        position += 1
        return true
    }

    /// One level deeper; the caller undoes it with `defer { depth -= 1 }`.
    private mutating func descend() throws(Failure) {
        depth += 1
        guard depth <= GraderLimits.nesting else {
            throw Failure(message: "nests deeper than \(GraderLimits.nesting) levels", refused: true)
        }
    }

    private mutating func expect(_ t: Token) throws(Failure) {
        guard take(t) else {
            throw Failure(message: "expected \(describe(t)), found \(current.map(describe) ?? "the end")")
        }
    }

    static func spelling(_ t: Token) -> String {
        switch t {
        case let .number(s): s
        case let .letter(c), let .symbol(c): String(c)
        case let .command(s): "\\\(s)"
        }
    }

    private func describe(_ t: Token) -> String {
        switch t {
        case let .number(s): "number \(s)"
        case let .letter(c): "'\(c)'"
        case let .command(s): "\\\(s)"
        case let .symbol(c): "'\(c)'"
        }
    }

    mutating func expression() throws(Failure) -> Expression {
        var lhs = try term()
        while true {
            if take(.symbol("+")) { lhs = .binary(.add, lhs, try term()) }
            else if take(.symbol("-")) { lhs = .binary(.subtract, lhs, try term()) }
            else { return lhs }
        }
    }

    private mutating func term() throws(Failure) -> Expression {
        var lhs = try signed()
        while true {
            if take(.symbol("*")) || take(.command("cdot")) || take(.command("times")) {
                lhs = .binary(.multiply, lhs, try signed())
            } else if take(.symbol("/")) || take(.command("div")) {
                lhs = .binary(.divide, lhs, try signed())
            } else if startsImplicitFactor {
                lhs = .binary(.multiply, lhs, try power())
            } else {
                return lhs
            }
        }
    }

    /// A factor may follow another without an operator unless it is a number ("2 3" is not 6).
    private var startsImplicitFactor: Bool {
        switch current {
        case .letter: true
        case .symbol("("), .symbol("{"): true
        case .symbol("|"): absoluteDepth == 0
        case let .command(name):
            ["frac", "sqrt", "binom", "pi", "infty", "lfloor", "lceil"].contains(name) || ExpressionParser.functions[name] != nil
        default: false
        }
    }

    private mutating func signed() throws(Failure) -> Expression {
        if current == .symbol("-") || current == .symbol("+") {
            try descend()
            defer { depth -= 1 }
            if take(.symbol("-")) { return .negate(try signed()) }
            position += 1
            return try signed()
        }
        return try power()
    }

    private mutating func power() throws(Failure) -> Expression {
        let base = try postfix()
        guard take(.symbol("^")) else { return base }
        return .binary(.power, base, try exponent())
    }

    /// `^{...}`, `^-1`, `^23` (a digit run, as plain text means it), `^x`, `^\pi`, `^(...)`.
    private mutating func exponent() throws(Failure) -> Expression {
        try descend()
        defer { depth -= 1 }
        if take(.symbol("-")) { return .negate(try exponent()) }
        if take(.symbol("+")) { return try exponent() }
        let e = try postfix()
        if take(.symbol("^")) { return .binary(.power, e, try exponent()) }
        return e
    }

    private mutating func postfix() throws(Failure) -> Expression {
        var e = try primary()
        while take(.symbol("!")) { e = .factorial(e) }
        return e
    }

    /// A TeX argument: a braced group or a single token.
    private mutating func argument() throws(Failure) -> Expression {
        if take(.symbol("{")) {
            let e = try expression()
            try expect(.symbol("}"))
            return e
        }
        return try primary()
    }

    private mutating func primary() throws(Failure) -> Expression {
        guard let t = current else { throw Failure(message: "the expression ends too early") }
        try descend()
        defer { depth -= 1 }
        position += 1
        switch t {
        case let .number(s):
            if let r = NumberParser.decimal(s) { return .number(r) }
            if let b = NumberParser.integer(s) { return b.rational.map(Expression.number) ?? .large(b) }
            guard let d = NumberParser.approximate(s) else { throw Failure(message: "bad number \(s)") }
            // a long decimal is approximate, as it always was, unless its double overflows or underflows
            if d.isFinite, Swift.abs(d) >= .leastNormalMagnitude { return .approximate(d) }
            if let b = NumberParser.exactDecimal(s) { return b.rational.map(Expression.number) ?? .large(b) }
            throw Failure(message: "has a number too large to evaluate (\(s.prefix(40)): past floating point, and over \(GraderLimits.exactBits) bits exactly)",
                          refused: true)
        case let .letter(c):
            if take(.symbol("_")) {
                // x_1, a_{n}: a subscripted name is one variable.
                let sub: String
                switch current {
                case .symbol("{"):
                    // spelled as its tokens without the braces, so a_{n} and a_n are one variable
                    let start = position
                    _ = try argument()
                    sub = tokens[(start + 1)..<(position - 1)].map(ExpressionParser.spelling).joined()
                case let .number(s): position += 1; sub = s
                case let .letter(l): position += 1; sub = String(l)
                default: throw Failure(message: "bad subscript after \(c)")
                }
                return .variable("\(c)_\(sub)")
            }
            if c == "e" { return .constant(.e) }
            if c == "i" { return .constant(.i) }
            return .variable(String(c))
        case .symbol("("), .symbol("["), .symbol("{"):
            let close: Character = t == .symbol("(") ? ")" : t == .symbol("[") ? "]" : "}"
            let saved = absoluteDepth
            absoluteDepth = 0
            let e = try expression()
            absoluteDepth = saved
            try expect(.symbol(close))
            return e
        case .symbol("|"):
            absoluteDepth += 1
            let e = try expression()
            absoluteDepth -= 1
            try expect(.symbol("|"))
            return .function(.abs, e)
        case let .command(name):
            return try command(name)
        default:
            throw Failure(message: "unexpected \(describe(t))")
        }
    }

    private mutating func command(_ name: String) throws(Failure) -> Expression {
        switch name {
        case "frac": return .binary(.divide, try argument(), try argument())
        case "binom": return .binomial(try argument(), try argument())
        case "sqrt":
            var index = Expression.number(Rational(2)!)
            if take(.symbol("[")) {
                index = try expression()
                try expect(.symbol("]"))
            }
            return .root(try argument(), index: index)
        case "pi": return .constant(.pi)
        case "infty": return .constant(.infinity)
        case "lfloor", "lceil":
            let e = try expression()
            try expect(.command(name == "lfloor" ? "rfloor" : "rceil"))
            return .function(name == "lfloor" ? .floor : .ceil, e)
        default:
            if name == "log", take(.symbol("_")) {
                let base = try argument()
                return .logarithm(try functionArgument(), base: base)
            }
            guard let f = ExpressionParser.functions[name] else { throw Failure(message: "unknown command \\\(name)") }
            // \sin^2 x means (\sin x)^2, but \sin^{-1} x is arcsin x.
            if take(.symbol("^")) {
                let p = try exponent()
                if p == .negate(.number(.one)), let inverse = ExpressionParser.inverses[f] {
                    return .function(inverse, try functionArgument())
                }
                return .binary(.power, .function(f, try functionArgument()), p)
            }
            return .function(f, try functionArgument())
        }
    }

    /// `\sin(x)`, `\sin{x}`, or `\cot x` / `\sin 2x` (the following factor, signed).
    private mutating func functionArgument() throws(Failure) -> Expression {
        if case .symbol("(") = current { return try power() }
        if case .symbol("{") = current { return try power() }
        if take(.symbol("-")) {
            try descend()
            defer { depth -= 1 }
            return .negate(try functionArgument())
        }
        var e = try power()
        // `\sin 2x`: a number followed by letters belongs to the argument.
        if case .number = tokens[position - 1], case .letter = current { e = .binary(.multiply, e, try power()) }
        return e
    }
}
