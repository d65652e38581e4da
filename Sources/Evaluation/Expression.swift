import Foundation

/// A parsed math answer: numbers, variables, constants and the operations answers use.
indirect enum Expression: Equatable, Sendable {
    enum Constant: String, Sendable { case pi, e, i, infinity }
    enum Function: String, Sendable {
        case sin, cos, tan, cot, sec, csc, arcsin, arccos, arctan, ln, log, exp, abs, floor, ceil
    }
    enum Operator: Sendable { case add, subtract, multiply, divide, power }

    case number(Rational)
    /// A literal too long for 64-bit exact arithmetic.
    case approximate(Double)
    case variable(String)
    case constant(Constant)
    case negate(Expression)
    case binary(Operator, Expression, Expression)
    case function(Function, Expression)
    /// `\sqrt[index]{radicand}`; a plain `\sqrt` has index 2.
    case root(Expression, index: Expression)
    case logarithm(Expression, base: Expression)
    case factorial(Expression)
    case binomial(Expression, Expression)

    /// Free variables, sorted, for choosing sample points.
    var variables: Set<String> {
        switch self {
        case let .variable(name): [name]
        case .number, .approximate, .constant: []
        case let .negate(x), let .function(_, x), let .factorial(x): x.variables
        case let .binary(_, a, b), let .root(a, b), let .logarithm(a, b), let .binomial(a, b): a.variables.union(b.variables)
        }
    }
}

/// An evaluated expression: exact while only rational arithmetic was needed, so that
/// `1/3` and `0.333` stay different and `\frac{1}{2}` equals `0.5` without tolerance.
enum Value: Equatable, Sendable {
    case exact(Rational)
    case approximate(Complex)

    var complex: Complex {
        switch self {
        case let .exact(r): Complex(r.doubleValue)
        case let .approximate(z): z
        }
    }

    var exact: Rational? {
        if case let .exact(r) = self { return r }
        return nil
    }
}

extension Expression {
    /// The value with variables bound by `env`; nil where undefined (division by zero, an
    /// unbound variable, a factorial of a non-integer).
    func evaluate(_ env: [String: Complex] = [:]) -> Value? {
        switch self {
        case let .number(r): return .exact(r)
        case let .approximate(d): return .approximate(Complex(d))
        case let .variable(name): return env[name].map(Value.approximate)
        case let .constant(c):
            switch c {
            case .pi: return .approximate(Complex(Double.pi))
            case .e: return .approximate(Complex(M_E))
            case .i: return .approximate(Complex.i)
            case .infinity: return .approximate(Complex(Double.infinity))
            }
        case let .negate(x):
            guard let v = x.evaluate(env) else { return nil }
            if let r = v.exact { return .exact(-r) }
            return .approximate(-v.complex)
        case let .binary(op, a, b):
            guard let x = a.evaluate(env), let y = b.evaluate(env) else { return nil }
            return Expression.apply(op, x, y)
        case let .function(f, x):
            guard let v = x.evaluate(env) else { return nil }
            return Expression.apply(f, v)
        case let .root(x, index):
            guard let v = x.evaluate(env), let n = index.evaluate(env) else { return nil }
            if let r = v.exact, let k = n.exact, k.isInteger, let root = r.root(k.numerator) { return .exact(root) }
            return .approximate(Complex.root(v.complex, n.complex))
        case let .logarithm(x, base):
            guard let v = x.evaluate(env), let b = base.evaluate(env) else { return nil }
            return .approximate(Complex.log(v.complex) / Complex.log(b.complex))
        case let .factorial(x):
            guard let n = x.evaluate(env)?.exact, n.isInteger, (0...20).contains(n.numerator) else { return nil }
            return .exact(Rational((1...max(1, n.numerator)).reduce(1, *))!)
        case let .binomial(a, b):
            guard let n = a.evaluate(env)?.exact, let k = b.evaluate(env)?.exact, n.isInteger, k.isInteger else { return nil }
            return Expression.binomial(n.numerator, k.numerator).map(Value.exact)
        }
    }

    static func apply(_ op: Operator, _ x: Value, _ y: Value) -> Value? {
        if let a = x.exact, let b = y.exact {
            let exact: Rational?
            switch op {
            case .add: exact = a.adding(b)
            case .subtract: exact = a.subtracting(b)
            case .multiply: exact = a.multiplied(by: b)
            case .divide:
                if b == .zero { return nil }
                exact = a.divided(by: b)
            case .power: exact = power(a, b)
            }
            if let exact { return .exact(exact) }
        }
        let a = x.complex, b = y.complex
        switch op {
        case .add: return .approximate(a + b)
        case .subtract: return .approximate(a - b)
        case .multiply: return .approximate(a * b)
        case .divide:
            if b.re == 0 && b.im == 0 { return nil }
            return .approximate(a / b)
        case .power: return .approximate(Complex.pow(a, b))
        }
    }

    /// Exact powers: integer exponents, and p/q exponents of perfect q-th powers (8^(2/3) = 4).
    static func power(_ base: Rational, _ exponent: Rational) -> Rational? {
        guard abs(exponent.numerator) <= 256 else { return nil }
        if exponent.isInteger { return base.power(exponent.numerator) }
        return base.root(exponent.denominator)?.power(exponent.numerator)
    }

    static func apply(_ f: Function, _ v: Value) -> Value? {
        if let r = v.exact {
            switch f {
            case .abs: return .exact(r.numerator < 0 ? -r : r)
            case .floor, .ceil:
                var q = r.numerator / r.denominator  // truncates toward zero
                if f == .floor, r.numerator < 0, !r.isInteger { q -= 1 }
                if f == .ceil, r.numerator > 0, !r.isInteger { q += 1 }
                return .exact(Rational(q)!)
            default: break
            }
        }
        let z = v.complex
        switch f {
        case .sin: return .approximate(Complex.sin(z))
        case .cos: return .approximate(Complex.cos(z))
        case .tan: return .approximate(Complex.sin(z) / Complex.cos(z))
        case .cot: return .approximate(Complex.cos(z) / Complex.sin(z))
        case .sec: return .approximate(Complex(1) / Complex.cos(z))
        case .csc: return .approximate(Complex(1) / Complex.sin(z))
        case .ln: return .approximate(Complex.log(z))
        case .log: return .approximate(Complex.log(z) / Complex(Foundation.log(10)))
        case .exp: return .approximate(Complex.exp(z))
        case .abs: return .approximate(Complex(z.magnitude))
        case .arcsin, .arccos, .arctan, .floor, .ceil:
            guard z.isReal else { return nil }
            let fn: (Double) -> Double = switch f {
            case .arcsin: Foundation.asin
            case .arccos: Foundation.acos
            case .arctan: Foundation.atan
            case .floor: Foundation.floor
            default: Foundation.ceil
            }
            return .approximate(Complex(fn(z.re)))
        }
    }

    /// C(n, k) by the multiplicative formula, each step exact; nil on overflow.
    static func binomial(_ n: Int, _ k: Int) -> Rational? {
        guard n >= 0 else { return nil }
        guard (0...n).contains(k) else { return .zero }
        var result = Rational.one
        for j in 0..<min(k, n - k) {
            guard let r = result.multiplied(by: Rational(n - j, j + 1)!) else { return nil }
            result = r
        }
        return result
    }
}
