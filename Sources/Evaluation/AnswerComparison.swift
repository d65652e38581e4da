import Common
import Foundation

/// Structural comparison of a predicted and a gold answer, producing the grader's reason.
struct AnswerComparison {
    let options: GraderOptions
    let predPercent: Bool
    let goldPercent: Bool
    /// Sample points for free variables; seeded per comparison so verdicts are reproducible.
    var rng: SplitMix64

    init(options: GraderOptions, predPercent: Bool, goldPercent: Bool) {
        self.options = options
        self.predPercent = predPercent
        self.goldPercent = goldPercent
        rng = SplitMix64(seed: options.seed)
    }

    typealias Match = (equal: Bool, reason: String)

    mutating func match(_ pred: AnswerStructure, _ gold: AnswerStructure) -> Match {
        // A one-element list or set is its element: "\{5\}" and "5".
        if case let .collection(items) = pred.kind, items.count == 1 { return match(items[0], gold) }
        if case let .collection(items) = gold.kind, items.count == 1 { return match(pred, items[0]) }

        switch (pred.kind, gold.kind) {
        case let (.refused(why), _): return (false, "prediction \(why); not parsed")
        case let (_, .refused(why)): return (false, "gold \(why); not parsed")
        case let (.choice(a), .choice(b)):
            return a == b ? (true, "choice: \(a)") : (false, "choice differs: \(a) vs \(b)")
        case (.text, _), (_, .text), (.choice, _), (_, .choice):
            let p = pred.source.lowercased().filter { !$0.isWhitespace }, g = gold.source.lowercased().filter { !$0.isWhitespace }
            return p == g ? (true, "text: \(gold.source)") : (false, "text differs: '\(pred.source)' vs '\(gold.source)'")
        case let (.baseNumber(d1, b1), .baseNumber(d2, b2)):
            return d1 == d2 && b1 == b2 ? (true, "numeral: \(d2)_\(b2)") : (false, "numeral differs: \(d1)_\(b1) vs \(d2)_\(b2)")
        case let (.expression, .baseNumber(digits, base)):
            // "52" for 52_8: the digits are right, only the subscript is missing.
            return pred.source == digits ? (true, "numeral: \(digits) (base \(base) subscript omitted)") : (false, "numeral differs: \(pred.source) vs \(digits)_\(base)")
        case let (.expression(p), .expression(g)):
            return expressions(p, g, pred.source, gold.source)
        case let (.equation(pl, pr), .equation(gl, gr)):
            return equations(.binary(.subtract, pl, pr), .binary(.subtract, gl, gr))
        case let (.bracketed(po, pc, ps), .bracketed(go, gc, gs)):
            guard ps.count == gs.count else { return (false, "tuple length differs: \(ps.count) vs \(gs.count)") }
            if po != go || pc != gc {
                return (false, "interval endpoints differ: \(po)…\(pc) vs \(go)…\(gc)")
            }
            for (i, (p, g)) in zip(ps, gs).enumerated() {
                let m = match(p, g)
                if !m.equal { return (false, "element \(i + 1) differs (\(m.reason))") }
            }
            return (true, "tuple: \(gs.count) elements equal in order")
        case let (.union(ps), .union(gs)):
            return unordered(ps, gs, what: "union")
        case let (.collection(ps), .collection(gs)):
            return unordered(ps, gs, what: "set")
        case let (.matrix(pm), .matrix(gm)):
            guard pm.count == gm.count, zip(pm, gm).allSatisfy({ $0.count == $1.count }) else {
                return (false, "matrix shape differs: \(pm.count)x\(pm.first?.count ?? 0) vs \(gm.count)x\(gm.first?.count ?? 0)")
            }
            for (r, (prow, grow)) in zip(pm, gm).enumerated() {
                for (c, (p, g)) in zip(prow, grow).enumerated() {
                    let m = match(p, g)
                    if !m.equal { return (false, "matrix entry (\(r + 1),\(c + 1)) differs (\(m.reason))") }
                }
            }
            return (true, "matrix: \(gm.count)x\(gm.first?.count ?? 0) entries equal")
        default:
            return (false, "structure differs: pred is \(pred.kindName), gold is \(gold.kindName)")
        }
    }

