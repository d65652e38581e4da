import Foundation

/// A retrieved behavior and its score (higher is more relevant).
public struct ScoredBehavior: Sendable, Equatable {
    public var behavior: Behavior
    public var score: Double
}

/// Retrieval strategies of the paper: by topic (MATH's subjects), by embedding cosine top-K
/// (AIME, with BGE-M3), and BM25 over names and instructions as the offline default.
public enum Retrieval {
    /// The behaviors whose topic equals `topic` (case-insensitive), as the paper gives them:
    /// every one (`k` nil), or the k most relevant. Either way they are ranked by BM25
    /// relevance to `query` (score; ties: more uses, then name), so a cap keeps the most
    /// relevant, never the alphabetically first. `index` is the handbook's, when one is built.
    public static func byTopic(_ handbook: Handbook, topic: String, query: String, k: Int? = nil, index: BM25Index? = nil) -> [ScoredBehavior] {
        let wanted = topic.lowercased()
        let relevance = (index ?? BM25Index(handbook)).scores(query)
        let ranked = handbook.behaviors.filter { $0.topic?.lowercased() == wanted }
            .map { ScoredBehavior(behavior: $0, score: relevance[$0.id] ?? 0) }
            .sorted { ($0.score, $0.behavior.uses, $1.behavior.name) > ($1.score, $1.behavior.uses, $0.behavior.name) }
        return k.map { Array(ranked.prefix($0)) } ?? ranked
    }

    /// The k behaviors whose embeddings are most similar (cosine) to `query` (nil: all, ranked).
    public static func byEmbedding(_ handbook: Handbook, embeddings: [String: [Float]], query: [Float], k: Int?) -> [ScoredBehavior] {
        let scored = handbook.behaviors.compactMap { b -> ScoredBehavior? in
            guard let v = embeddings[b.id] else { return nil }
            return ScoredBehavior(behavior: b, score: Double(cosine(v, query)))
        }
        let ranked = scored.sorted { ($0.score, $1.behavior.name) > ($1.score, $0.behavior.name) }
        return k.map { Array(ranked.prefix($0)) } ?? ranked
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

    /// The BM25 score of each behavior sharing a term with `query`, by behavior id.
    public func scores(_ query: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for (i, s) in rawScores(query) where s > 0 { out[behaviors[i].id] = s }
        return out
    }

    /// The k best-scoring behaviors for `query` (nil: all); behaviors sharing no term are left out.
    public func search(_ query: String, k: Int?) -> [ScoredBehavior] {
        let scored = rawScores(query).filter { $0.1 > 0 }.map { ScoredBehavior(behavior: behaviors[$0.0], score: $0.1) }
            .sorted { ($0.score, $1.behavior.name) > ($1.score, $0.behavior.name) }
        return k.map { Array(scored.prefix($0)) } ?? scored
    }

    private func rawScores(_ query: String) -> [(Int, Double)] {
        let n = Double(docs.count)
        let q = Set(Self.terms(query))
        return docs.enumerated().map { i, tf in
            var s = 0.0
            for t in q {
                guard let f = tf[t], let df = documentFrequency[t] else { continue }
                let idf = Foundation.log(1 + (n - Double(df) + 0.5) / (Double(df) + 0.5))
                let ff = Double(f)
                s += idf * ff * (k1 + 1) / (ff + k1 * (1 - b + b * Double(lengths[i]) / max(avgLength, 1)))
            }
            return (i, s)
        }
    }
}
