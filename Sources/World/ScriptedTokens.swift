import Common
import Foundation

/// How the scripted models count tokens: a word, a single digit or one other symbol is one
/// token (digits one by one, as the Llama 3 and Qwen tokenizers split them). Usage, budgets
/// and truncation of the scripted world are all in these units.
public enum ScriptedTokens {
    private static let regex = try! NSRegularExpression(pattern: "[A-Za-z]+|[0-9]|[^\\sA-Za-z0-9]")

    public static func count(_ text: String) -> Int {
        regex.numberOfMatches(in: text, range: NSRange(text.startIndex..., in: text))
    }

    /// The text cut after its first `limit` tokens, and whether anything was cut.
    public static func truncate(_ text: String, to limit: Int) -> (text: String, truncated: Bool) {
        let matches = regex.matches(in: text, range: NSRange(text.startIndex..., in: text))
        guard matches.count > limit else { return (text, false) }
        guard limit > 0, let end = Range(matches[limit - 1].range, in: text)?.upperBound else { return ("", true) }
        return (String(text[..<end]), true)
    }
}

/// Deterministic bag-of-words embeddings for the scripted world (hashed word counts,
/// L2-normalised), so embedding retrieval and near-duplicate merging run offline too.
public enum ScriptedEmbedding {
    public static let dimension = 64

    public static func embed(_ text: String) -> [Float] {
        var v = [Float](repeating: 0, count: dimension)
        for word in text.lowercased().split(whereSeparator: { !$0.isLetter }) where word.count > 2 {
            var g = SplitMix64(String(word))
            v[Int(g.next() % UInt64(dimension))] += 1
        }
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? v.map { $0 / norm } : v
    }
}
