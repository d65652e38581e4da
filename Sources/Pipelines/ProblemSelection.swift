import Common
import Foundation
import Settings

/// Which problems of a problems file a step works on: every one, the first `limit`, or a
/// seeded random `sample` of N, stratified so each subject (or level) keeps its share.
/// Benchmark files are ordered by subject (MATH train is Algebra first), so the first N are
/// not a sample of the file: `sample` is what the paper's "1,000 MATH training questions" means.
public struct ProblemSelection: Settings {
    /// What a stratified sample keeps proportional.
    public enum Stratify: String, Sendable, Codable, CaseIterable, SettingChoice { case subject, level, none }

    /// The first N problems, in file order.
    public var limit: Int?
    /// N problems drawn at random (without replacement), returned in file order.
    public var sample: Int?
    public var sampleSeed: UInt64 = 0
    public var stratify = Stratify.subject

    enum CodingKeys: String, CodingKey { case limit, sample, sampleSeed = "sample_seed", stratify }

    public init() {}

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.update(&limit, .limit)
        try c.update(&sample, .sample)
        try c.update(&sampleSeed, .sampleSeed)
        try c.update(&stratify, .stratify)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(limit, forKey: .limit)
        try c.encodeIfPresent(sample, forKey: .sample)
        try c.encode(sampleSeed, forKey: .sampleSeed)
        try c.encode(stratify, forKey: .stratify)
    }

    public func validate() throws {
        if let limit, limit < 1 { throw SettingsError.invalid("limit", "must be at least 1") }
        if let sample, sample < 1 { throw SettingsError.invalid("sample", "must be at least 1") }
        if limit != nil, sample != nil {
            throw SettingsError.invalid("sample", "give either limit (the first N problems) or sample (N drawn at random), not both")
        }
    }

    /// The selected problems of a problems file.
    public func load(_ url: URL) throws -> [Problem] {
        guard let sample else { return try Problem.load(url, limit: limit) }
        return draw(sample, from: try Problem.load(url))
    }

    /// `n` of `problems` drawn with the seed, stratified: each stratum gets its proportional
    /// share (largest remainders, ties to the larger stratum, then the first seen), a seeded
    /// shuffle picks within it, and the result keeps file order. Problems that lack the field form
    /// one stratum of their own; every problem when n covers the file.
    public func draw(_ n: Int, from problems: [Problem]) -> [Problem] {
        guard n < problems.count else { return problems }
        func key(_ p: Problem) -> String? {
            switch stratify {
            case .subject: p.subject
            case .level: p.level
            case .none: ""
            }
        }
        var strata: [String?: [Int]] = [:]
        var order: [String?] = []
        for (i, p) in problems.enumerated() {
            let k = key(p)
            if strata[k] == nil { order.append(k) }
            strata[k, default: []].append(i)
        }
        let total = Double(problems.count)
        var quota = order.map { k in
            let share = Double(n) * Double(strata[k]!.count) / total
            return (k: k, whole: Int(share), rest: share - share.rounded(.down))
        }
        let missing = n - quota.map(\.whole).reduce(0, +)
        let byRemainder = quota.indices.sorted { a, b in
            (quota[a].rest, strata[quota[a].k]!.count, -a) > (quota[b].rest, strata[quota[b].k]!.count, -b)
        }
        for i in byRemainder.prefix(missing) { quota[i].whole += 1 }
        var rng = SplitMix64(seed: sampleSeed)
        var chosen: [Int] = []
        for q in quota {
            var members = strata[q.k]!
            // Fisher-Yates with our generator: the same seed draws the same sample everywhere.
            for i in stride(from: members.count - 1, to: 0, by: -1) {
                members.swapAt(i, Int(rng.next() % UInt64(i + 1)))
            }
            chosen += members.prefix(q.whole)
        }
        return chosen.sorted().map { problems[$0] }
    }
}
