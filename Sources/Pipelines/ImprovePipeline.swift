import Behaviors
import Evaluation
import Foundation
import Settings
import Teachers

/// One second attempt (R2) at a problem under one budget, by one self-improvement method,
/// from one first attempt (R1).
public struct ImproveRecord: Codable, Sendable {
    public var problemID: String
    /// Which first attempt of the problem (`samples` per problem).
    public var sample: Int
    /// "critique_revise" (the baseline) or "behavior_guided".
    public var method: String
    public var budget: Int
    /// R1 as the model wrote it: reasoning trace in a `<think>` span, then the answer.
    public var attempt: String
    /// The critique (two-call critique-and-revise), or the behaviors extracted from R1; empty
    /// for one-pass critique-and-revise, whose critique is part of the response.
    public var feedback: String
    /// "vanilla_fallback" when no behavior came out of R1 and the vanilla prompt went instead.
    public var mode: String?
    public var response: String
    public var reasoning: String?
    public var finishReason: String?
    /// R2's output tokens, thinking included (the one-pass critique is part of them).
    public var outputTokens: Int
    /// Output tokens spent on the feedback before R2: the separate critique, or the reflection
    /// and behavior requests. R1's own tokens are not counted (both methods share R1).
    public var feedbackTokens: Int
    public var gold: String?
    public var correct: Bool?

    enum CodingKeys: String, CodingKey {
        case sample, method, budget, attempt, feedback, mode, response, reasoning, gold, correct
        case problemID = "problem_id", finishReason = "finish_reason", outputTokens = "output_tokens", feedbackTokens = "feedback_tokens"
    }
}

/// `bcsft improve`: the paper's behavior-guided self-improvement against the
/// critique-and-revise baseline. The model makes `samples` first attempts (R1) at each
/// problem; for each R1 and budget, (a) critique-and-revise, (Q, R1) -> R2, in one request (or
/// two: critique, then revise), and (b) behaviors extracted from R1 (reflection, then
/// behaviors), then (B, Q) -> R2 with the BCI prompt. The strategist reads R1 whole, trace
/// included.
public enum ImprovePipeline {
    public enum Method: String, CaseIterable, Sendable { case critiqueRevise = "critique_revise", behaviorGuided = "behavior_guided" }

    /// One method at one budget.
    public struct Point: Codable, Sendable {
        public var method: String
        public var budget: Int
        /// Mean pass@1 over every R2 (graded problems only).
        public var accuracy: Double?
        /// pass@k over the problem's R2s, k = samples (the unbiased estimator; with k = n it is
        /// "any R2 correct").
        public var passAtK: Double?
        public var k: Int
        /// Mean R2 output tokens.
        public var meanTokens: Double
        /// Mean R2 plus feedback output tokens: what the method spends after R1.
        public var meanTotalTokens: Double
        public var n: Int

        enum CodingKeys: String, CodingKey {
            case method, budget, accuracy, k, n
            case passAtK = "pass_at_k", meanTokens = "mean_tokens", meanTotalTokens = "mean_total_tokens"
        }
    }

    public static func run(problems: [Problem], model: LanguageModel, settings: ImproveSettings, prompts: PromptSet, verify: Verify?,
                           progress: ConcurrentRunner.Progress? = nil) async -> (records: [ImproveRecord], points: [Point], failure: PipelineError?) {
        let jobs = problems.flatMap { p in (0..<settings.samples).map { (p, $0) } }
        let results = await ConcurrentRunner.run(jobs, maxInFlight: settings.backend.concurrency, progress: progress) { job in
            try await improve(job.0, sample: job.1, model: model, settings: settings, prompts: prompts, verify: verify)
        }
        let (nested, failure) = ConcurrentRunner.partition(results, pipeline: "improve")
        let records = nested.flatMap { $0 }
        return (records, points(records, budgets: settings.budgets), failure)
    }

