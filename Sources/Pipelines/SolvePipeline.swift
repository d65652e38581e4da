import Behaviors
import Foundation
import Settings
import Teachers

/// One sampled response to a problem, vanilla or behavior-conditioned.
public struct SolveRecord: Codable, Sendable {
    public var problemID: String
    public var sample: Int
    /// `Mode`: "vanilla", "bci" or "vanilla_fallback".
    public var mode: String
    public var retrieval: String?
    /// The behaviors put in the prompt, and those the response cites.
    public var behaviors: [String]
    public var cited: [String]
    public var response: String
    public var reasoning: String?
    public var finishReason: String?
    /// Output tokens (thinking plus answer), as the paper counts them.
    public var outputTokens: Int
    public var model: String
    public var promptVersion: String
    public var gold: String?
    public var subject: String?
    public var level: String?

    enum CodingKeys: String, CodingKey {
        case sample, mode, retrieval, behaviors, cited, response, reasoning, model, gold, subject, level
        case problemID = "problem_id", finishReason = "finish_reason", outputTokens = "output_tokens", promptVersion = "prompt_version"
    }
}

/// `bcsft solve`: vanilla inference or behavior-conditioned inference (BCI) on a problems
/// file, n samples each.
public enum SolvePipeline {
    /// What the user turn holds.
    public enum PromptStyle: String, Sendable, Codable, CaseIterable, SettingChoice {
        /// The `solution` template, or `bci` with behaviors (teachers).
        case template
        /// The bare question: how SFT students were trained (their data's user turn).
        case question
    }

    public static func run(problems: [Problem], model: LanguageModel, sampling: Sampling, samples: Int, prompts: PromptSet,
                           selector: BehaviorSelector?, style: PromptStyle = .template, maxInFlight: Int,
                           progress: ConcurrentRunner.Progress? = nil) async -> (records: [SolveRecord], failure: PipelineError?) {
        let jobs = problems.flatMap { p in (0..<max(1, samples)).map { (p, $0) } }
        let results = await ConcurrentRunner.run(jobs, maxInFlight: maxInFlight, progress: progress) { job in
            try await solve(job.0, sample: job.1, model: model, sampling: sampling, prompts: prompts, selector: selector, style: style)
        }
        let (records, failure) = ConcurrentRunner.partition(results, pipeline: "solve")
        return (records, failure)
    }

    /// The prompt for a problem: the bare question, or the solution prompt with the behaviors
    /// block before it when there are behaviors (`PromptSet.solve`).
    static func prompt(_ p: Problem, prompts: PromptSet, behaviors: [Behavior], style: PromptStyle) throws -> String {
        style == .question ? p.problem : try prompts.solve(p.problem, behaviors: behaviors)
    }

    public static func solve(_ p: Problem, sample: Int, model: LanguageModel, sampling: Sampling, prompts: PromptSet,
                             selector: BehaviorSelector?, style: PromptStyle = .template) async throws -> SolveRecord {
        // A retrieval that finds nothing sends the vanilla prompt and is recorded as a fallback,
        // so a "bci" figure never includes problems answered without behaviors.
        let behaviors = try await selector?.select(for: p).map(\.behavior) ?? []
        let c = try await model.complete([.user(try prompt(p, prompts: prompts, behaviors: behaviors, style: style))], sampling.sample(sample))
        let choice = c.choices.first
        let text = (choice?.reasoning ?? "") + "\n" + (choice?.content ?? "")
        let mode: Mode = selector == nil ? .vanilla : behaviors.isEmpty ? .vanillaFallback : .bci
        return SolveRecord(problemID: p.id, sample: sample, mode: mode.rawValue,
                           retrieval: selector?.method.rawValue, behaviors: behaviors.map(\.name),
                           cited: BehaviorParser.citations(in: text, known: behaviors.map(\.name)),
                           response: choice?.content ?? "", reasoning: choice?.reasoning, finishReason: choice?.finishReason,
                           outputTokens: c.usage?.completionTokens ?? 0, model: model.name, promptVersion: prompts.version,
                           gold: p.answer, subject: p.subject, level: p.level)
    }

    /// What a record's prompt held: no handbook (vanilla), behaviors (bci), or a handbook whose
    /// retrieval found nothing for this problem, so the vanilla prompt went (vanilla_fallback).
    public enum Mode: String, Sendable, CaseIterable { case vanilla, bci, vanillaFallback = "vanilla_fallback" }

    /// Records per mode, for summaries: `{"bci": 180, "vanilla_fallback": 20}`.
    public static func modeCounts(_ records: [SolveRecord]) -> [String: Int] {
        records.reduce(into: [:]) { $0[$1.mode, default: 0] += 1 }
    }

    /// The counts as a log reads them: `bci 180, vanilla_fallback 20`.
    public static func modeLine(_ records: [SolveRecord]) -> String {
        modeCounts(records).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }
}
