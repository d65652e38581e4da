import Common
import Foundation

/// The descriptive statistics the metrics use, with their definitions fixed here so that
/// numbers in summaries can be recomputed by hand.
public enum Statistics {
    public static func mean(_ xs: [Double]) -> Double {
        xs.isEmpty ? .nan : xs.reduce(0, +) / Double(xs.count)
    }

    /// Sample standard deviation (denominator n − 1); nil for fewer than two values.
    public static func standardDeviation(_ xs: [Double]) -> Double? {
        guard xs.count >= 2 else { return nil }
        let m = mean(xs)
        return (xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1)).squareRoot()
    }

    /// The middle value of the sorted values, or the mean of the two middle ones.
    public static func median(_ xs: [Double]) -> Double { quantile(xs, 0.5) }

    /// Linear interpolation between order statistics (Hyndman & Fan type 7, numpy's default):
    /// the value at position q·(n − 1) of the sorted values, 0-based. p90 = quantile(xs, 0.9).
    public static func quantile(_ xs: [Double], _ q: Double) -> Double {
        guard !xs.isEmpty else { return .nan }
        let s = xs.sorted(), h = q * Double(s.count - 1)
        let lo = Int(h.rounded(.down)), hi = min(lo + 1, s.count - 1)
        return s[lo] + (h - Double(lo)) * (s[hi] - s[lo])
    }

    /// Percentile bootstrap interval for a statistic of resampled clusters: `resamples` times,
    /// draw `clusters` indices with replacement (SplitMix64 from `seed`), evaluate the
    /// statistic on them, and take the (1 − confidence)/2 and (1 + confidence)/2 quantiles.
    /// Returns the intervals of every statistic, computed from the same resamples.
    public static func bootstrap(clusters: Int, resamples: Int, seed: UInt64, confidence: Double,
                                 statistics: [([Int]) -> Double]) -> [Interval] {
        guard clusters > 0, resamples > 0 else { return statistics.map { _ in Interval(low: .nan, high: .nan) } }
        var rng = SplitMix64(seed: seed)
        var values = [[Double]](repeating: [], count: statistics.count)
        var draw = [Int](repeating: 0, count: clusters)
        for _ in 0..<resamples {
            for j in 0..<clusters { draw[j] = bounded(&rng, clusters) }
            for (s, f) in statistics.enumerated() { values[s].append(f(draw)) }
        }
        let tail = (1 - confidence) / 2
        return values.map { Interval(low: quantile($0, tail), high: quantile($0, 1 - tail)) }
    }

    /// A uniform index below `n` from the high half of a 64×64-bit product (Lemire), fixed
    /// here so the draws never depend on the standard library's algorithm.
    static func bounded(_ rng: inout SplitMix64, _ n: Int) -> Int {
        Int(UInt64(n).multipliedFullWidth(by: rng.next()).high)
    }
}

/// A two-sided interval.
public struct Interval: Codable, Equatable, Sendable {
    public var low: Double
    public var high: Double

    public init(low: Double, high: Double) {
        self.low = low
        self.high = high
    }

    public func contains(_ x: Double) -> Bool { low <= x && x <= high }
}
