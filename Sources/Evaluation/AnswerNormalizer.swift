import Foundation

/// What the normaliser may remove as presentation rather than value.
public struct NormalizationOptions: Sendable, Equatable {
    /// Drop trailing unit words after a value: "5 cm", "864 \mbox{ inches}^2", "5.4 \text{ cents}".
    public var stripUnits: Bool
    public var unitWords: Set<String>
    /// `90^\circ`, `90°` and `90` are the same answer.
    public var ignoreDegrees: Bool

    public init(stripUnits: Bool = true, unitWords: Set<String> = NormalizationOptions.defaultUnitWords, ignoreDegrees: Bool = true) {
        self.stripUnits = stripUnits
        self.unitWords = unitWords
        self.ignoreDegrees = ignoreDegrees
    }

    /// Units MATH answers carry. Single letters (m, g, s) are left out: they are variables
    /// more often than units.
    public static let defaultUnitWords: Set<String> = [
        "degree", "degrees", "radian", "radians", "unit", "units", "square", "sq", "cubic",
        "cm", "mm", "km", "meter", "meters", "metre", "metres", "centimeter", "centimeters", "inch", "inches",
        "foot", "feet", "ft", "yard", "yards", "mile", "miles", "mph", "kg", "gram", "grams", "pound", "pounds",
        "lb", "lbs", "ounce", "ounces", "oz", "liter", "liters", "litre", "litres", "ml", "gallon", "gallons",
        "second", "seconds", "sec", "minute", "minutes", "min", "hour", "hours", "hr", "day", "days", "week", "weeks",
        "month", "months", "year", "years", "dollar", "dollars", "cent", "cents", "per",
    ]
}

/// An answer after normalisation.
public struct NormalizedAnswer: Equatable, Sendable {
    /// Ready for structure parsing: presentation removed, single spaces.
    public var text: String
    /// The answer carried a percent sign (or the word percent), removed from `text`.
    public var hadPercent: Bool
    /// `text` without any spaces: two answers with equal keys are the same answer.
    public var key: String { text.filter { !$0.isWhitespace } }
}

/// Removes what does not change an answer's value, in the tradition of the MATH benchmark's
/// `strip_string` (Hendrycks et al.) and Minerva's `normalize_final_answer`: math delimiters,
/// `\left`/`\right`, spacing commands, text wrappers and units, degrees, percent, money,
/// `\dfrac`, unbraced `\frac12` arguments, thousands separators, mixed numbers, trailing
/// punctuation. Structure (brackets, commas, `=`) is left for AnswerStructure.
public struct AnswerNormalizer: Sendable {
    public var options: NormalizationOptions

    public init(options: NormalizationOptions = NormalizationOptions()) {
        self.options = options
    }

    public func normalize(_ raw: String) -> NormalizedAnswer {
        var s = AnswerNormalizer.unicode.reduce(raw) { $0.replacingOccurrences(of: $1.0, with: $1.1) }
        s = AnswerNormalizer.stripMathDelimiters(s.trimmingCharacters(in: .whitespacesAndNewlines))
        s = AnswerNormalizer.presentation.reduce(s) { $1.apply($0) }
        s = AnswerNormalizer.unwrapTextCommands(s)
        s = AnswerNormalizer.spacing.reduce(s) { $1.apply($0) }

        var hadPercent = false
        if AnswerNormalizer.percent.matches(s) {
            hadPercent = true
            s = AnswerNormalizer.percent.apply(s)
        }
        if options.ignoreDegrees { s = AnswerNormalizer.degrees.reduce(s) { $1.apply($0) } }
        if options.stripUnits { s = stripTrailingUnits(s) }

        s = AnswerNormalizer.repeatingDecimals(s)
        s = AnswerNormalizer.fractionSpellings.reduce(s) { $1.apply($0) }
        s = AnswerNormalizer.braceArguments(s)
        s = AnswerNormalizer.spelledOut.reduce(s) { $1.apply($0) }
        s = AnswerNormalizer.collapseSpaces.apply(s)
        s = AnswerNormalizer.stripTrailingPunctuation(s)
        s = NumberParser.removingThousandsSeparators(s)
        return NormalizedAnswer(text: s, hadPercent: hadPercent)
    }

    // MARK: rules, in the order they run