    /// Every gold element matched by a different predicted element (a bipartite matching, so
    /// "x, x+1" against "x+1, x" is found whatever the order).
    mutating func unordered(_ ps: [AnswerStructure], _ gs: [AnswerStructure], what: String) -> Match {
        guard ps.count == gs.count else { return (false, "\(what) size differs: \(ps.count) vs \(gs.count) elements") }
        var equal = [[Bool]](repeating: [Bool](repeating: false, count: ps.count), count: gs.count)
        for (gi, g) in gs.enumerated() {
            for (pi, p) in ps.enumerated() { equal[gi][pi] = match(p, g).equal }
        }
        var owner = [Int?](repeating: nil, count: ps.count)  // pred index -> gold index
        func augment(_ gi: Int, _ seen: inout [Bool]) -> Bool {
            for pi in ps.indices where equal[gi][pi] && !seen[pi] {
                seen[pi] = true
                if owner[pi] == nil || augment(owner[pi]!, &seen) {
                    owner[pi] = gi
                    return true
                }
            }
            return false
        }
        for gi in gs.indices {
            var seen = [Bool](repeating: false, count: ps.count)
            if !augment(gi, &seen) { return (false, "\(what) differs: nothing in the prediction matches \(gs[gi].source)") }
        }
        return (true, "\(what): \(gs.count) elements match in any order")
    }

    // MARK: numbers and expressions

    /// Scale pairs (pred, gold) that the percent mode allows when one side had a percent sign.
    var percentScales: [(Rational, Rational)] {
        let hundredth = Rational(1, 100)!
        guard predPercent != goldPercent else { return [(.one, .one)] }
        let scales: [Rational] = switch options.percent {
        case .lenient: [.one, hundredth]
        case .symbolOptional: [.one]
        case .strict: [hundredth]
        }
        return scales.map { predPercent ? ($0, .one) : (.one, $0) }
    }

    mutating func expressions(_ p: Expression, _ g: Expression, _ ps: String, _ gs: String) -> Match {
        let variables = p.variables.union(g.variables).sorted()
        guard variables.isEmpty else { return symbolic(p, g, variables, ps, gs) }
        let pValue = p.evaluate(), gValue = g.evaluate()
        guard let pv = pValue, let gv = gValue else {
            return (false, "not comparable: \(pValue == nil ? ps : gs) has no value")
        }
        if pv == .tooLarge || gv == .tooLarge {
            let what = pv != .tooLarge ? "\(gs) is" : gv != .tooLarge ? "\(ps) is" : "\(ps) and \(gs) are"
            return (false, "not comparable: \(what) too large to evaluate (past floating point, and over \(GraderLimits.exactBits) bits exactly)")
        }
        for (sp, sg) in percentScales {
            let pScaled = sp == .one ? pv : Expression.apply(.multiply, pv, .exact(sp))
            let gScaled = sg == .one ? gv : Expression.apply(.multiply, gv, .exact(sg))
            guard let a = pScaled, let b = gScaled, a != .tooLarge, b != .tooLarge else { continue }
            let note = sp != .one || sg != .one ? " (percent as hundredths)" : ""
            if let x = a.exact, let y = b.exact {
                if x == y { return (true, "numeric: \(ps) == \(gs)\(note)") }
                if options.decimals == .rounded, let places = decimalPlaces(ps), y.rounded(toPlaces: places) == x {
                    return (true, "numeric: \(ps) is \(gs) rounded to \(places) places\(note)")
                }
                continue
            }
            // Exact values past 64 bits compare exactly, unless both are tolerant (Value.large)
            // and floating point holds both.
            if let x = a.big, let y = b.big, !(a.tolerant && b.tolerant && a.inDoubleRange && b.inDoubleRange) {
                if x == y { return (true, "numeric: \(ps) == \(gs)\(note)") }
                continue
            }
            // An approximate value is never an exact one past floating point's range.
            guard a.inDoubleRange, b.inDoubleRange else { continue }
            if close(a.complex, b.complex, tolerance: options.relativeTolerance) {
                return (true, "numeric: \(ps) ≈ \(gs) (\(b.complex))\(note)")
            }
            if options.decimals == .rounded, let places = decimalPlaces(ps), b.complex.isReal,
               abs(a.complex.re - (b.complex.re * pow(10, Double(places))).rounded() / pow(10, Double(places))) < pow(10, -Double(places) - 3) {
                return (true, "numeric: \(ps) is \(gs) rounded to \(places) places\(note)")
            }
        }
        return (false, "numeric: \(ps) != \(gs) (\(pv.description) vs \(gv.description))")
    }

