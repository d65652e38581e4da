/// Parses the lexer's pieces into statements, following jinja2's grammar and operator precedence.
struct Parser {
    private let pieces: [Piece]
    private var p = 0
    /// The template's last line, where jinja2 reports a block left open.
    private let lastLine: Int

    init(_ pieces: [Piece], lastLine: Int) {
        self.pieces = pieces
        self.lastLine = lastLine
    }

    /// Tags jinja2 has and this interpreter refuses, with a line-naming syntax error.
    private static let refused: Set<String> = ["call", "filter", "include", "extends", "block", "import", "from", "with",
                                               "do", "autoescape", "trans", "pluralize"]

    mutating func parseTemplate() throws -> [Stmt] {
        let (body, end) = try parseBody(until: [])
        if let end { throw JinjaError.syntax(end.line, "unexpected '\(end.tokens[0].text)'") }
        return body
    }

    private struct EndTag { let tokens: [Token]; let line: Int }

    /// Statements up to one of `ends` (returned, not consumed further), or to the template's end.
    private mutating func parseBody(until ends: Set<String>) throws -> ([Stmt], EndTag?) {
        var body: [Stmt] = []
        while p < pieces.count {
            let piece = pieces[p]
            p += 1
            switch piece {
            case let .text(t, _): body.append(.text(t))
            case let .output(tokens, line):
                var ep = ExprParser(tokens, line: line)
                body.append(.output(try ep.parseTupleOrExpression()))
                try ep.expectEnd()
            case let .statement(tokens, line):
                guard let head = tokens.first, head.kind == .name else { throw JinjaError.syntax(line, "expected a statement name") }
                if ends.contains(head.text) { return (body, EndTag(tokens: tokens, line: line)) }
                body.append(try parseStatement(head.text, tokens, line: line))
            }
        }
        return (body, nil)
    }

    /// A block body closed by `end`, with the tags that may split it (`else`, `elif`).
    private mutating func block(_ opened: String, line: Int, ends: Set<String>) throws -> ([Stmt], EndTag) {
        let (body, end) = try parseBody(until: ends)
        guard let end else {
            throw JinjaError.syntax(lastLine, "unexpected end of template: '\(opened)' on line \(line) is never closed (expected "
                + ends.sorted().map { "'\($0)'" }.joined(separator: " or ") + ")")
        }
        return (body, end)
    }

    private mutating func parseStatement(_ name: String, _ tokens: [Token], line: Int) throws -> Stmt {
        var ep = ExprParser(Array(tokens.dropFirst()), line: line)
        switch name {
        case "if":
            var branches: [(Expr, [Stmt])] = []
            var condition = try ep.parseExpression()
            try ep.expectEnd()
            while true {
                let (body, end) = try block("if", line: line, ends: ["elif", "else", "endif"])
                branches.append((condition, body))
                var endParser = ExprParser(Array(end.tokens.dropFirst()), line: end.line)
                switch end.tokens[0].text {
                case "elif":
                    condition = try endParser.parseExpression()
                    try endParser.expectEnd()
                case "else":
                    try endParser.expectEnd()
                    let (otherwise, close) = try block("if", line: line, ends: ["endif"])
                    try ExprParser(Array(close.tokens.dropFirst()), line: close.line).expectEnd()
                    return .ifChain(branches, otherwise: otherwise)
                default:
                    try endParser.expectEnd()
                    return .ifChain(branches, otherwise: [])
                }
            }
        case "for":
            let target = try ep.parseTarget()
            try ep.expectName("in")
            let iterable = try ep.parseTupleOrExpression(conditional: false)
            var condition: Expr?
            if ep.skipName("if") { condition = try ep.parseExpression() }
            if ep.skipName("recursive") { throw JinjaError.syntax(line, "recursive loops are not supported") }
            try ep.expectEnd()
            let (body, end) = try block("for", line: line, ends: ["else", "endfor"])
            try ExprParser(Array(end.tokens.dropFirst()), line: end.line).expectEnd()
            var otherwise: [Stmt] = []
            if end.tokens[0].text == "else" {
                let (e, close) = try block("for", line: line, ends: ["endfor"])
                try ExprParser(Array(close.tokens.dropFirst()), line: close.line).expectEnd()
                otherwise = e
            }
            return .forLoop(line: line, target: target, iterable: iterable, condition: condition, body: body, otherwise: otherwise)
        case "set":
            let target = try ep.parseTarget(allowAttribute: true)
            if ep.atEnd {
                if case .tuple = target { throw JinjaError.syntax(line, "a block set takes one name") }
                let (body, end) = try block("set", line: line, ends: ["endset"])
                try ExprParser(Array(end.tokens.dropFirst()), line: end.line).expectEnd()
                return .setBlock(line: line, target, body)
            }
            try ep.expectOp("=")
            let value = try ep.parseTupleOrExpression()
            try ep.expectEnd()
            return .set(line: line, target, value)
        case "macro":
            let name = try ep.expectAnyName()
            try ep.expectOp("(")
            var parameters: [(String, Expr?)] = []
            while !ep.skipOp(")") {
                if !parameters.isEmpty { try ep.expectOp(",") }
                if ep.skipOp(")") { break }
                let param = try ep.expectAnyName()
                parameters.append((param, ep.skipOp("=") ? try ep.parseExpression() : nil))
            }
            try ep.expectEnd()
            let (body, end) = try block("macro", line: line, ends: ["endmacro"])
            var endParser = ExprParser(Array(end.tokens.dropFirst()), line: end.line)
            _ = endParser.skipName(name)
            try endParser.expectEnd()
            return .macro(line: line, name: name, parameters: parameters, body: body)
        case "break", "continue":
            try ep.expectEnd()
            return name == "break" ? .breakLoop : .continueLoop
        case "generation":
            try ep.expectEnd()
            let (body, end) = try block("generation", line: line, ends: ["endgeneration"])
            try ExprParser(Array(end.tokens.dropFirst()), line: end.line).expectEnd()
            return .generation(body)
        default:
            if Self.refused.contains(name) { throw JinjaError.syntax(line, "the '\(name)' tag is not supported in chat templates here") }
            throw JinjaError.syntax(line, "unknown tag '\(name)'")
        }
    }
}