    static let unicode: [(String, String)] = [
        ("\u{2212}", "-"), ("\u{2013}", "-"), ("\u{00A0}", " "), ("π", "\\pi "), ("∞", "\\infty "), ("√", "\\sqrt"),
        ("×", "\\times "), ("·", "\\cdot "), ("⋅", "\\cdot "), ("÷", "\\div "), ("°", "^\\circ"), ("∪", "\\cup "),
        ("±", "\\pm "), ("≤", "\\le "), ("≥", "\\ge "),
    ]

    /// `$x$`, `$$x$$`, `\(x\)`, `\[x\]` around the answer, then any other unescaped `$`.
    static func stripMathDelimiters(_ s: String) -> String {
        var t = s
        for (open, close) in [("\\[", "\\]"), ("\\(", "\\)")] where t.hasPrefix(open) && t.hasSuffix(close) && t.count >= 4 {
            t = String(t.dropFirst(2).dropLast(2))
        }
        return dollar.apply(t).trimmingCharacters(in: .whitespaces)
    }

    static let dollar = RegexRule(#"(?<!\\)\$"#)

    static let presentation: [RegexRule] = [
        RegexRule(#"\\\$"#),  // money: \$32
        RegexRule(#"\\(?:displaystyle|textstyle|scriptstyle)"#),
        RegexRule(#"\\left\s*\.|\\right\s*\."#),  // invisible delimiters
        RegexRule(#"\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big|biggl|biggr)(?![a-zA-Z])"#),
        RegexRule(#"\\lbrace"#, #"\\{"#), RegexRule(#"\\rbrace"#, #"\\}"#),
        RegexRule(#"\\langle"#, "("), RegexRule(#"\\rangle"#, ")"),
        RegexRule(#"\\varnothing|\\O(?![a-zA-Z])|\\\{\s*\\\}"#, #"\\emptyset"#),
        RegexRule(#"\\(?:dfrac|tfrac|cfrac)"#, #"\\frac"#),
        RegexRule(#"\\(?:dbinom|tbinom)"#, #"\\binom"#),
        // 10,\!080 and 1{,}000: TeX thousands separators
        RegexRule(#"(\d),\\!\s*(?=\d{3}(?!\d))"#, "$1"),
        RegexRule(#"(\d)\{,\}(?=\d{3}(?!\d))"#, "$1"),
        RegexRule(#"(\d)\\,(?=\d{3}(?!\d))"#, "$1"),
    ]

    static let spacing: [RegexRule] = [
        // not the second backslash of a `\\` row break
        RegexRule(#"(?<!\\)\\!"#),
        RegexRule(#"(?<!\\)\\(?:,|;|:| |quad|qquad)|~"#, " "),
    ]

    // `(?<!\s)`: a match starts only where a run of spaces does; `\s*` tried from inside every
    // run is quadratic in its length
    static let percent = RegexRule(#"\\%|%|(?<!\s)\s*\bpercent\b"#, caseInsensitive: true)

    static let degrees: [RegexRule] = [
        RegexRule(#"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|\^\s*\{\s*\\degree\s*\}|\\degree"#),
    ]

    static let fractionSpellings: [RegexRule] = [
        // a whole number directly before a numeric \frac is a mixed number: 1\frac{4}{5}, 137 \frac{1}{2}
        RegexRule(#"(?<![\d.}^_])(\d+)\s*\\frac\s*\{(\d+)\}\s*\{(\d+)\}"#, #"($1+\\frac{$2}{$3})"#),
        RegexRule(#"(?<![\d.}^_])(\d+)\s*\\frac\s*(\d)\s*(\d)(?!\d)"#, #"($1+\\frac{$2}{$3})"#),
        // plain "3 1/2"
        RegexRule(#"(?<![\d./])(\d+) +(\d+)/(\d+)(?![\d/])"#, #"($1+$2/$3)"#),
    ]

    static let spelledOut: [RegexRule] = [
        RegexRule(#"\\inf(?![a-zA-Z])|(?<![\\a-zA-Z])(?:infinity|inf)(?![a-zA-Z])"#, #"\\infty"#, caseInsensitive: true),
        // sqrt(2), pi/2, sin x written without backslashes
        RegexRule(#"(?<![\\a-zA-Z])(sqrt|pi|sin|cos|tan|cot|sec|csc|arcsin|arccos|arctan|ln|log|exp)(?![a-zA-Z])"#, #"\\$1"#),
        // "1 or 2", "x=1 and x=2": lists of solutions
        RegexRule(#"(?<!\s)\s+(?:or|and)\s+"#, ", "),  // (?<!\s): as for `percent`
    ]

    static let collapseSpaces = RegexRule(#"\s+"#, " ")

    static let repeatingDecimal = RegexRule(#"(\d*)\.(\d*)\\overline\{(\d+)\}"#)

    /// `0.1\overline{6}` → `\frac{1}{6}`: whole + (fixed·(10^r − 1) + repeat) / (10^f·(10^r − 1)).
    static func repeatingDecimals(_ s: String) -> String {
        // `(\d*)\.` tried at every digit of a long run is quadratic: look only where it can match
        guard s.contains("\\overline") else { return s }
        var out = s
        let ns = s as NSString
        for m in repeatingDecimal.regex.matches(in: s, range: NSRange(location: 0, length: ns.length)).reversed() {
            let whole = ns.substring(with: m.range(at: 1)), fixed = ns.substring(with: m.range(at: 2)), rep = ns.substring(with: m.range(at: 3))
            // Parts too long for 64 bits leave the text as it is (they used to read as 0).
            guard let wholeDigits = whole.isEmpty ? 0 : Int(whole), let fixedDigits = fixed.isEmpty ? 0 : Int(fixed), let repDigits = Int(rep),
                  let w = Rational(wholeDigits), let f = Rational(fixedDigits), let r = Rational(repDigits),
                  let nines = Rational(10)!.power(rep.count)?.subtracting(.one), let shift = Rational(10)!.power(fixed.count),
                  let num = f.multiplied(by: nines)?.adding(r), let den = shift.multiplied(by: nines),
                  let value = num.divided(by: den).flatMap({ w.adding($0) }) else { continue }
            let replacement = "\\frac{\(value.numerator)}{\(value.denominator)}"
            out = (out as NSString).replacingCharacters(in: m.range, with: replacement)
        }
        return out
    }

    /// `\text{...}` and friends become their content with spaces around it ("5\text{cm}" is
    /// "5 cm", so that the unit can go); `\text{(B)}` becomes "(B)".
    static func unwrapTextCommands(_ s: String) -> String {
        let names = ["text", "textbf", "textit", "textrm", "textnormal", "mbox", "mathrm", "mathbf", "mathit", "operatorname", "boxed"]
        let chars = Array(s)
        var out: [Character] = [], i = 0
        // The closing braces of unwrapped groups, each written as a space when the scan reaches it.
        var closes = Set<Int>()
        while i < chars.count {
            if closes.contains(i) {
                out.append(" ")
                i += 1
                continue
            }
            if chars[i] == "\\", let name = names.first(where: { matchesCommand($0, in: chars, at: i) }) {
                var j = i + 1 + name.count
                while j < chars.count, chars[j] == " " { j += 1 }
                if j < chars.count, chars[j] == "{", let close = TeX.closingBrace(in: chars, open: j) {
                    // The content stays where it is, to be scanned next: it may hold more wrappers.
                    out.append(" ")
                    closes.insert(close)
                    i = j + 1
                    continue
                }
            }
            out.append(chars[i])
            i += 1
        }
        return String(out)
    }

    /// Whether `\name` stands at `i`, not followed by a letter before `end` (the end of `chars` by default).
    static func matchesCommand(_ name: String, in chars: [Character], at i: Int, end: Int? = nil) -> Bool {
        let end = end ?? chars.count
        let n = name.count
        guard i + 1 + n <= end, chars[(i + 1)..<(i + 1 + n)].elementsEqual(name) else { return false }
        return i + 1 + n == end || !chars[i + 1 + n].isLetter
    }

    /// Removes unit words (and a `^2`/`^3` on them) from the end while a value precedes them.
    /// Only the last 256 characters are searched for each word: a unit word with its `^2` is
    /// short, and searching the whole text once per word removed was quadratic ("cm cm cm ...").
    func stripTrailingUnits(_ s: String) -> String {
        let words = s.trimmingCharacters(in: .whitespaces), ns = words as NSString
        var end = ns.length
        while true {
            // the window as its own short string, with one character before it for the lookbehind
            let from = max(0, end - 256), context = from > 0 ? 1 : 0
            let tail = ns.substring(with: NSRange(location: from - context, length: end - from + context))
            guard let m = AnswerNormalizer.trailingWord.regex.firstMatch(in: tail, options: .withTransparentBounds,
                                                                         range: NSRange(location: context, length: end - from)),
                  options.unitWords.contains((tail as NSString).substring(with: m.range(at: 1)).lowercased()) else { break }
            var cut = from - context + m.range.location
            while cut > 0, let c = Unicode.Scalar(ns.character(at: cut - 1)), CharacterSet.whitespaces.contains(c) { cut -= 1 }
            guard cut > 0 else { break }  // the answer is only the word: keep it
            end = cut
        }
        return end == ns.length ? words : ns.substring(to: end)
    }

    static let trailingWord = RegexRule(#"(?<![\\a-zA-Z])([a-zA-Z]+)\s*(?:\^\s*\{?\s*[23]\s*\}?)?\s*$"#)

    /// Braces around unbraced arguments, as Hendrycks' fix_fracs / fix_sqrt do:
    /// `\frac12` → `\frac{1}{2}`, `\frac{1}2`, `\frac 59`, `\frac\pi2`, `\sqrt3` → `\sqrt{3}`.
    static func braceArguments(_ s: String) -> String {
        let chars = Array(s)
        var out = ""
        braceArguments(chars, 0..<chars.count, into: &out, depth: 0)
        return out
    }

    /// Appends `chars[range]` with its arguments braced. Braced arguments are done in place
    /// (no copies), recursively to GraderLimits.nesting levels; deeper text is copied as it is.
    static func braceArguments(_ chars: [Character], _ range: Range<Int>, into out: inout String, depth: Int) {
        guard depth <= GraderLimits.nesting else {
            out += String(chars[range])
            return
        }
        let end = range.upperBound
        var i = range.lowerBound
        while i < end {
            let command = ["frac", "binom", "sqrt"].first { chars[i] == "\\" && matchesCommand($0, in: chars, at: i, end: end) }
            guard let command else {
                out.append(chars[i])
                i += 1
                continue
            }
            out += "\\" + command
            i += 1 + command.count
            if command == "sqrt" {
                var j = i
                while j < end, chars[j] == " " { j += 1 }
                if j < end, chars[j] == "[", let close = chars[j..<end].firstIndex(of: "]") {
                    braceArguments(chars, j..<(close + 1), into: &out, depth: depth + 1)
                    i = close + 1
                }
            }
            for _ in 0..<(command == "sqrt" ? 1 : 2) {
                while i < end, chars[i] == " " { i += 1 }
                guard i < end else { break }
                if chars[i] == "{", let close = TeX.closingBrace(in: chars, open: i, end: end) {
                    out += "{"
                    braceArguments(chars, (i + 1)..<close, into: &out, depth: depth + 1)
                    out += "}"
                    i = close + 1
                } else if chars[i] == "\\" {
                    var j = i + 1
                    while j < end, chars[j].isLetter { j += 1 }
                    if j == i + 1 { j = min(j + 1, end) }
                    out += "{" + String(chars[i..<j]) + "}"
                    i = j
                } else {
                    out += "{\(chars[i])}"
                    i += 1
                }
            }
        }
    }

    /// Sentence punctuation after the answer ("5.", "x = 3;"), a trailing `\\`.
    /// Works on a Substring, trimming only its end: trimming a copy of the whole text per
    /// character removed was quadratic (a run of `\\`).
    static func stripTrailingPunctuation(_ s: String) -> String {
        var t = Substring(s.trimmingCharacters(in: .whitespaces))
        while true {
            if t.hasSuffix("\\\\") { t.removeLast(2) }
            else if let last = t.last, ".,;:".contains(last), !t.hasSuffix("\\.") && !t.hasSuffix("\\,") && !t.hasSuffix("\\;") && !t.hasSuffix("\\:") { t.removeLast() }
            else { return String(t) }
            while let last = t.last, last.unicodeScalars.allSatisfy(CharacterSet.whitespaces.contains) { t.removeLast() }
        }
    }
}
