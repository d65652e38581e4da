/// The parsed template. Nodes carry their template line for error messages.
struct Expr: Sendable {
    let line: Int
    let kind: Kind

    indirect enum Kind: Sendable {
        case string(String)
        case integer(Int)
        case float(Double)
        case bool(Bool)
        case none
        case name(String)
        case list([Expr])
        case tuple([Expr])
        case dict([(Expr, Expr)])
        case attribute(Expr, String)
        case item(Expr, Expr)
        case slice(Expr, Expr?, Expr?, Expr?)
        case call(Expr, Arguments)
        case filter(Expr, String, Arguments)
        case test(Expr, String, Arguments, negated: Bool)
        case not(Expr)
        case negate(Expr)
        case plus(Expr)
        case binary(String, Expr, Expr)
        case and(Expr, Expr)
        case or(Expr, Expr)
        case compare(Expr, [(String, Expr)])
        case conditional(then: Expr, condition: Expr, otherwise: Expr?)
    }
}

struct Arguments: Sendable {
    var positional: [Expr] = []
    var keyword: [(String, Expr)] = []
}

/// Where `set` and `for` put values.
indirect enum Target: Sendable {
    case name(String)
    case attribute(String, String)  // namespace.attribute
    case tuple([Target])
}

indirect enum Stmt: Sendable {
    case text(String)
    case output(Expr)
    case ifChain([(Expr, [Stmt])], otherwise: [Stmt])
    case forLoop(line: Int, target: Target, iterable: Expr, condition: Expr?, body: [Stmt], otherwise: [Stmt])
    case set(line: Int, Target, Expr)
    case setBlock(line: Int, Target, [Stmt])
    case macro(line: Int, name: String, parameters: [(String, Expr?)], body: [Stmt])
    case breakLoop
    case continueLoop
    /// `{% generation %}`: transformers' marker for assistant tokens; renders its body.
    case generation([Stmt])
}
