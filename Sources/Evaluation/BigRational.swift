import BigInt
import Foundation

/// An exact fraction of arbitrary-precision integers (attaswift/BigInt): the grader's values past
/// the 64 bits of Rational (`2^{1024}`, `10^{-400}`, integer literals of any length), which
/// floating point would round, overflow to infinity or underflow to zero. Only arithmetic that
/// overflows Rational reaches it, so ordinary answers never pay for it.
///
/// Not always in lowest terms: a gcd of two numbers of thousands of bits costs milliseconds (the
/// binary gcd is quadratic), so common factors are cancelled only where that is cheap (powers of
/// two, a side that fits a word, one side dividing the other) and equality cross-multiplies.
/// The denominator is positive.
struct BigRational: Sendable, Equatable, CustomStringConvertible {
    let numerator: BigInt
    let denominator: BigInt

    /// nil when the denominator is zero.
    init?(_ numerator: BigInt, _ denominator: BigInt = 1) {
        guard !denominator.isZero else { return nil }
        let negative = (numerator.sign == .minus) != (denominator.sign == .minus) && !numerator.isZero
        let (n, d) = BigRational.cancel(numerator.magnitude, denominator.magnitude)
        self.numerator = BigInt(sign: negative ? .minus : .plus, magnitude: n)
        self.denominator = BigInt(d)
    }

    init(_ r: Rational) {
        numerator = BigInt(r.numerator)
        denominator = BigInt(r.denominator)
    }

    private init(unchecked numerator: BigInt, _ denominator: BigInt) {
        self.numerator = numerator
        self.denominator = denominator
    }

    var isZero: Bool { numerator.isZero }
    var isInteger: Bool { denominator == 1 }
    /// The larger bit length of numerator and denominator: what arithmetic on it costs.
    var bitWidth: Int { max(numerator.magnitude.bitWidth, denominator.magnitude.bitWidth) }

    /// The same value as a 64-bit Rational, when it fits one.
    var rational: Rational? {
        guard let n = Int(exactly: numerator), let d = Int(exactly: denominator) else { return nil }
        return Rational(n, d)
    }

    static func == (a: BigRational, b: BigRational) -> Bool {
        if a.denominator == b.denominator { return a.numerator == b.numerator }
        return a.numerator * b.denominator == b.numerator * a.denominator
    }

    static prefix func - (x: BigRational) -> BigRational { BigRational(unchecked: -x.numerator, x.denominator) }

    func adding(_ o: BigRational) -> BigRational {
        if denominator == o.denominator { return BigRational(numerator + o.numerator, denominator)! }
        return BigRational(numerator * o.denominator + o.numerator * denominator, denominator * o.denominator)!
    }

    func subtracting(_ o: BigRational) -> BigRational { adding(-o) }

    func multiplied(by o: BigRational) -> BigRational {
        BigRational(numerator * o.numerator, denominator * o.denominator)!
    }

    /// nil when dividing by zero.
    func divided(by o: BigRational) -> BigRational? {
        guard !o.isZero else { return nil }
        return BigRational(numerator * o.denominator, denominator * o.numerator)
    }

    /// An integer power, or nil when the result would need more than `maxBits` bits (or is
    /// 0 to a negative power). Bases 0 and ±1 take any exponent.
    func power(_ e: BigInt, maxBits: Int) -> BigRational? {
        if numerator.magnitude == 1 && denominator == 1 {
            return (e.magnitude.words.first ?? 0) & 1 == 0 ? BigRational(unchecked: 1, 1) : self  // ±1
        }
        if isZero { return e.sign == .minus ? nil : (e.isZero ? BigRational(unchecked: 1, 1) : self) }
        // the result's bits, k·log2 of the larger side, checked before anything is computed
        guard let k = Int(exactly: e.magnitude),
              Double(k) * max(BigRational.log2(numerator.magnitude), BigRational.log2(denominator.magnitude)) <= Double(maxBits) else { return nil }
        let n = numerator.power(k), d = denominator.power(k)
        return e.sign == .minus ? BigRational(d, n) : BigRational(unchecked: n, d)
    }

