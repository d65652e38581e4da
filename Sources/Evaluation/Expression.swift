import Foundation

/// A parsed math answer: numbers, variables, constants and the operations answers use.
indirect enum Expression: Equatable, Sendable {
    enum Constant: String, Sendable { case pi, e, i, infinity }
    enum Function: String, Sendable {
        case sin, cos, tan, cot, sec, csc, arcsin, arccos, arctan, ln, log, exp, abs, floor, ceil
    }
    enum Operator: Sendable { case add, subtract, multiply, divide, power }

    case number(Rational)
    /// An exact literal past 64 bits: an integer of any length, or a decimal whose double would
    /// overflow or underflow (`1e400`).
    case large(BigRational)
    /// A decimal literal too long for 64-bit exact arithmetic, within floating point's range.
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
        case .number, .large, .approximate, .constant: []
        case let .negate(x), let .function(_, x), let .factorial(x): x.variables
        case let .binary(_, a, b), let .root(a, b), let .logarithm(a, b), let .binomial(a, b): a.variables.union(b.variables)
        }
    }
}

/// An evaluated expression: exact while only rational arithmetic was needed, so that
/// `1/3` and `0.333` stay different and `\frac{1}{2}` equals `0.5` without tolerance.
enum Value: Equatable, Sendable {
    case exact(Rational)
    /// An exact value past 64 bits. `tolerant` marks one computed past 64 bits from values that
    /// fit them (or from other tolerant values) while its double stays in range: the grader once
    /// compared those in floating point, and two of them still compare within the relative
    /// tolerance (`10^{30} + 1` is `10^{30}`). Every other pair of exact values compares exactly,
    /// so integer literals of any length differ in their last digit and `2^{1024}` is not `3^{1024}`.
    case large(BigRational, tolerant: Bool)
    case approximate(Complex)
    /// A value the grader cannot hold: past floating point's range, and with no exact form
    /// within GraderLimits.exactBits (`2^{10^9}`, `10^{-10^9}`, `e^{10^6}`). Equal to nothing.
    case tooLarge

    var complex: Complex {
        switch self {
        case let .exact(r): Complex(r.doubleValue)
        case let .large(b, _): Complex(b.doubleValue)
        case let .approximate(z): z
        case .tooLarge: Complex(.nan)
        }
    }

    var exact: Rational? {
        if case let .exact(r) = self { return r }
        return nil
    }

    /// The exact value, of any size.
    var big: BigRational? {
        switch self {
        case let .exact(r): BigRational(r)
        case let .large(b, _): b
        case .approximate, .tooLarge: nil
        }
    }

    var tolerant: Bool {
        if case let .large(_, t) = self { return t }
        return false
    }

    /// False for an exact value whose double overflows, underflows or loses precision
    /// (subnormal): floating point cannot stand in for it.
    var inDoubleRange: Bool {
        guard case let .large(b, _) = self else { return self != .tooLarge }
        return b.inDoubleRange
    }

    var description: String {
        switch self {
        case let .exact(r): r.description
        case let .large(b, _): b.description
        case let .approximate(z): z.description
        case .tooLarge: "too large"
        }
    }

    /// An exact result: a Rational when it fits one, refused past GraderLimits.exactBits (or
    /// past `allowedBits`, which lets arithmetic on a longer literal go on). `tolerant` nil:
    /// computed from 64-bit values, tolerant when its double is in range.
    static func exactResult(_ b: BigRational, tolerant: Bool?, allowedBits: Int = GraderLimits.exactBits) -> Value {
        if let r = b.rational { return .exact(r) }
        guard b.bitWidth <= max(GraderLimits.exactBits, allowedBits) else { return .tooLarge }
        return .large(b, tolerant: tolerant ?? b.inDoubleRange)
    }

    /// A floating-point result of finite operands that overflowed (an infinite or NaN part) or
    /// underflowed (`underflow`: the result of a multiplication, division or power of non-zero
    /// operands is zero or subnormal) is tooLarge; infinite operands (`\infty`) give what they give.
    static func approximate(_ z: Complex, of a: Complex, _ b: Complex, underflow: Bool) -> Value {
        guard a.isFinite, b.isFinite else { return .approximate(z) }
        if !z.isFinite || z.isNaN { return .tooLarge }
        if underflow, z.magnitude < .leastNormalMagnitude, a.magnitude != 0, b.magnitude != 0 { return .tooLarge }
        return .approximate(z)
    }
}

