import Common
import Foundation

/// How bootstrap intervals are drawn; stored in every summary so they can be reproduced.
public struct BootstrapOptions: Codable, Equatable, Sendable {
    public var resamples: Int
    public var seed: UInt64
    public var confidence: Double

    public init(resamples: Int = 1000, seed: UInt64 = 0x5EED, confidence: Double = 0.95) {
        self.resamples = resamples
        self.seed = seed
        self.confidence = confidence
    }
}

/// The samples of one problem at one budget: the unit pass@1 averages over.
struct ProblemItem {
    var problemID: String
    var budget: Int
    var samples: [EvalSample]
    var n: Int { samples.count }
    var correct: Int { samples.count(where: \.correct) }
    var accuracy: Double { Double(correct) / Double(n) }
    var meanTokens: Double { Statistics.mean(samples.map { Double($0.outputTokens) }) }

    /// Sorted by problem, then budget, so every statistic sees the same order.
    static func group(_ samples: [EvalSample]) -> [ProblemItem] {
        Dictionary(grouping: samples) { ItemKey(problemID: $0.problemID, budget: $0.budget) }
            .map { ProblemItem(problemID: $0.key.problemID, budget: $0.key.budget, samples: $0.value.sorted { $0.sample < $1.sample }) }
            .sorted { ($0.problemID, $0.budget) < ($1.problemID, $1.budget) }
    }
}

struct ItemKey: Hashable {
    var problemID: String
    var budget: Int
}

/// What `summary.json` holds: accuracy with its spread and interval, pass@k, output tokens,
/// truncation, breakdowns by subject and level, and one point per budget for budget curves.
/// Accuracy is pass@1: the mean over (problem, budget) items of the fraction of correct
/// samples (equal to the mean over samples when every item has the same number of samples).
public struct Summary: Codable, Equatable, Sendable {
    public struct TokenStats: Codable, Equatable, Sendable {
        public var mean: Double
        /// The middle value, or the mean of the two middle values.
        public var median: Double
        /// Linear-interpolation 90th percentile (Statistics.quantile).
        public var p90: Double
    }

    public struct PassAtKPoint: Codable, Equatable, Sendable {
        public var k: Int
        public var value: Double
    }

    public struct Group: Codable, Equatable, Sendable {
        public var name: String
        public var problems: Int
        public var samples: Int
        public var accuracy: Double
        public var meanTokens: Double

        enum CodingKeys: String, CodingKey {
            case name, problems, samples, accuracy
            case meanTokens = "mean_tokens"
        }
    }

    /// One point of an accuracy-versus-tokens budget curve.
    public struct BudgetPoint: Codable, Equatable, Sendable {
        public var budget: Int
        public var problems: Int
        public var samples: Int
        public var accuracy: Double
        public var accuracyStd: Double?
        public var accuracyCI: Interval
        public var outputTokens: TokenStats
        public var truncationRate: Double

        enum CodingKeys: String, CodingKey {
            case budget, problems, samples, accuracy
            case accuracyStd = "accuracy_std", accuracyCI = "accuracy_ci", outputTokens = "output_tokens", truncationRate = "truncation_rate"
        }
    }

    /// One line for a terminal or a log: accuracy with its interval, problems and samples,
    /// mean output tokens and the truncation rate.
    public var headline: String {
        String(format: "accuracy %.1f%% [%.1f, %.1f] over %d problems x %d samples, mean output tokens %.1f, truncated %.1f%%",
               100 * accuracy, 100 * accuracyCI.low, 100 * accuracyCI.high, problems, samplesPerProblem, outputTokens.mean, 100 * truncationRate)
    }

    /// The arm label when every sample carries the same one.
    public var arm: String?
    public var problems: Int
    public var samples: Int
    /// The fewest samples any (problem, budget) item has; pass@k is reported up to it.
    public var samplesPerProblem: Int
    public var accuracy: Double
    /// Standard deviation of accuracy across sample indices (the spread over seeds); absent
    /// with a single sample per problem.
    public var accuracyStd: Double?
    /// Bootstrap interval over problems.
    public var accuracyCI: Interval
    public var passAtK: [PassAtKPoint]
    public var outputTokens: TokenStats
    public var truncationRate: Double
    /// Samples without a found answer (no box or answer line, or cut off inside one).
    public var noAnswerRate: Double
    public var bySubject: [Group]
    public var byLevel: [Group]
    public var budgets: [BudgetPoint]
    /// Samples per prompt mode (vanilla, bci, vanilla_fallback) where the samples record it:
    /// how many "bci" answers had no behavior to condition on.
    public var modes: [String: Int]?
    public var bootstrap: BootstrapOptions

    enum CodingKeys: String, CodingKey {
        case arm, problems, samples, accuracy, budgets, bootstrap, modes
        case samplesPerProblem = "samples_per_problem", accuracyStd = "accuracy_std", accuracyCI = "accuracy_ci"
        case passAtK = "pass_at_k", outputTokens = "output_tokens", truncationRate = "truncation_rate"
        case noAnswerRate = "no_answer_rate", bySubject = "by_subject", byLevel = "by_level"
    }