/// Parses the tokens of one tag into expressions (jinja2's precedence, lowest first: conditional,
/// or, and, not, comparisons, + -, ~, * / // %, **, unary - +, then filters, tests and postfixes).
struct ExprParser {
    private let tokens: [Token]
    private var i = 0
    private let tagLine: Int

    init(_ tokens: [Token], line: Int) {
        self.tokens = tokens
        tagLine = line
    }

    var atEnd: Bool { i >= tokens.count }
    private var current: Token? { i < tokens.count ? tokens[i] : nil }
    private var line: Int { current?.line ?? tokens.last?.line ?? tagLine }

    private func isOp(_ op: String, _ k: Int = 0) -> Bool {
        i + k < tokens.count && tokens[i + k].kind == .op && tokens[i + k].text == op
    }
    private func isName(_ name: String, _ k: Int = 0) -> Bool {
        i + k < tokens.count && tokens[i + k].kind == .name && tokens[i + k].text == name
    }
    mutating func skipOp(_ op: String) -> Bool { if isOp(op) { i += 1; return true }; return false }
    mutating func skipName(_ name: String) -> Bool { if isName(name) { i += 1; return true }; return false }

    private func describe(_ t: Token?) -> String {
        guard let t else { return "end of tag" }
        return t.kind == .string ? "string literal" : "'\(t.text)'"
    }
    mutating func expectOp(_ op: String) throws {
        guard skipOp(op) else { throw JinjaError.syntax(line, "expected '\(op)', got \(describe(current))") }
    }
    mutating func expectName(_ name: String) throws {
        guard skipName(name) else { throw JinjaError.syntax(line, "expected '\(name)', got \(describe(current))") }
    }
    mutating func expectAnyName() throws -> String {
        guard let t = current, t.kind == .name else { throw JinjaError.syntax(line, "expected a name, got \(describe(current))") }
        i += 1
        return t.text
    }
    func expectEnd() throws {
        if let t = current { throw JinjaError.syntax(t.line, "expected end of tag, got \(describe(t))") }
    }

    /// `for` and `set` targets: names, `a, b` tuples, and (for set) `ns.attr`.
    mutating func parseTarget(allowAttribute: Bool = false) throws -> Target {
        var items: [Target] = []
        repeat {
            if skipOp("(") {
                items.append(try parseTarget())
                try expectOp(")")
                continue
            }
            let name = try expectAnyName()
            if allowAttribute, skipOp(".") {
                items.append(.attribute(name, try expectAnyName()))
            } else {
                items.append(.name(name))
            }
        } while skipOp(",")
        return items.count == 1 ? items[0] : .tuple(items)
    }

