import Foundation

/// Two runs on the same problems: differences in accuracy and in mean output tokens (first
/// run minus second), with bootstrap intervals that resample shared problems, keeping each
/// problem's two results together. Only (problem, budget) pairs present in both runs count.
public struct PairedComparison: Codable, Equatable, Sendable {
    /// A difference with its bootstrap interval.
    public struct Estimate: Codable, Equatable, Sendable {
        public var value: Double
        public var ci: Interval

        /// The interval excludes zero.
        public var isSignificant: Bool { !ci.contains(0) }
    }

    public var a: String
    public var b: String
    /// Problems present in both runs.
    public var sharedProblems: Int
    /// (problem, budget) pairs present in both runs.
    public var sharedItems: Int
    public var budgets: [Int]
    public var accuracyA: Double
    public var accuracyB: Double
    /// accuracyA − accuracyB, as a fraction (0.05 is five points).
    public var accuracyDifference: Estimate
    public var meanTokensA: Double
    public var meanTokensB: Double
    /// meanTokensA − meanTokensB.
    public var tokenDifference: Estimate
    public var bootstrap: BootstrapOptions

    enum CodingKeys: String, CodingKey {
        case a, b, budgets, bootstrap
        case sharedProblems = "shared_problems", sharedItems = "shared_items", accuracyA = "accuracy_a", accuracyB = "accuracy_b"
        case accuracyDifference = "accuracy_difference", meanTokensA = "mean_tokens_a", meanTokensB = "mean_tokens_b"
        case tokenDifference = "token_difference"
    }

    public init(_ a: [EvalSample], _ b: [EvalSample], labels: (String, String) = ("A", "B"),
                bootstrap: BootstrapOptions = BootstrapOptions()) throws {
        let itemsA = Dictionary(uniqueKeysWithValues: ProblemItem.group(a).map { (ItemKey(problemID: $0.problemID, budget: $0.budget), $0) })
        let itemsB = Dictionary(uniqueKeysWithValues: ProblemItem.group(b).map { (ItemKey(problemID: $0.problemID, budget: $0.budget), $0) })
        let shared = Set(itemsA.keys).intersection(itemsB.keys).sorted { ($0.problemID, $0.budget) < ($1.problemID, $1.budget) }
        guard !shared.isEmpty else { throw EvaluationError.noSharedProblems(a: labels.0, b: labels.1) }
        self.a = labels.0
        self.b = labels.1
        self.bootstrap = bootstrap
        sharedItems = shared.count
        budgets = Set(shared.map(\.budget)).sorted()

        let pairs = shared.map { (itemsA[$0]!, itemsB[$0]!) }
        accuracyA = Statistics.mean(pairs.map { $0.0.accuracy })
        accuracyB = Statistics.mean(pairs.map { $0.1.accuracy })
        meanTokensA = Statistics.mean(pairs.map { $0.0.meanTokens })
        meanTokensB = Statistics.mean(pairs.map { $0.1.meanTokens })

        // Clusters are problems; each holds the per-item differences of its budgets.
        let clusters = Dictionary(grouping: pairs) { $0.0.problemID }.sorted { $0.key < $1.key }.map(\.value)
        sharedProblems = clusters.count
        let accSums = clusters.map { $0.reduce(0) { $0 + $1.0.accuracy - $1.1.accuracy } }
        let tokSums = clusters.map { $0.reduce(0) { $0 + $1.0.meanTokens - $1.1.meanTokens } }
        let counts = clusters.map { Double($0.count) }
        func resampledMean(_ sums: [Double]) -> ([Int]) -> Double {
            { draw in
                var s = 0.0, c = 0.0
                for d in draw { s += sums[d]; c += counts[d] }
                return s / c
            }
        }
        let cis = Statistics.bootstrap(clusters: clusters.count, resamples: bootstrap.resamples, seed: bootstrap.seed,
                                       confidence: bootstrap.confidence, statistics: [resampledMean(accSums), resampledMean(tokSums)])
        accuracyDifference = Estimate(value: accuracyA - accuracyB, ci: cis[0])
        tokenDifference = Estimate(value: meanTokensA - meanTokensB, ci: cis[1])
    }

    /// One sentence for reports: which arm won and by how much, with intervals, or that the
    /// interval includes 0.
    public var sentence: String {
        let pct = Int((bootstrap.confidence * 100).rounded())
        let d = accuracyDifference, t = tokenDifference
        func points(_ x: Double) -> String { String(format: "%.1f", abs(x) * 100) }
        func signed(_ x: Double, _ scale: Double, _ digits: Int) -> String { String(format: "%+.\(digits)f", x * scale) }
        let accCI = "\(pct)% CI \(signed(d.ci.low, 100, 1)) to \(signed(d.ci.high, 100, 1)) points"
        let tokCI = "\(pct)% CI \(signed(t.ci.low, 1, 0)) to \(signed(t.ci.high, 1, 0))"
        let accuracyPart: String
        if d.isSignificant {
            let (winner, loser) = d.value > 0 ? (a, b) : (b, a)
            accuracyPart = "\(winner) is more accurate than \(loser) by \(points(d.value)) points (\(a) − \(b) = \(signed(d.value, 100, 1)), \(accCI))"
        } else {
            accuracyPart = "the accuracy difference \(a) − \(b) is \(signed(d.value, 100, 1)) points, but its \(accCI) includes 0, so neither arm is shown more accurate"
        }
        let tokenPart: String
        if t.isSignificant {
            let fewer = t.value < 0 ? a : b
            tokenPart = "\(fewer) uses \(String(format: "%.0f", abs(t.value))) fewer output tokens on average (\(a) − \(b) = \(signed(t.value, 1, 0)), \(tokCI))"
        } else {
            tokenPart = "the mean output token difference \(signed(t.value, 1, 0)) has a \(tokCI) that includes 0"
        }
        return "Over \(sharedProblems) shared problems, \(accuracyPart); \(tokenPart)."
    }
}