    static func points(_ records: [ImproveRecord], budgets: [Int]) -> [Point] {
        var points: [Point] = []
        for method in Method.allCases {
            for b in budgets {
                let rs = records.filter { $0.method == method.rawValue && $0.budget == b }
                let graded = rs.filter { $0.correct != nil }
                let byProblem = Dictionary(grouping: graded, by: \.problemID).values
                let k = byProblem.map(\.count).min() ?? 0
                func mean(_ xs: [Double]) -> Double { xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count) }
                points.append(Point(
                    method: method.rawValue, budget: b,
                    accuracy: graded.isEmpty ? nil : mean(graded.map { $0.correct! ? 1 : 0 }),
                    passAtK: k == 0 ? nil : mean(byProblem.map { PassAtK.estimate(n: $0.count, c: $0.count(where: { $0.correct! }), k: k) }),
                    k: k, meanTokens: mean(rs.map { Double($0.outputTokens) }),
                    meanTotalTokens: mean(rs.map { Double($0.outputTokens + $0.feedbackTokens) }), n: rs.count))
            }
        }
        return points
    }

    /// The points as a table, one line per method and budget, with a header.
    public static func table(_ points: [Point]) -> [String] {
        ["method            budget  accuracy  pass@k (k)    mean tokens  with feedback"] + points.map { p in
            func pct(_ x: Double?) -> String { x.map { String(format: "%.1f%%", $0 * 100) } ?? "n/a" }
            return String(format: "%-17@ %6d  %8@  %7@ (%2d)  %11.1f  %13.1f", p.method as NSString, p.budget, pct(p.accuracy) as NSString,
                          pct(p.passAtK) as NSString, p.k, p.meanTokens, p.meanTotalTokens)
        }
    }

    static func improve(_ p: Problem, sample: Int, model: LanguageModel, settings: ImproveSettings, prompts: PromptSet,
                        verify: Verify?) async throws -> [ImproveRecord] {
        func ask(_ prompt: String, budget: Int) async throws -> (choice: Choice, tokens: Int) {
            var s = settings.sampling.sample(sample)
            s.maxTokens = budget
            let c = try await model.complete([.user(prompt)], s)
            return (c.choices.first ?? Choice(content: ""), c.usage?.completionTokens ?? 0)
        }
        let feedbackBudget = settings.sampling.maxTokens
        let attempt = try await ask(try prompts.solve(p.problem), budget: feedbackBudget).choice.transcript
        // Feedback does not depend on the budget: one critique, one set of behaviors per R1.
        var critique = (text: "", tokens: 0)
        if settings.critiqueRevise == .twoCalls {
            let c = try await ask(try prompts.render(.critique, ["problem": p.problem, "solution": attempt]), budget: feedbackBudget)
            critique = (c.choice.content, c.tokens)
        }
        let reflection = try await ask(try prompts.render(.reflection, ["problem": p.problem, "solution": attempt]), budget: feedbackBudget)
        let raw = try await ask(try prompts.render(.behaviors, ["problem": p.problem, "solution": attempt, "reflection": reflection.choice.content]),
                                budget: feedbackBudget)
        let behaviors = BehaviorParser.parse(raw.choice.content).behaviors
            .map { Behavior(name: $0.name, instruction: $0.instruction, sources: [p.id], createdBy: model.name) }
        let revisePrompt = settings.critiqueRevise == .onePass
            ? try prompts.render(.revise, ["problem": p.problem, "solution": attempt])
            : try prompts.render(.reviseWithCritique, ["problem": p.problem, "solution": attempt, "critique": critique.text])
        var out: [ImproveRecord] = []
        for budget in settings.budgets {
            let revised = try await ask(revisePrompt, budget: budget)
            let guided = try await ask(try prompts.solve(p.problem, behaviors: behaviors), budget: budget)
            for (method, r, feedback, feedbackTokens, mode) in [
                (Method.critiqueRevise, revised, critique.text, critique.tokens, nil as String?),
                (Method.behaviorGuided, guided, PromptTemplate.behaviorLines(behaviors), reflection.tokens + raw.tokens,
                 behaviors.isEmpty ? SolvePipeline.Mode.vanillaFallback.rawValue : SolvePipeline.Mode.bci.rawValue),
            ] {
                let response = r.choice.content
                out.append(ImproveRecord(problemID: p.id, sample: sample, method: method.rawValue, budget: budget, attempt: attempt,
                                         feedback: feedback, mode: mode, response: response, reasoning: r.choice.reasoning,
                                         finishReason: r.choice.finishReason, outputTokens: r.tokens, feedbackTokens: feedbackTokens,
                                         gold: p.answer, correct: p.answer.flatMap { gold in verify.map { $0(response, gold) } }))
            }
        }
        return out
    }
}