    /// Places after the point when the prediction is a plain decimal ("0.333" → 3).
    func decimalPlaces(_ s: String) -> Int? {
        guard AnswerComparison.decimalLiteral.matches(s), let dot = s.firstIndex(of: ".") else { return nil }
        return s.distance(from: dot, to: s.endIndex) - 1
    }

    static let decimalLiteral = RegexRule(#"^-?\d*\.\d+$"#)

    /// Both sides at seeded random points for the free variables; equal everywhere is equal.
    mutating func symbolic(_ p: Expression, _ g: Expression, _ variables: [String], _ ps: String, _ gs: String) -> Match {
        var compared = 0, tooLarge = 0
        for _ in 0..<options.samplePoints {
            let env = randomPoint(variables)
            let a = p.evaluate(env), b = g.evaluate(env)
            guard let a, let b else {
                if a == nil && b == nil { continue }  // both undefined here: say nothing
                return (false, "symbolic: \(ps) and \(gs) differ in where they are defined")
            }
            if a == .tooLarge || b == .tooLarge {  // past floating point here: say nothing
                tooLarge += 1
                continue
            }
            // Looser than numeric: evaluation error grows with the expression.
            if !close(a.complex, b.complex, tolerance: max(options.relativeTolerance, 1e-8)) {
                let at = variables.map { "\($0)=\(Complex.format(env[$0]!.re))" }.joined(separator: ", ")
                return (false, "symbolic: \(ps) != \(gs) at \(at) (\(a.complex) vs \(b.complex))")
            }
            compared += 1
        }
        guard compared > 0 else {
            if tooLarge > 0 { return (false, "symbolic: not comparable: \(ps) or \(gs) is too large to evaluate at every sample point") }
            return (false, "symbolic: \(ps) and \(gs) are undefined at every sample point")
        }
        return (true, "symbolic: \(ps) == \(gs) at \(compared) random points of \(variables.joined(separator: ", "))")
    }

    /// Equations are the same when their sides' differences are proportional (2x = 4 is x - 2 = 0).
    mutating func equations(_ p: Expression, _ g: Expression) -> Match {
        let variables = p.variables.union(g.variables).sorted()
        var ratio: Complex?
        for _ in 0..<max(options.samplePoints, 1) {
            let env = randomPoint(variables)
            guard let av = p.evaluate(env), let bv = g.evaluate(env), av != .tooLarge, bv != .tooLarge else { continue }
            let a = av.complex, b = bv.complex
            let zeroA = a.magnitude < 1e-12, zeroB = b.magnitude < 1e-12
            if zeroA != zeroB { return (false, "equation: different solution sets") }
            if zeroA { continue }
            let r = a / b
            if let ratio, !close(r, ratio, tolerance: 1e-8) { return (false, "equation: sides are not proportional") }
            ratio = r
        }
        return ratio == nil ? (false, "equation: cannot be compared") : (true, "equation: same up to a factor \(ratio!)")
    }

    mutating func randomPoint(_ variables: [String]) -> [String: Complex] {
        var env: [String: Complex] = [:]
        // Away from 0 and small integers, where different expressions can coincide.
        for v in variables { env[v] = Complex(Double.random(in: 0.6...2.9, using: &rng)) }
        return env
    }

    func close(_ a: Complex, _ b: Complex, tolerance: Double) -> Bool {
        if a.isNaN || b.isNaN { return false }
        if !a.isFinite || !b.isFinite { return a == b }  // ∞ equals only ∞ of the same sign
        let d = (a - b).magnitude
        return d <= 1e-12 || d <= tolerance * max(a.magnitude, b.magnitude)
    }
}