extension Expression {
    /// The value with variables bound by `env`; nil where undefined (division by zero, an
    /// unbound variable, a factorial of a non-integer).
    func evaluate(_ env: [String: Complex] = [:]) -> Value? {
        switch self {
        case let .number(r): return .exact(r)
        case let .large(b): return .large(b, tolerant: false)
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
            switch v {
            case let .exact(r): return .exact(-r)
            case let .large(b, t): return .large(-b, tolerant: t)
            case let .approximate(z): return .approximate(-z)
            case .tooLarge: return .tooLarge
            }
        case let .binary(op, a, b):
            guard let x = a.evaluate(env), let y = b.evaluate(env) else { return nil }
            return Expression.apply(op, x, y)
        case let .function(f, x):
            guard let v = x.evaluate(env) else { return nil }
            return Expression.apply(f, v)
        case let .root(x, index):
            guard let v = x.evaluate(env), let n = index.evaluate(env) else { return nil }
            if let r = v.exact, let k = n.exact, k.isInteger, let root = r.root(k.numerator) { return .exact(root) }
            guard v.inDoubleRange, n.inDoubleRange else { return .tooLarge }
            return Value.approximate(Complex.root(v.complex, n.complex), of: v.complex, n.complex, underflow: false)
        case let .logarithm(x, base):
            guard let v = x.evaluate(env), let b = base.evaluate(env) else { return nil }
            guard v.inDoubleRange, b.inDoubleRange else { return .tooLarge }
            return .approximate(Complex.log(v.complex) / Complex.log(b.complex))
        case let .factorial(x):
            guard let v = x.evaluate(env) else { return nil }
            if v == .tooLarge { return .tooLarge }
            guard let n = v.exact, n.isInteger, (0...20).contains(n.numerator) else { return nil }
            return .exact(Rational((1...max(1, n.numerator)).reduce(1, *))!)
        case let .binomial(a, b):
            guard let nv = a.evaluate(env), let kv = b.evaluate(env) else { return nil }
            if nv == .tooLarge || kv == .tooLarge { return .tooLarge }
            guard let n = nv.exact, let k = kv.exact, n.isInteger, k.isInteger else { return nil }
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
            // past 64 bits: exact on big integers
            if let large = exactLarge(op, BigRational(a), BigRational(b), tolerant: nil, allowedBits: 0) { return large }
        } else if x == .tooLarge || y == .tooLarge {
            return .tooLarge
        } else if let a = x.big, let b = y.big {
            let bits = max(a.bitWidth, b.bitWidth) + 64
            if let large = exactLarge(op, a, b, tolerant: x.tolerant || y.tolerant, allowedBits: bits) { return large }
        }
        // floating point, which cannot stand in for an exact value past its range
        guard x.inDoubleRange, y.inDoubleRange else { return .tooLarge }
        let a = x.complex, b = y.complex
        switch op {
        case .add: return Value.approximate(a + b, of: a, b, underflow: false)
        case .subtract: return Value.approximate(a - b, of: a, b, underflow: false)
        case .multiply: return Value.approximate(a * b, of: a, b, underflow: true)
        case .divide:
            if b.re == 0 && b.im == 0 { return nil }
            return Value.approximate(a / b, of: a, b, underflow: true)
        case .power:
            if a.magnitude == 0 { return .approximate(Complex.pow(a, b)) }  // 0^-1 is ∞, as it always was
            return Value.approximate(Complex.pow(a, b), of: a, b, underflow: true)
        }
    }

    /// Exact arithmetic past 64 bits; nil where it does not apply (a power with an exponent
    /// that is not an integer, or 0 to a negative power) and floating point decides as before.
    /// Results past GraderLimits.exactBits (or `allowedBits`, for arithmetic on long literals)
    /// are tooLarge, and powers are refused before they are computed.
    static func exactLarge(_ op: Operator, _ a: BigRational, _ b: BigRational, tolerant: Bool?, allowedBits: Int) -> Value? {
        let result: BigRational
        switch op {
        case .add: result = a.adding(b)
        case .subtract: result = a.subtracting(b)
        case .multiply: result = a.multiplied(by: b)
        case .divide:
            guard let q = a.divided(by: b) else { return nil }
            result = q
        case .power:
            guard b.isInteger, !(a.isZero && b.numerator.sign == .minus) else { return nil }
            guard let p = a.power(b.numerator, maxBits: GraderLimits.exactBits) else { return .tooLarge }
            result = p
        }
        return Value.exactResult(result, tolerant: tolerant, allowedBits: allowedBits)
    }

    /// Exact powers: integer exponents, and p/q exponents of perfect q-th powers (8^(2/3) = 4).
    static func power(_ base: Rational, _ exponent: Rational) -> Rational? {
        guard abs(exponent.numerator) <= 256 else { return nil }
        if exponent.isInteger { return base.power(exponent.numerator) }
        return base.root(exponent.denominator)?.power(exponent.numerator)
    }

    static func apply(_ f: Function, _ v: Value) -> Value? {
        if case let .large(b, t) = v, [.abs, .floor, .ceil].contains(f) {
            if f == .abs { return .large(b.numerator.sign == .minus ? -b : b, tolerant: t) }
            var q = b.numerator / b.denominator  // truncates toward zero
            if f == .floor, b.numerator.sign == .minus, !b.isInteger { q -= 1 }
            if f == .ceil, b.numerator.sign == .plus, !b.isInteger { q += 1 }
            return Value.exactResult(BigRational(q)!, tolerant: t, allowedBits: b.bitWidth)
        }
        guard v.inDoubleRange else { return .tooLarge }
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
        let z = v.complex, result: Complex
        switch f {
        case .sin: result = Complex.sin(z)
        case .cos: result = Complex.cos(z)
        case .tan: result = Complex.sin(z) / Complex.cos(z)
        case .cot: result = Complex.cos(z) / Complex.sin(z)
        case .sec: result = Complex(1) / Complex.cos(z)
        case .csc: result = Complex(1) / Complex.sin(z)
        case .ln: result = Complex.log(z)
        case .log: result = Complex.log(z) / Complex(Foundation.log(10))
        case .exp: result = Complex.exp(z)
        case .abs: result = Complex(z.magnitude)
        case .arcsin, .arccos, .arctan, .floor, .ceil:
            guard z.isReal else { return nil }
            let fn: (Double) -> Double = switch f {
            case .arcsin: Foundation.asin
            case .arccos: Foundation.acos
            case .arctan: Foundation.atan
            case .floor: Foundation.floor
            default: Foundation.ceil
            }
            result = Complex(fn(z.re))
        }
        // an overflow (e^{1000}); not a pole at 0 (\ln 0, \csc 0) or a NaN outside a domain (\arcsin 2)
        if z.isFinite, z.magnitude != 0, result.re.isInfinite || result.im.isInfinite { return .tooLarge }
        return .approximate(result)
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