    /// An expression, or `a, b` as a tuple (as jinja2 allows in `{{ }}`, `set` and `for`).
    mutating func parseTupleOrExpression(conditional: Bool = true) throws -> Expr {
        let start = line
        let first = try parseExpression(conditional: conditional)
        guard isOp(",") else { return first }
        var items = [first]
        while skipOp(",") {
            if atEnd || isName("if") || isOp(")") { break }
            items.append(try parseExpression(conditional: conditional))
        }
        return Expr(line: start, kind: .tuple(items))
    }

    mutating func parseExpression(conditional: Bool = true) throws -> Expr {
        guard conditional else { return try parseOr() }
        var expr = try parseOr()
        while isName("if") {
            let l = line
            i += 1
            let condition = try parseOr()
            let otherwise: Expr? = skipName("else") ? try parseExpression() : nil
            expr = Expr(line: l, kind: .conditional(then: expr, condition: condition, otherwise: otherwise))
        }
        return expr
    }

    private mutating func parseOr() throws -> Expr {
        var left = try parseAnd()
        while isName("or") {
            let l = line
            i += 1
            left = Expr(line: l, kind: .or(left, try parseAnd()))
        }
        return left
    }

    private mutating func parseAnd() throws -> Expr {
        var left = try parseNot()
        while isName("and") {
            let l = line
            i += 1
            left = Expr(line: l, kind: .and(left, try parseNot()))
        }
        return left
    }

    private mutating func parseNot() throws -> Expr {
        if isName("not") {
            let l = line
            i += 1
            return Expr(line: l, kind: .not(try parseNot()))
        }
        return try parseCompare()
    }

    private mutating func parseCompare() throws -> Expr {
        let l = line
        let left = try parseMath1()
        var ops: [(String, Expr)] = []
        while true {
            if let t = current, t.kind == .op, ["==", "!=", "<", ">", "<=", ">="].contains(t.text) {
                i += 1
                ops.append((t.text, try parseMath1()))
            } else if isName("in") {
                i += 1
                ops.append(("in", try parseMath1()))
            } else if isName("not"), isName("in", 1) {
                i += 2
                ops.append(("not in", try parseMath1()))
            } else {
                break
            }
        }
        return ops.isEmpty ? left : Expr(line: l, kind: .compare(left, ops))
    }

    private mutating func parseBinary(_ ops: Set<String>, _ next: (inout ExprParser) throws -> Expr) throws -> Expr {
        var left = try next(&self)
        while let t = current, t.kind == .op, ops.contains(t.text) {
            i += 1
            left = Expr(line: t.line, kind: .binary(t.text, left, try next(&self)))
        }
        return left
    }

    private mutating func parseMath1() throws -> Expr { try parseBinary(["+", "-"]) { try $0.parseConcat() } }
    private mutating func parseConcat() throws -> Expr { try parseBinary(["~"]) { try $0.parseMath2() } }
    private mutating func parseMath2() throws -> Expr { try parseBinary(["*", "/", "//", "%"]) { try $0.parsePow() } }
    private mutating func parsePow() throws -> Expr { try parseBinary(["**"]) { try $0.parseUnary() } }

    private mutating func parseUnary(withFilter: Bool = true) throws -> Expr {
        let l = line
        var node: Expr
        if skipOp("-") {
            node = Expr(line: l, kind: .negate(try parseUnary(withFilter: false)))
        } else if skipOp("+") {
            node = Expr(line: l, kind: .plus(try parseUnary(withFilter: false)))
        } else {
            node = try parsePrimary()
        }
        node = try parsePostfix(node)
        return withFilter ? try parseFilterExpr(node) : node
    }

    private mutating func parsePrimary() throws -> Expr {
        guard let t = current else { throw JinjaError.syntax(line, "expected an expression, got end of tag") }
        i += 1
        let l = t.line
        switch t.kind {
        case .name:
            switch t.text {
            case "true", "True": return Expr(line: l, kind: .bool(true))
            case "false", "False": return Expr(line: l, kind: .bool(false))
            case "none", "None": return Expr(line: l, kind: .none)
            default: return Expr(line: l, kind: .name(t.text))
            }
        case .string:
            var s = t.text
            while let n = current, n.kind == .string { s += n.text; i += 1 }  // adjacent literals join
            return Expr(line: l, kind: .string(s))
        case .integer:
            guard let v = Int(t.text) else { throw JinjaError.syntax(l, "integer \(t.text) is too large") }
            return Expr(line: l, kind: .integer(v))
        case .float:
            return Expr(line: l, kind: .float(Double(t.text) ?? .nan))
        case .op:
            switch t.text {
            case "(":
                if skipOp(")") { return Expr(line: l, kind: .tuple([])) }
                let e = try parseTupleOrExpression()
                try expectOp(")")
                return e
            case "[":
                var items: [Expr] = []
                while !skipOp("]") {
                    if !items.isEmpty { try expectOp(","); if skipOp("]") { break } }
                    items.append(try parseExpression())
                }
                return Expr(line: l, kind: .list(items))
            case "{":
                var items: [(Expr, Expr)] = []
                while !skipOp("}") {
                    if !items.isEmpty { try expectOp(","); if skipOp("}") { break } }
                    let key = try parseExpression()
                    try expectOp(":")
                    items.append((key, try parseExpression()))
                }
                return Expr(line: l, kind: .dict(items))
            default:
                throw JinjaError.syntax(l, "unexpected '\(t.text)'")
            }
        }
    }

