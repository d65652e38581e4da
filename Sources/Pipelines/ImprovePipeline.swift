import Behaviors
import Foundation
import Settings
import Teachers

/// One second attempt at a problem under one budget, by one self-improvement method.
public struct ImproveRecord: Codable, Sendable {
    public var problemID: String
    /// "critique_revise" (the baseline) or "behavior_guided".
    public var method: String
    public var budget: Int
    public var attempt: String
    /// The critique, or the behaviors extracted from the attempt.
    public var feedback: String
    public var response: String
    public var finishReason: String?
    public var outputTokens: Int
    public var gold: String?
    public var correct: Bool?

    enum CodingKeys: String, CodingKey {
        case method, budget, attempt, feedback, response, gold, correct
        case problemID = "problem_id", finishReason = "finish_reason", outputTokens = "output_tokens"
    }
}

/// `bcsft improve`: the paper's behavior-guided self-improvement against the
/// critique-and-revise baseline. The model first attempts each problem; then, for each
/// budget, (a) critiques its attempt and revises it, and (b) extracts behaviors from its own
/// attempt (reflection, then behaviors) and solves again with them in context (BCI).
public enum ImprovePipeline {
    public struct Point: Codable, Sendable {
        public var method: String
        public var budget: Int
        public var accuracy: Double?
        public var meanTokens: Double
        public var n: Int
    }

    public static func run(problems: [Problem], model: LanguageModel, sampling: Sampling, budgets: [Int], prompts: PromptSet,
                           verify: Verify?, maxInFlight: Int,
                           progress: ConcurrentRunner.Progress? = nil) async -> (records: [ImproveRecord], points: [Point], failure: PipelineError?) {
        let results = await ConcurrentRunner.run(problems, maxInFlight: maxInFlight, progress: progress) { p in
            try await improve(p, model: model, sampling: sampling, budgets: budgets, prompts: prompts, verify: verify)
        }
        let (nested, failure) = ConcurrentRunner.partition(results, pipeline: "improve")
        let records = nested.flatMap { $0 }
        var points: [Point] = []
        for method in ["critique_revise", "behavior_guided"] {
            for b in budgets {
                let rs = records.filter { $0.method == method && $0.budget == b }
                let graded = rs.compactMap(\.correct)
                points.append(Point(method: method, budget: b,
                                    accuracy: graded.isEmpty ? nil : Double(graded.filter { $0 }.count) / Double(graded.count),
                                    meanTokens: rs.isEmpty ? 0 : Double(rs.map(\.outputTokens).reduce(0, +)) / Double(rs.count), n: rs.count))
            }
        }
        return (records, points, failure)
    }

    /// The points as a table, one line per method and budget, with a header.
    public static func table(_ points: [Point]) -> [String] {
        ["method            budget  accuracy  mean tokens"] + points.map { p in
            String(format: "%-17@ %6d  %8@  %11.1f", p.method as NSString, p.budget,
                   (p.accuracy.map { String(format: "%.1f%%", $0 * 100) } ?? "n/a") as NSString, p.meanTokens)
        }
    }

    static func improve(_ p: Problem, model: LanguageModel, sampling: Sampling, budgets: [Int], prompts: PromptSet,
                        verify: Verify?) async throws -> [ImproveRecord] {
        func ask(_ prompt: String, budget: Int) async throws -> Completion {
            var s = sampling
            s.n = 1
            s.maxTokens = budget
            return try await model.complete([.user(prompt)], s)
        }
        let feedbackBudget = sampling.maxTokens
        let attempt = try await ask(try prompts.render(.solution, ["problem": p.problem]), budget: feedbackBudget).choices.first?.content ?? ""
        // Feedback does not depend on the budget: one critique, one set of behaviors.
        let critique = try await ask(try prompts.render(.critique, ["problem": p.problem, "solution": attempt]), budget: feedbackBudget).choices.first?.content ?? ""
        let reflection = try await ask(try prompts.render(.reflection, ["problem": p.problem, "solution": attempt]), budget: feedbackBudget).choices.first?.content ?? ""
        let raw = try await ask(try prompts.render(.behaviors, ["problem": p.problem, "solution": attempt, "reflection": reflection]),
                                budget: feedbackBudget).choices.first?.content ?? ""
        let behaviors = BehaviorParser.parse(raw).behaviors.map { Behavior(name: $0.name, instruction: $0.instruction, sources: [p.id], createdBy: model.name) }
        let behaviorLines = PromptTemplate.behaviorLines(behaviors)
        var out: [ImproveRecord] = []
        for budget in budgets {
            let revised = try await ask(try prompts.render(.revise, ["problem": p.problem, "solution": attempt, "critique": critique]), budget: budget)
            let guided = try await ask(try prompts.render(.bci, ["problem": p.problem, "behaviors": behaviorLines]), budget: budget)
            for (method, c, feedback) in [("critique_revise", revised, critique), ("behavior_guided", guided, behaviorLines)] {
                let response = c.choices.first?.content ?? ""
                out.append(ImproveRecord(problemID: p.id, method: method, budget: budget, attempt: attempt, feedback: feedback,
                                         response: response, finishReason: c.choices.first?.finishReason,
                                         outputTokens: c.usage?.completionTokens ?? 0, gold: p.answer,
                                         correct: p.answer.flatMap { gold in verify.map { $0(response, gold) } }))
            }
        }
        return out
    }
}
