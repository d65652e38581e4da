import Foundation

/// A complex double, for evaluating answers that mention `i` and for functions leaving the
/// reals at random sample points (√ of a negative, log of a negative).
struct Complex: Equatable, Sendable, CustomStringConvertible {
    var re: Double
    var im: Double

    init(_ re: Double, _ im: Double = 0) {
        self.re = re
        self.im = im
    }

    static let i = Complex(0, 1)

    var magnitude: Double { hypot(re, im) }
    var argument: Double { atan2(im, re) }
    var isFinite: Bool { re.isFinite && im.isFinite }
    var isNaN: Bool { re.isNaN || im.isNaN }
    var isReal: Bool { im == 0 }

    var description: String {
        let r = Complex.format(re)
        if im == 0 { return r }
        return "\(r)\(im < 0 ? "-" : "+")\(Complex.format(abs(im)))i"
    }

    static func format(_ x: Double) -> String {
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        return String(format: "%.10g", x)
    }

    static prefix func - (z: Complex) -> Complex { Complex(-z.re, -z.im) }
    static func + (a: Complex, b: Complex) -> Complex { Complex(a.re + b.re, a.im + b.im) }
    static func - (a: Complex, b: Complex) -> Complex { Complex(a.re - b.re, a.im - b.im) }

    static func * (a: Complex, b: Complex) -> Complex {
        // Keep real products real: (inf)(2) must stay inf, not inf + nan·i.
        if a.im == 0 && b.im == 0 { return Complex(a.re * b.re) }
        return Complex(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re)
    }

    static func / (a: Complex, b: Complex) -> Complex {
        if a.im == 0 && b.im == 0 { return Complex(a.re / b.re) }
        let d = b.re * b.re + b.im * b.im
        return Complex((a.re * b.re + a.im * b.im) / d, (a.im * b.re - a.re * b.im) / d)
    }

    static func exp(_ z: Complex) -> Complex {
        let m = Foundation.exp(z.re)
        return z.im == 0 ? Complex(m) : Complex(m * Foundation.cos(z.im), m * Foundation.sin(z.im))
    }

    /// Principal logarithm.
    static func log(_ z: Complex) -> Complex {
        if z.im == 0 && z.re > 0 { return Complex(Foundation.log(z.re)) }
        return Complex(Foundation.log(z.magnitude), z.argument)
    }

    static func pow(_ a: Complex, _ b: Complex) -> Complex {
        if a.im == 0 && b.im == 0 && (a.re >= 0 || b.re == b.re.rounded()) { return Complex(Foundation.pow(a.re, b.re)) }
        if a.re == 0 && a.im == 0 { return Complex(0) }
        return exp(b * log(a))
    }

    /// The real n-th root for odd n and a real radicand (∛-8 = -2, as students mean it),
    /// otherwise the principal root.
    static func root(_ z: Complex, _ n: Complex) -> Complex {
        // odd without Int(n.re), which traps past Int's range (\sqrt[10^{400}]{-8})
        if z.isReal, n.isReal, z.re < 0, n.re.isFinite, n.re == n.re.rounded(), abs(n.re.truncatingRemainder(dividingBy: 2)) == 1 {
            return Complex(-Foundation.pow(-z.re, 1 / n.re))
        }
        return pow(z, Complex(1) / n)
    }

    static func sin(_ z: Complex) -> Complex {
        z.isReal ? Complex(Foundation.sin(z.re)) : Complex(Foundation.sin(z.re) * cosh(z.im), Foundation.cos(z.re) * sinh(z.im))
    }

    static func cos(_ z: Complex) -> Complex {
        z.isReal ? Complex(Foundation.cos(z.re)) : Complex(Foundation.cos(z.re) * cosh(z.im), -Foundation.sin(z.re) * sinh(z.im))
    }
}
