import Behaviors
import Foundation
import Settings
import Teachers

/// One problem's pass through the strategist: its solution, a reflection on it, and the
/// behaviors read out of the behavior prompt's reply.
public struct ExtractRecord: Codable, Sendable {
    public struct Item: Codable, Sendable { public var name: String; public var instruction: String }
    public var problemID: String
    public var problem: String
    public var solution: String
    public var reflection: String
    public var rawBehaviors: String
    public var behaviors: [Item]
    /// How the reply was parsed: json, lines or unparseable.
    public var format: BehaviorParser.Format
    public var strategist: String
    public var promptVersion: String
    public var outputTokens: Int

    enum CodingKeys: String, CodingKey {
        case problem, solution, reflection, behaviors, format, strategist
        case problemID = "problem_id", rawBehaviors = "raw_behaviors", promptVersion = "prompt_version", outputTokens = "output_tokens"
    }
}

/// `bcsft extract`: solution, reflection and behaviors for each problem (the paper's
/// metacognitive strategist), merged into a handbook with provenance.
public enum ExtractPipeline {
    public struct Summary: Sendable, Codable {
        public var problems = 0
        public var behaviorsFound = 0
        public var added = 0
        public var merged = 0
        public var formats: [String: Int] = [:]
        public var handbookSize = 0
    }

    public static func run(problems: [Problem], strategist: LanguageModel, sampling: Sampling, prompts: PromptSet,
                           handbook: inout Handbook, maxInFlight: Int,
                           progress: ConcurrentRunner.Progress? = nil) async throws -> (records: [ExtractRecord], summary: Summary, failure: PipelineError?) {
        let results = await ConcurrentRunner.run(problems, maxInFlight: maxInFlight, progress: progress) { p in
            try await extract(p, strategist: strategist, sampling: sampling, prompts: prompts)
        }
        let (records, failure) = ConcurrentRunner.partition(results, pipeline: "extract")
        var s = Summary()
        s.problems = records.count
        let byID = Dictionary(problems.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for r in records {
            let p = byID[r.problemID]!
            s.formats[r.format.rawValue, default: 0] += 1
            for b in r.behaviors {
                s.behaviorsFound += 1
                let added = handbook.add(Behavior(name: b.name, instruction: b.instruction, topic: p.subject, sources: [p.id],
                                                  createdBy: r.strategist, promptVersion: r.promptVersion))
                if added { s.added += 1 } else { s.merged += 1 }
            }
        }
        s.handbookSize = handbook.count
        return (records, s, failure)
    }

    /// Merges behaviors whose embeddings have at least `threshold` cosine similarity (the
    /// `merge_similar` setting); returns how many were merged.
    public static func mergeSimilar(_ handbook: inout Handbook, threshold: Double, embed: Embed?) async throws -> Int {
        guard let embed else {
            throw PipelineError.invalid("merge_similar needs embeddings: name an embedding server (embedding.base_url, embedding.model)")
        }
        let vectors = try await embed(handbook.behaviors.map(\.promptLine))
        return handbook.mergeNearDuplicates(embeddings: Dictionary(uniqueKeysWithValues: zip(handbook.behaviors.map(\.id), vectors)),
                                            threshold: Float(threshold))
    }

    static func extract(_ p: Problem, strategist: LanguageModel, sampling: Sampling, prompts: PromptSet) async throws -> ExtractRecord {
        var tokens = 0
        func ask(_ prompt: String) async throws -> String {
            let c = try await strategist.complete([.user(prompt)], sampling)
            tokens += c.usage?.completionTokens ?? 0
            return c.choices.first?.content ?? ""
        }
        let solution = try await ask(try prompts.render(.solution, ["problem": p.problem]))
        let reflection = try await ask(try prompts.render(.reflection, ["problem": p.problem, "solution": solution]))
        let raw = try await ask(try prompts.render(.behaviors, ["problem": p.problem, "solution": solution, "reflection": reflection]))
        let parsed = BehaviorParser.parse(raw)
        return ExtractRecord(problemID: p.id, problem: p.problem, solution: solution, reflection: reflection, rawBehaviors: raw,
                             behaviors: parsed.behaviors.map { .init(name: Behavior.canonicalName($0.name), instruction: $0.instruction) },
                             format: parsed.format, strategist: strategist.name, promptVersion: prompts.version, outputTokens: tokens)
    }
}
