import Behaviors
import Foundation
import Teachers

/// An SFT record as `bcsft generate` writes it: the `messages` format of the datasets
/// module, plus provenance. The user turn holds the question only, also for BC data: the
/// student never sees behaviors, it learns to answer as the behavior-conditioned teacher did.
public struct GeneratedRecord: Codable, Sendable {
    public struct Turn: Codable, Sendable { public var role: String; public var content: String }
    public struct Meta: Codable, Sendable {
        public var problemID: String
        public var sample: Int
        public var mode: String
        public var behaviors: [String]
        /// The behaviors the response cites, in order.
        public var cited: [String]
        public var teacher: String
        public var finishReason: String?
        public var outputTokens: Int
        public var correct: Bool?
        public var promptVersion: String

        enum CodingKeys: String, CodingKey {
            case sample, mode, behaviors, cited, teacher, correct
            case problemID = "problem_id", finishReason = "finish_reason", outputTokens = "output_tokens", promptVersion = "prompt_version"
        }
    }
    public var id: String
    public var messages: [Turn]
    public var meta: Meta
}

/// `bcsft generate`: teacher responses for SFT sets, vanilla or behavior-conditioned, n per
/// question, optionally only the correct ones.
public enum GeneratePipeline {
    public struct Summary: Codable, Sendable {
        public var requested = 0
        public var kept = 0
        public var droppedIncorrect = 0
        public var droppedTruncated = 0
        public var meanOutputTokens = 0.0
        public var citedBehaviors = 0
        /// Responses per prompt mode (vanilla, bci, vanilla_fallback: retrieval found nothing).
        public var modes: [String: Int] = [:]
    }

    public static func run(problems: [Problem], teacher: LanguageModel, settings options: GenerateSettings, prompts: PromptSet,
                           selector: BehaviorSelector?, verify: Verify?,
                           progress: ConcurrentRunner.Progress? = nil) async throws -> (records: [GeneratedRecord], summary: Summary, failure: PipelineError?) {
        if options.filterCorrect {
            guard verify != nil else { throw PipelineError.invalid("filter_correct needs a grader") }
            if let p = problems.first(where: { $0.answer == nil }) { throw PipelineError.invalid("filter_correct: problem '\(p.id)' has no answer") }
        }
        let (solved, failure) = await SolvePipeline.run(problems: problems, model: teacher, sampling: options.sampling, samples: options.samples,
                                                        prompts: prompts, selector: selector, maxInFlight: options.backend.concurrency,
                                                        progress: progress)
        let questions = Dictionary(problems.map { ($0.id, $0.problem) }, uniquingKeysWith: { a, _ in a })
        var s = Summary()
        s.requested = solved.count
        s.modes = SolvePipeline.modeCounts(solved)
        var out: [GeneratedRecord] = []
        for r in solved {
            let correct = r.gold.flatMap { gold in verify.map { $0(r.response, gold) } }
            if r.finishReason == "length", !options.keepTruncated { s.droppedTruncated += 1; continue }
            if options.filterCorrect, correct != true { s.droppedIncorrect += 1; continue }
            let answer = options.keepReasoning ? Choice.transcript(reasoning: r.reasoning, content: r.response) : r.response
            out.append(GeneratedRecord(id: "\(r.problemID)#\(r.sample)",
                                       messages: [.init(role: "user", content: questions[r.problemID]!), .init(role: "assistant", content: answer)],
                                       meta: .init(problemID: r.problemID, sample: r.sample, mode: r.mode, behaviors: r.behaviors, cited: r.cited, teacher: r.model,
                                                   finishReason: r.finishReason, outputTokens: r.outputTokens, correct: correct,
                                                   promptVersion: r.promptVersion)))
            s.citedBehaviors += r.cited.count
        }
        s.kept = out.count
        s.meanOutputTokens = out.isEmpty ? 0 : Double(out.map(\.meta.outputTokens).reduce(0, +)) / Double(out.count)
        return (out, s, failure)
    }
}