    /// The nearest double, rounded once or twice (within an ulp): ±infinity past the largest
    /// double, 0 or a subnormal below the smallest normal one.
    var doubleValue: Double {
        guard !isZero else { return 0 }
        let (q, scale) = scaledQuotient
        return Double(sign: numerator.sign == .minus ? .minus : .plus, exponent: -scale, significand: Double(q))
    }

    /// Whether the double holds it to floating point's precision: not past the largest double,
    /// not below the smallest normal one.
    var inDoubleRange: Bool {
        let d = Swift.abs(doubleValue)
        return d.isFinite && d >= .leastNormalMagnitude
    }

    /// log10 of the magnitude, for describing values past floating point.
    var log10Magnitude: Double {
        let (q, scale) = scaledQuotient
        return Foundation.log10(Double(q)) - Double(scale) * Foundation.log10(2.0)
    }

    /// |value| = q / 2^scale (truncated) with q of 63 or 64 bits: one division however long the
    /// numbers are.
    private var scaledQuotient: (UInt64, Int) {
        let a = numerator.magnitude, b = denominator.magnitude
        let scale = b.bitWidth - a.bitWidth + 63
        let q = scale >= 0 ? (a << scale) / b : a / (b << -scale)
        return (UInt64(q.words.first ?? 0), scale)
    }

    /// The digits when short ("123456789012345678901", "1/3"), else an approximation
    /// ("about 1.797693e+308").
    var description: String {
        if numerator.magnitude.bitWidth <= 128 && denominator.magnitude.bitWidth <= 128 {
            return isInteger ? String(numerator) : "\(String(numerator))/\(String(denominator))"
        }
        let l = log10Magnitude
        var exponent = Foundation.floor(l), mantissa = Foundation.pow(10, l - exponent)
        if mantissa >= 9.9999995 {  // would print as 10.00000
            mantissa /= 10
            exponent += 1
        }
        return "about \(numerator.sign == .minus ? "-" : "")\(String(format: "%.6f", mantissa))e\(exponent < 0 ? "-" : "+")\(Int(Swift.abs(exponent)))"
    }

    /// log2 of a positive integer from its top 64 bits.
    static func log2(_ x: BigUInt) -> Double {
        let w = x.bitWidth
        guard w > 64 else { return Foundation.log2(Double(UInt64(x.words.first ?? 0))) }
        return Foundation.log2(Double(UInt64((x >> (w - 64)).words.first ?? 0))) + Double(w - 64)
    }

    /// Cancels the common factors that are cheap to find.
    static func cancel(_ n: BigUInt, _ d: BigUInt) -> (BigUInt, BigUInt) {
        if n.isZero { return (0, 1) }
        if d == 1 { return (n, d) }
        let twos = Swift.min(n.trailingZeroBitCount, d.trailingZeroBitCount)
        var (a, b) = (n >> twos, d >> twos)
        if a.bitWidth <= 64 || b.bitWidth <= 64 {
            let g = wordGCD(a, b)
            if g != 1 { (a, b) = (a / g, b / g) }
        } else if a.bitWidth >= b.bitWidth {
            let (q, r) = a.quotientAndRemainder(dividingBy: b)
            if r.isZero { (a, b) = (q, 1) }
        } else {
            let (q, r) = b.quotientAndRemainder(dividingBy: a)
            if r.isZero { (a, b) = (1, q) }
        }
        return (a, b)
    }

    /// gcd when one side fits a word: one long remainder, then Euclid on words.
    static func wordGCD(_ a: BigUInt, _ b: BigUInt) -> BigUInt {
        let (big, small) = a.bitWidth <= 64 ? (b, a) : (a, b)
        guard !small.isZero else { return big }
        var x = UInt64(small.words.first ?? 0), y = UInt64((big % small).words.first ?? 0)
        while y != 0 { (x, y) = (y, x % y) }
        return BigUInt(x)
    }
}
