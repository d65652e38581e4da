import Behaviors
import Foundation
import Settings
import Teachers

/// One trace's pass through the strategist: the solution (its reasoning trace and answer), a
/// reflection on it, and the behaviors read out of the behavior prompt's reply.
public struct ExtractRecord: Codable, Sendable {
    public struct Item: Codable, Sendable { public var name: String; public var instruction: String }
    public var problemID: String
    /// Which trace of the problem (`samples` traces per problem).
    public var sample: Int
    public var problem: String
    /// The answer part of the solution.
    public var solution: String
    /// The solution's reasoning trace (reasoning_content or its `<think>` span), when it had one.
    public var reasoning: String?
    public var finishReason: String?
    public var reflection: String
    public var rawBehaviors: String
    public var behaviors: [Item]
    /// How the reply was parsed: json, lines or unparseable.
    public var format: BehaviorParser.Format
    public var strategist: String
    public var promptVersion: String
    /// Output tokens of the three requests (solution, reflection, behaviors).
    public var outputTokens: Int

    enum CodingKeys: String, CodingKey {
        case sample, problem, solution, reasoning, reflection, behaviors, format, strategist
        case problemID = "problem_id", finishReason = "finish_reason", rawBehaviors = "raw_behaviors", promptVersion = "prompt_version",
             outputTokens = "output_tokens"
    }
}

/// `bcsft extract`: for each problem, `samples` solutions (reasoning trace and answer), a
/// reflection on each and the behaviors in it (the paper's metacognitive strategist), merged
/// into a handbook with provenance. The strategist reflects on the whole response, trace
/// included: the trace is where the recurring reasoning the behaviors capture lives.
public enum ExtractPipeline {
    public struct Summary: Sendable, Codable {
        public var problems = 0
        /// Solutions drawn (problems x samples).
        public var traces = 0
        /// Traces cut off while thinking (no answer) and left out (`include_unfinished: false`).
        public var skippedUnfinished = 0
        public var behaviorsFound = 0
        public var added = 0
        public var merged = 0
        public var formats: [String: Int] = [:]
        public var handbookSize = 0

        enum CodingKeys: String, CodingKey {
            case problems, traces, added, merged, formats
            case skippedUnfinished = "skipped_unfinished", behaviorsFound = "behaviors_found", handbookSize = "handbook_size"
        }
    }

    public static func run(problems: [Problem], strategist: LanguageModel, sampling: Sampling, samples: Int = 1, includeUnfinished: Bool = false,
                           prompts: PromptSet, handbook: inout Handbook, maxInFlight: Int,
                           progress: ConcurrentRunner.Progress? = nil) async throws -> (records: [ExtractRecord], summary: Summary, failure: PipelineError?) {
        let jobs = problems.flatMap { p in (0..<max(1, samples)).map { (p, $0) } }
        let results = await ConcurrentRunner.run(jobs, maxInFlight: maxInFlight, progress: progress) { job in
            try await extract(job.0, sample: job.1, strategist: strategist, sampling: sampling, includeUnfinished: includeUnfinished, prompts: prompts)
        }
        let (outcomes, failure) = ConcurrentRunner.partition(results, pipeline: "extract")
        var s = Summary()
        s.problems = Set(outcomes.map(\.problemID)).count
        s.traces = outcomes.count
        let records = outcomes.compactMap(\.record)
        s.skippedUnfinished = outcomes.count - records.count
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

    /// One trace: a record, or none when the solution ended while thinking and is skipped.
    struct Outcome: Sendable { var problemID: String; var record: ExtractRecord? }

    static func extract(_ p: Problem, sample: Int, strategist: LanguageModel, sampling: Sampling, includeUnfinished: Bool,
                        prompts: PromptSet) async throws -> Outcome {
        let s = sampling.sample(sample)
        var tokens = 0
        func ask(_ prompt: String) async throws -> Choice {
            let c = try await strategist.complete([.user(prompt)], s)
            tokens += c.usage?.completionTokens ?? 0
            return c.choices.first ?? Choice(content: "")
        }
        let solution = try await ask(try prompts.render(.solution, ["problem": p.problem]))
        if solution.endedWhileThinking, !includeUnfinished { return Outcome(problemID: p.id, record: nil) }
        let whole = solution.transcript
        let reflection = try await ask(try prompts.render(.reflection, ["problem": p.problem, "solution": whole])).content
        let raw = try await ask(try prompts.render(.behaviors, ["problem": p.problem, "solution": whole, "reflection": reflection])).content
        let parsed = BehaviorParser.parse(raw)
        return Outcome(problemID: p.id, record: ExtractRecord(
            problemID: p.id, sample: sample, problem: p.problem, solution: solution.content, reasoning: solution.reasoning,
            finishReason: solution.finishReason, reflection: reflection, rawBehaviors: raw,
            behaviors: parsed.behaviors.map { .init(name: Behavior.canonicalName($0.name), instruction: $0.instruction) },
            format: parsed.format, strategist: strategist.name, promptVersion: prompts.version, outputTokens: tokens))
    }
}