    /// Computes the summary of an eval run's samples.
    public init(samples: [EvalSample], bootstrap: BootstrapOptions = BootstrapOptions()) throws {
        guard !samples.isEmpty else { throw EvaluationError.noSamples(what: "summary") }
        let items = ProblemItem.group(samples)
        let arms = Set(samples.map(\.arm))
        arm = arms.count == 1 ? arms.first! : nil
        problems = Set(samples.map(\.problemID)).count
        self.samples = samples.count
        samplesPerProblem = items.map(\.n).min()!
        (accuracy, accuracyStd, accuracyCI) = Summary.accuracy(items, bootstrap)
        let n = samplesPerProblem
        passAtK = PassAtK.reportedKs(samplesPerProblem: n).map { k in
            PassAtKPoint(k: k, value: Statistics.mean(items.map { PassAtK.estimate(n: $0.n, c: $0.correct, k: k) }))
        }
        outputTokens = Summary.tokenStats(samples)
        truncationRate = Summary.rate(samples) { $0.truncated }
        noAnswerRate = Summary.rate(samples) { $0.extraction != .found }
        bySubject = Summary.groups(samples) { $0.subject }
        byLevel = Summary.groups(samples) { $0.level }
        budgets = Dictionary(grouping: samples, by: \.budget).keys.sorted().map { budget in
            let subset = samples.filter { $0.budget == budget }
            let subsetItems = items.filter { $0.budget == budget }
            let (acc, std, ci) = Summary.accuracy(subsetItems, bootstrap)
            return BudgetPoint(budget: budget, problems: subsetItems.count, samples: subset.count, accuracy: acc, accuracyStd: std,
                               accuracyCI: ci, outputTokens: Summary.tokenStats(subset), truncationRate: Summary.rate(subset) { $0.truncated })
        }
        let modes = samples.compactMap(\.mode)
        self.modes = modes.isEmpty ? nil : modes.reduce(into: [:]) { $0[$1, default: 0] += 1 }
        self.bootstrap = bootstrap
    }

    /// pass@1, its spread across sample indices, and a bootstrap interval that resamples
    /// whole problems (all budgets of a problem together, as they are not independent).
    static func accuracy(_ items: [ProblemItem], _ options: BootstrapOptions) -> (Double, Double?, Interval) {
        let mean = Statistics.mean(items.map(\.accuracy))
        let bySampleIndex = Dictionary(grouping: items.flatMap(\.samples), by: \.sample)
            .values.map { group in Statistics.mean(group.map { $0.correct ? 1 : 0 }) }
        let clusters = Dictionary(grouping: items, by: \.problemID).sorted { $0.key < $1.key }.map { $0.value }
        let sums = clusters.map { $0.reduce(0) { $0 + $1.accuracy } }, counts = clusters.map { Double($0.count) }
        let ci = Statistics.bootstrap(clusters: clusters.count, resamples: options.resamples, seed: options.seed,
                                      confidence: options.confidence, statistics: [{ draw in
            var s = 0.0, c = 0.0
            for d in draw { s += sums[d]; c += counts[d] }
            return s / c
        }])[0]
        return (mean, Statistics.standardDeviation(bySampleIndex), ci)
    }

    static func tokenStats(_ samples: [EvalSample]) -> TokenStats {
        let t = samples.map { Double($0.outputTokens) }
        return TokenStats(mean: Statistics.mean(t), median: Statistics.median(t), p90: Statistics.quantile(t, 0.9))
    }

    static func rate(_ samples: [EvalSample], _ predicate: (EvalSample) -> Bool) -> Double {
        Double(samples.count(where: predicate)) / Double(samples.count)
    }

    /// Accuracy per subject or level; samples without the field are left out. Names sort
    /// numerically when they are numbers (levels 1…10).
    static func groups(_ samples: [EvalSample], by key: (EvalSample) -> String?) -> [Group] {
        let named = Dictionary(grouping: samples.filter { key($0) != nil }) { key($0)! }
        return named.map { name, subset in
            let items = ProblemItem.group(subset)
            return Group(name: name, problems: Set(subset.map(\.problemID)).count, samples: subset.count,
                         accuracy: Statistics.mean(items.map(\.accuracy)), meanTokens: Statistics.mean(subset.map { Double($0.outputTokens) }))
        }.sorted { a, b in
            if let x = Int(a.name), let y = Int(b.name) { return x < y }
            return a.name < b.name
        }
    }
}

extension Summary {
    /// Writes pretty, key-sorted JSON (the run's summary.json).
    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do { try encoder.encode(self).write(to: url, options: .atomic) } catch {
            throw FileError.cannotWrite(path: url.path, reason: error.localizedDescription)
        }
    }

    public static func read(from url: URL) throws -> Summary {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw FileError.cannotRead(path: url.path, reason: error.localizedDescription)
        }
        do { return try JSONDecoder().decode(Summary.self, from: data) } catch {
            throw FileError.cannotRead(path: url.path, reason: JSONLines.describe(error, decoding: Summary.self))
        }
    }
}
