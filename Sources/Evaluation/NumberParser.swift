import BigInt
import Foundation

/// Plain numeric answers read exactly: integers, decimals (".5", "5."), scientific "1.5e3",
/// thousands separators ("1,000", "1{,}000", "10,\!080"), fractions "1/2" and mixed numbers
/// "3 1/2". Decimals become exact fractions (0.125 = 1/8) so that comparisons need no
/// tolerance; literals too large for 64 bits give nil here and a Double from `approximate`.
public enum NumberParser {
    public static func parse(_ text: String) -> Rational? {
        let s = removingThousandsSeparators(text.trimmingCharacters(in: .whitespaces))
        if let r = decimal(s) { return r }
        // Mixed number "3 1/2" (a space between the whole and the fraction).
        let words = s.split(separator: " ")
        if words.count == 2, let whole = decimal(String(words[0])), whole.isInteger, let frac = fraction(String(words[1])), frac.numerator >= 0 {
            return whole.numerator < 0 ? whole.subtracting(frac) : whole.adding(frac)
        }
        return fraction(s)
    }

    /// "p/q" with decimal parts allowed on both sides.
    static func fraction(_ s: String) -> Rational? {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let p = decimal(String(parts[0])), let q = decimal(String(parts[1])) else { return nil }
        return p.divided(by: q)
    }

    /// Sign, digits, an optional fractional part and an optional exponent; nothing else.
    static func decimal(_ s: String) -> Rational? {
        var chars = Substring(s)
        var negative = false
        if let f = chars.first, f == "-" || f == "+" {
            negative = f == "-"
            chars = chars.dropFirst()
        }
        var exponent = 0
        if let e = chars.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            // a range check, not abs(x) < 40: abs(Int.min) traps ("1e-9223372036854775808")
            guard let x = Int(chars[chars.index(after: e)...]), (-39...39).contains(x) else { return nil }
            exponent = x
            chars = chars[..<e]
        }
        let halves = chars.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(halves.count) else { return nil }
        let whole = halves[0], frac = halves.count == 2 ? halves[1] : ""
        guard !(whole.isEmpty && frac.isEmpty), (whole + frac).allSatisfy(\.isASCIIDigit) else { return nil }
        // The digits as one integer over 10^(fraction length); nil on overflow.
        guard let digits = Int(whole + frac), let scale = Rational(10)!.power(frac.count - exponent),
              let value = Rational(digits)?.divided(by: scale) else { return nil }
        return negative ? -value : value
    }

    /// An integer literal of any length (digits only), exactly.
    static func integer(_ s: String) -> BigRational? {
        guard !s.isEmpty, s.allSatisfy(\.isASCIIDigit), let n = BigInt(s) else { return nil }
        return BigRational(n)
    }

    /// A decimal literal ("1e400", "2.5e-401") exactly, when it needs at most
    /// GraderLimits.exactBits bits; nil otherwise.
    static func exactDecimal(_ s: String) -> BigRational? {
        let e = s.firstIndex(where: { $0 == "e" || $0 == "E" })
        let halves = s[..<(e ?? s.endIndex)].split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(halves.count) else { return nil }
        let digits = halves[0] + (halves.count == 2 ? halves[1] : "")
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), let n = BigInt(digits) else { return nil }
        if n.isZero { return BigRational(0) }  // whatever the exponent
        var exponent = 0
        if let e {
            guard let x = Int(s[s.index(after: e)...]) else { return nil }
            exponent = x
        }
        // value = n · 10^shift; 10^k needs about 3.33·k bits
        let (shift, overflow) = exponent.subtractingReportingOverflow(halves.count == 2 ? halves[1].count : 0)
        guard !overflow, shift.magnitude <= UInt(GraderLimits.exactBits / 3), n.magnitude.bitWidth + Int(shift.magnitude) * 4 <= GraderLimits.exactBits + 64 else { return nil }
        let scale = BigInt(10).power(Int(shift.magnitude))
        return shift >= 0 ? BigRational(n * scale) : BigRational(n, scale)
    }

    /// A Double for literals `decimal` cannot hold exactly (more than 18 digits).
    static func approximate(_ s: String) -> Double? {
        Double(removingThousandsSeparators(s))
    }

    /// "1,000,000" / "1{,}000" / "10,\!080" → digits only, when every group after the first
    /// has exactly three digits; any other comma (a list "1,2") is left alone.
    static func removingThousandsSeparators(_ s: String) -> String {
        let t = s.replacingOccurrences(of: "{,}", with: ",").replacingOccurrences(of: ",\\!", with: ",")
        let groups = t.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard groups.count > 1 else { return t }
        var first = Substring(groups[0])
        if first.first == "-" || first.first == "+" { first = first.dropFirst() }
        let last = groups[groups.count - 1].split(separator: ".", maxSplits: 1).first.map(String.init) ?? ""
        let middle = groups.dropFirst().dropLast()
        guard (1...3).contains(first.count), first.allSatisfy(\.isASCIIDigit),
              middle.allSatisfy({ $0.count == 3 && $0.allSatisfy(\.isASCIIDigit) }),
              last.count == 3, last.allSatisfy(\.isASCIIDigit),
              // a space after a plain comma reads as a list ("1, 000"): only `,\!` may have one
              !s.contains(", ") || s.contains(",\\!") else { return t }
        return groups.joined()
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
