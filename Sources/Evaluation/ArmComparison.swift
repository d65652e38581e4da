import Common
import Foundation

/// One arm of an ablation: the runs that share a label, one per training seed.
public struct Arm: Sendable {
    public var label: String
    public var runs: [ReportRun]

    /// Runs grouped by label, arms and their runs in first-seen order.
    public static func group(_ runs: [ReportRun]) -> [Arm] {
        var arms: [Arm] = []
        for r in runs {
            if let i = arms.firstIndex(where: { $0.label == r.label }) { arms[i].runs.append(r) } else { arms.append(Arm(label: r.label, runs: [r])) }
        }
        return arms
    }

    /// Per-seed means at one budget, in run order.
    func accuracies(budget: Int) -> [Double] {
        runs.map { r in r.summary.budgets.first { $0.budget == budget }?.accuracy ?? .nan }
    }
}

/// Two arms, each trained with one or more seeds and evaluated on the same problems: at each
/// budget, the mean accuracy over seeds of each arm and their difference (first arm minus
/// second) with a two-level bootstrap interval. Each resample draws the test problems with
/// replacement (one draw shared by both arms, since both answered the same problems), then,
/// within each arm, its seeds with replacement; the statistic is the difference of the arms'
/// means over the drawn seeds and problems. The interval so covers both the training seed and
/// the choice of problems; with one seed per arm it is the paired problem bootstrap.
public struct ArmComparison: Codable, Equatable, Sendable {
    public struct Budget: Codable, Equatable, Sendable {
        public var budget: Int
        public var problems: Int
        /// Mean over seeds of each seed's accuracy.
        public var accuracyA: Double
        public var accuracyB: Double
        /// Each seed's accuracy, in run order: the spread over seeds.
        public var seedsA: [Double]
        public var seedsB: [Double]
        /// accuracyA − accuracyB with its interval over seeds and problems.
        public var difference: PairedComparison.Estimate

        enum CodingKeys: String, CodingKey {
            case budget, problems, difference
            case accuracyA = "accuracy_a", accuracyB = "accuracy_b", seedsA = "seeds_a", seedsB = "seeds_b"
        }
    }

    public var a: String
    public var b: String
    /// Run names (folder names) of each arm's seeds, in order.
    public var runsA: [String]
    public var runsB: [String]
    public var budgets: [Budget]
    public var bootstrap: BootstrapOptions

    enum CodingKeys: String, CodingKey {
        case a, b, budgets, bootstrap
        case runsA = "runs_a", runsB = "runs_b"
    }

    /// Throws when a run has no samples, or when the runs are not all on the same problems at
    /// some budget (an interval with a shared problem draw needs one problem set).
    public init(_ a: Arm, _ b: Arm, bootstrap: BootstrapOptions = BootstrapOptions()) throws {
        self.a = a.label
        self.b = b.label
        runsA = a.runs.map(\.name)
        runsB = b.runs.map(\.name)
        self.bootstrap = bootstrap
        let all = a.runs + b.runs
        for r in all where r.samples.isEmpty { throw EvaluationError.noSamples(what: "run '\(r.name)' (\(r.label)): a difference over seeds needs samples.jsonl") }
        // Per run: budget -> problem -> accuracy (mean over that problem's samples).
        let tables: [[Int: [String: Double]]] = all.map { r in
            var t: [Int: [String: Double]] = [:]
            for item in ProblemItem.group(r.samples) { t[item.budget, default: [:]][item.problemID] = item.accuracy }
            return t
        }
        let budgetSets = tables.map { Set($0.keys) }
        for (i, s) in budgetSets.enumerated() where s != budgetSets[0] {
            let only = s.symmetricDifference(budgetSets[0]).sorted()
            throw EvaluationError.problemSetsDiffer(first: Self.describe(all[0]), other: Self.describe(all[i]),
                                                    detail: "budgets \(only.map(String.init).joined(separator: ", ")) are in one run only")
        }
        budgets = try budgetSets[0].sorted().map { budget in
            let ids = tables[0][budget]!.keys.sorted()
            for (i, t) in tables.enumerated() {
                let other = Set(t[budget]!.keys)
                guard other == Set(ids) else {
                    let only = other.symmetricDifference(ids).sorted()
                    throw EvaluationError.problemSetsDiffer(first: Self.describe(all[0]), other: Self.describe(all[i]),
                                                            detail: "at budget \(budget), \(only.count) problem(s) are in one run only, e.g. \(only[0])")
                }
            }
            let matrix = tables.map { t in ids.map { t[budget]![$0]! } }
            let seedsA = Array(matrix.prefix(a.runs.count)), seedsB = Array(matrix.suffix(b.runs.count))
            let meansA = seedsA.map(Statistics.mean), meansB = seedsB.map(Statistics.mean)
            let value = Statistics.mean(meansA) - Statistics.mean(meansB)
            let ci = Self.twoLevelInterval(seedsA, seedsB, bootstrap: bootstrap)
            return Budget(budget: budget, problems: ids.count, accuracyA: Statistics.mean(meansA), accuracyB: Statistics.mean(meansB),
                          seedsA: meansA, seedsB: meansB, difference: PairedComparison.Estimate(value: value, ci: ci))
        }
    }

    static func describe(_ r: ReportRun) -> String { r.name == r.label ? r.name : "\(r.label) (\(r.name))" }

    /// The two-level percentile bootstrap of mean(A) − mean(B). `a[s][p]` is seed s's accuracy
    /// on problem p, problems in the same order in both arms. Problems are drawn first, exactly
    /// as `Statistics.bootstrap` draws clusters, and an arm with one seed draws nothing more, so
    /// with one seed per arm the interval is the paired problem bootstrap's.
    public static func twoLevelInterval(_ a: [[Double]], _ b: [[Double]], bootstrap: BootstrapOptions) -> Interval {
        let n = a.first?.count ?? 0
        guard n > 0, !b.isEmpty, bootstrap.resamples > 0 else { return Interval(low: .nan, high: .nan) }
        var rng = SplitMix64(seed: bootstrap.seed)
        var draw = [Int](repeating: 0, count: n)
        var values: [Double] = []
        values.reserveCapacity(bootstrap.resamples)
        for _ in 0..<bootstrap.resamples {
            for j in 0..<n { draw[j] = Statistics.bounded(&rng, n) }
            func armMean(_ seeds: [[Double]]) -> Double {
                let means = seeds.map { acc in draw.reduce(0) { $0 + acc[$1] } / Double(n) }
                guard means.count > 1 else { return means[0] }
                var s = 0.0
                for _ in means.indices { s += means[Statistics.bounded(&rng, means.count)] }
                return s / Double(means.count)
            }
            let ma = armMean(a)
            values.append(ma - armMean(b))
        }
        let tail = (1 - bootstrap.confidence) / 2
        return Interval(low: Statistics.quantile(values, tail), high: Statistics.quantile(values, 1 - tail))
    }

    /// What the interval covers, for reports.
    public var intervalNote: String {
        "\(Int((bootstrap.confidence * 100).rounded()))% intervals of \(a) − \(b) from a two-level bootstrap (\(bootstrap.resamples) resamples, seed \(bootstrap.seed)): "
            + "each resample draws the test problems with replacement, one draw shared by both arms, then each arm's seeds with replacement, "
            + "so the interval covers both the training seed and the choice of problems (with few seeds it understates the seed part)"
    }
}
