/// The unbiased pass@k estimator of Chen et al. (2021, "Evaluating Large Language Models
/// Trained on Code"): with n samples of which c are correct, the chance that k samples drawn
/// without replacement include a correct one, 1 − C(n−c, k) / C(n, k). Computed as the
/// product 1 − ∏_{i=n−c+1}^{n} (1 − k/i), which never forms the huge binomials.
public enum PassAtK {
    public static func estimate(n: Int, c: Int, k: Int) -> Double {
        precondition(n >= 1 && (0...n).contains(c) && (1...n).contains(k), "pass@k needs 1 <= k <= n and 0 <= c <= n")
        if n - c < k { return 1 }  // every draw of k includes a correct sample
        guard c > 0 else { return 0 }
        var failAll = 1.0
        for i in (n - c + 1)...n { failAll *= 1 - Double(k) / Double(i) }
        return 1 - failAll
    }

    /// The k reported for n samples per problem: powers of two up to n, and n itself.
    public static func reportedKs(samplesPerProblem n: Int) -> [Int] {
        guard n >= 1 else { return [] }
        var ks: [Int] = [], k = 1
        while k <= n { ks.append(k); k *= 2 }
        if ks.last != n { ks.append(n) }
        return ks
    }
}
