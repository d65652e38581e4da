import Foundation

/// A retrieved behavior and its score (higher is more relevant).
public struct ScoredBehavior: Sendable, Equatable {
    public var behavior: Behavior
    public var score: Double
}

/// Retrieval strategies of the paper: by topic (MATH's subjects), by embedding cosine top-K
/// (AIME, with BGE-M3), and BM25 over names and instructions as the offline default.
public enum Retrieval {
    /// Every behavior whose topic equals `topic` (case-insensitive), score 1, most used first.
    public static func byTopic(_ handbook: Handbook, topic: String) -> [ScoredBehavior] {
        handbook.behaviors.filter { $0.topic?.lowercased() == topic.lowercased() }
            .sorted { ($0.uses, $1.name) > ($1.uses, $0.name) }
            .map { ScoredBehavior(behavior: $0, score: 1) }
    }

    /// The k behaviors whose embeddings are most similar (cosine) to `query`.
    public static func byEmbedding(_ handbook: Handbook, embeddings: [String: [Float]], query: [Float], k: Int) -> [ScoredBehavior] {
        let scored = handbook.behaviors.compactMap { b -> ScoredBehavior? in
            guard let v = embeddings[b.id] else { return nil }
            return ScoredBehavior(behavior: b, score: Double(cosine(v, query)))
        }
        return Array(scored.sorted { ($0.score, $1.behavior.name) > ($1.score, $0.behavior.name) }.prefix(k))
    }
}

/// Okapi BM25 over each behavior's name words and instruction (k1 = 1.5, b = 0.75).
public struct BM25Index: Sendable {
    let docs: [[String: Int]]
    let lengths: [Int]
    let avgLength: Double
    let documentFrequency: [String: Int]
    let behaviors: [Behavior]
    public var k1 = 1.5
    public var b = 0.75

    public init(_ handbook: Handbook) {
        behaviors = handbook.behaviors
        var df: [String: Int] = [:]
        var docs: [[String: Int]] = []
        for beh in behaviors {
            var tf: [String: Int] = [:]
            for t in Self.terms(beh.name.replacingOccurrences(of: "_", with: " ") + " " + beh.instruction) { tf[t, default: 0] += 1 }
            for t in tf.keys { df[t, default: 0] += 1 }
            docs.append(tf)
        }
        self.docs = docs
        lengths = docs.map { $0.values.reduce(0, +) }
        avgLength = lengths.isEmpty ? 0 : Double(lengths.reduce(0, +)) / Double(lengths.count)
        documentFrequency = df
    }

    /// Lowercased words and numbers; "behavior" itself is noise in every name.
    static func terms(_ text: String) -> [String] {
        text.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init).filter { $0 != "behavior" }
    }

    /// The k best-scoring behaviors for `query`; behaviors sharing no term are left out.
    public func search(_ query: String, k: Int) -> [ScoredBehavior] {
        let n = Double(docs.count)
        let q = Set(Self.terms(query))
        var scored: [ScoredBehavior] = []
        for (i, tf) in docs.enumerated() {
            var s = 0.0
            for t in q {
                guard let f = tf[t], let df = documentFrequency[t] else { continue }
                let idf = Foundation.log(1 + (n - Double(df) + 0.5) / (Double(df) + 0.5))
                let ff = Double(f)
                s += idf * ff * (k1 + 1) / (ff + k1 * (1 - b + b * Double(lengths[i]) / max(avgLength, 1)))
            }
            if s > 0 { scored.append(ScoredBehavior(behavior: behaviors[i], score: s)) }
        }
        return Array(scored.sorted { ($0.score, $1.behavior.name) > ($1.score, $0.behavior.name) }.prefix(k))
    }
}
