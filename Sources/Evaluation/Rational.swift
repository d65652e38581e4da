import Foundation

/// An exact fraction of two 64-bit integers, always in lowest terms with a positive
/// denominator, so that equal values have equal fields. Every operation reports overflow by
/// returning nil: the caller then falls back to floating point instead of trapping.
public struct Rational: Hashable, Sendable, CustomStringConvertible {
    public let numerator: Int
    public let denominator: Int

    /// nil when the denominator is zero or normalising the sign overflows (Int.min).
    public init?(_ numerator: Int, _ denominator: Int = 1) {
        guard denominator != 0, numerator != .min, denominator != .min else { return nil }
        let g = Rational.gcd(abs(numerator), abs(denominator))
        let sign = denominator < 0 ? -1 : 1
        self.numerator = sign * numerator / g
        self.denominator = sign * denominator / g
    }

    public static let zero = Rational(0)!
    public static let one = Rational(1)!

    public var isInteger: Bool { denominator == 1 }
    public var doubleValue: Double { Double(numerator) / Double(denominator) }
    public var description: String { isInteger ? "\(numerator)" : "\(numerator)/\(denominator)" }

    static func gcd(_ a: Int, _ b: Int) -> Int {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a == 0 ? 1 : a
    }

    public static prefix func - (x: Rational) -> Rational { Rational(-x.numerator, x.denominator)! }

    public func adding(_ o: Rational) -> Rational? {
        // a/b + c/d over the least common denominator keeps intermediates small.
        let g = Rational.gcd(denominator, o.denominator)
        let (l, lo) = denominator.multipliedReportingOverflow(by: o.denominator / g)
        let (x, xo) = numerator.multipliedReportingOverflow(by: l / denominator)
        let (y, yo) = o.numerator.multipliedReportingOverflow(by: l / o.denominator)
        let (s, so) = x.addingReportingOverflow(y)
        guard !(lo || xo || yo || so) else { return nil }
        return Rational(s, l)
    }

    public func subtracting(_ o: Rational) -> Rational? { adding(-o) }

    public func multiplied(by o: Rational) -> Rational? {
        // Cross-cancel first so products of already-reduced fractions rarely overflow.
        let g1 = Rational.gcd(abs(numerator), o.denominator), g2 = Rational.gcd(abs(o.numerator), denominator)
        let (n, no) = (numerator / g1).multipliedReportingOverflow(by: o.numerator / g2)
        let (d, dO) = (denominator / g2).multipliedReportingOverflow(by: o.denominator / g1)
        guard !(no || dO) else { return nil }
        return Rational(n, d)
    }

    public func divided(by o: Rational) -> Rational? {
        guard o.numerator != 0, let inv = Rational(o.denominator, o.numerator) else { return nil }
        return multiplied(by: inv)
    }

    /// Integer powers by repeated squaring; nil on overflow or 0 to a negative power.
    public func power(_ e: Int) -> Rational? {
        if e < 0 {
            guard numerator != 0, let inv = Rational(denominator, numerator) else { return nil }
            return inv.power(-e)
        }
        var result = Rational.one, base = self, e = e
        while e > 0 {
            if e & 1 == 1 { guard let r = result.multiplied(by: base) else { return nil }; result = r }
            e >>= 1
            if e > 0 { guard let b = base.multiplied(by: base) else { return nil }; base = b }
        }
        return result
    }

    /// The exact n-th root when numerator and denominator are both perfect n-th powers
    /// (√(9/4) = 3/2); nil otherwise, including even roots of negatives.
    public func root(_ n: Int) -> Rational? {
        guard n >= 1 else { return nil }
        if n == 1 { return self }
        if numerator < 0 && n % 2 == 0 { return nil }
        guard let p = Rational.integerRoot(abs(numerator), n), let q = Rational.integerRoot(denominator, n) else { return nil }
        return Rational(numerator < 0 ? -p : p, q)
    }

    static func integerRoot(_ x: Int, _ n: Int) -> Int? {
        let guess = Int(Foundation.pow(Double(x), 1 / Double(n)).rounded())
        for c in max(0, guess - 1)...(guess + 1) {
            if let p = Rational(c)!.power(n), p.numerator == x { return c }
        }
        return nil
    }

    /// The value rounded half away from zero to `places` decimal places, for matching a
    /// rounded decimal answer against an exact one.
    public func rounded(toPlaces places: Int) -> Rational? {
        guard let scale = Rational(10)!.power(places), let scaled = multiplied(by: scale) else { return nil }
        let q = scaled.numerator / scaled.denominator, r = scaled.numerator % scaled.denominator
        let up = abs(r) >= scaled.denominator - abs(r)
        let n = up ? q + (scaled.numerator < 0 ? -1 : 1) : q
        return Rational(n)?.divided(by: scale)
    }
}