    private mutating func parsePostfix(_ start: Expr) throws -> Expr {
        var node = start
        while let t = current, t.kind == .op {
            if t.text == "." {
                i += 1
                guard let n = current else { throw JinjaError.syntax(t.line, "expected an attribute name after '.'") }
                i += 1
                switch n.kind {
                case .name: node = Expr(line: t.line, kind: .attribute(node, n.text))
                case .integer: node = Expr(line: t.line, kind: .item(node, Expr(line: t.line, kind: .integer(Int(n.text) ?? 0))))
                default: throw JinjaError.syntax(t.line, "expected an attribute name after '.'")
                }
            } else if t.text == "[" {
                i += 1
                node = try parseSubscript(node, line: t.line)
            } else if t.text == "(" {
                i += 1
                node = Expr(line: t.line, kind: .call(node, try parseArguments()))
            } else {
                break
            }
        }
        return node
    }

    private mutating func parseSubscript(_ target: Expr, line l: Int) throws -> Expr {
        var parts: [Expr?] = []
        var isSlice = false
        if !isOp(":") { parts.append(try parseExpression()) } else { parts.append(nil) }
        while skipOp(":") {
            isSlice = true
            parts.append(isOp(":") || isOp("]") ? nil : try parseExpression())
        }
        try expectOp("]")
        guard isSlice else { return Expr(line: l, kind: .item(target, parts[0]!)) }
        guard parts.count <= 3 else { throw JinjaError.syntax(l, "a slice takes at most start:stop:step") }
        return Expr(line: l, kind: .slice(target, parts[0], parts.count > 1 ? parts[1] : nil, parts.count > 2 ? parts[2] : nil))
    }

    /// Call arguments after '(' up to and including ')'.
    private mutating func parseArguments() throws -> Arguments {
        var args = Arguments()
        var first = true
        while !skipOp(")") {
            if !first { try expectOp(","); if skipOp(")") { break } }
            first = false
            if isOp("*") || isOp("**") { throw JinjaError.syntax(line, "*args and **kwargs in calls are not supported") }
            if let t = current, t.kind == .name, isOp("=", 1) {
                i += 2
                args.keyword.append((t.text, try parseExpression()))
            } else {
                if !args.keyword.isEmpty { throw JinjaError.syntax(line, "a positional argument follows a keyword argument") }
                args.positional.append(try parseExpression())
            }
        }
        return args
    }

    private mutating func parseFilterExpr(_ start: Expr) throws -> Expr {
        var node = start
        while true {
            if let t = current, t.kind == .op, t.text == "|" {
                i += 1
                var name = try expectAnyName()
                while skipOp(".") { name += "." + (try expectAnyName()) }
                let args = skipOp("(") ? try parseArguments() : Arguments()
                node = Expr(line: t.line, kind: .filter(node, name, args))
            } else if isName("is") {
                let l = line
                i += 1
                let negated = skipName("not")
                var name = try expectAnyName()
                while skipOp(".") { name += "." + (try expectAnyName()) }
                var args = Arguments()
                if skipOp("(") {
                    args = try parseArguments()
                } else if let t = current, [.name, .string, .integer, .float].contains(t.kind) || (t.kind == .op && ["[", "{"].contains(t.text)),
                          !(t.kind == .name && ["else", "or", "and"].contains(t.text)) {
                    if t.kind == .name && t.text == "is" { throw JinjaError.syntax(l, "tests cannot be chained with 'is'") }
                    args.positional = [try parsePostfix(try parsePrimary())]
                }
                node = Expr(line: l, kind: .test(node, name, args, negated: negated))
            } else if isOp("(") {
                let l = line
                i += 1
                node = Expr(line: l, kind: .call(node, try parseArguments()))
            } else {
                return node
            }
        }
    }
}
