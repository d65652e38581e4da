import Common
import Foundation

/// A problem in the format of the benchmark files (`id`, `problem`, `answer`, `subject`,
/// `level`), plus the family it was drawn from.
public struct WorldProblem: Codable, Sendable, Equatable {
    public var id: String
    public var problem: String
    public var answer: String
    public var subject: String
    /// The number of sub-procedures it chains, as text like the MATH files' "Level 2".
    public var level: String
    public var family: String
}

/// A question of the world read back from its text: which family and which numbers.
public struct ParsedQuestion: Sendable {
    public let family: Family
    public let values: [String: Int]
}

/// The scripted offline world: procedural problem families whose sub-procedures recur,
/// with seeded train/test splits, and the parser the scripted models read questions with.
public struct World: Sendable {
    public let seed: UInt64
    public init(seed: UInt64 = 0) { self.seed = seed }

    /// `train` and `test` problems, disjoint by question text, families taken in turn so any
    /// prefix is balanced (a family whose texts run out is skipped).
    public func splits(train: Int, test: Int) -> (train: [WorldProblem], test: [WorldProblem]) {
        var g = SplitMix64(seed: seed)
        var seen = Set<String>()
        var problems: [WorldProblem] = []
        var exhausted = Set<String>()
        var turn = 0
        while problems.count < train + test, exhausted.count < Family.all.count {
            let family = Family.all[turn % Family.all.count]
            turn += 1
            if exhausted.contains(family.name) { continue }
            // A family gets a fixed number of draws per turn to find a text not seen yet.
            var drawn: WorldProblem?
            for _ in 0..<500 {
                guard let values = family.sample(&g) else { continue }
                let template = family.templates[Int.random(in: 0..<family.templates.count, using: &g)]
                let name = Family.names[Int.random(in: 0..<Family.names.count, using: &g)]
                let text = World.fill(template, values, name: name)
                guard seen.insert(text).inserted else { continue }
                let split = problems.count < train ? "train" : "test"
                let index = problems.count < train ? problems.count : problems.count - train
                drawn = WorldProblem(id: "world/\(split)/\(index)", problem: text, answer: String(family.solve(values).last!),
                                     subject: family.subject, level: "Level \(family.plan.count)", family: family.name)
                break
            }
            if let drawn { problems.append(drawn) } else { exhausted.insert(family.name) }
        }
        return (Array(problems.prefix(train)), Array(problems.dropFirst(train)))
    }

    static func fill(_ template: String, _ values: [String: Int], name: String) -> String {
        var s = template.replacingOccurrences(of: "{name}", with: name)
        for (k, v) in values { s = s.replacingOccurrences(of: "{\(k)}", with: String(v)) }
        return s
    }

    /// Reads a question of the world back into its family and numbers; nil for any other text.
    public static func parse(_ question: String) -> ParsedQuestion? {
        let q = question.trimmingCharacters(in: .whitespacesAndNewlines)
        for (family, patterns) in compiled {
            for (regex, keys) in patterns {
                guard let m = regex.firstMatch(in: q, range: NSRange(q.startIndex..., in: q)) else { continue }
                var values: [String: Int] = [:]
                for (i, key) in keys.enumerated() where key != "name" {
                    guard let r = Range(m.range(at: i + 1), in: q), let v = Int(q[r]) else { return nil }
                    values[key] = v
                }
                return ParsedQuestion(family: family, values: values)
            }
        }
        return nil
    }

    /// Each template as an anchored regular expression and the placeholder of each group.
    private static let compiled: [(Family, [(NSRegularExpression, [String])])] = Family.all.map { f in
        (f, f.templates.map { t in
            var pattern = "^", keys: [String] = []
            var rest = Substring(t)
            while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
                pattern += NSRegularExpression.escapedPattern(for: String(rest[..<open]))
                let key = String(rest[rest.index(after: open)..<close])
                pattern += key == "name" ? "([A-Z][a-z]+)" : "(\\d+)"
                keys.append(key)
                rest = rest[rest.index(after: close)...]
            }
            pattern += NSRegularExpression.escapedPattern(for: String(rest)) + "$"
            return (try! NSRegularExpression(pattern: pattern), keys)
        })
    }
}
