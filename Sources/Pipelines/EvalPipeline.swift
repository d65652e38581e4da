import Evaluation
import Foundation
import Teachers

/// The grader as the pipelines' `Verify`.
public enum Grading {
    /// The default grader, shared (a Grader is an immutable value).
    public static let grader = Grader()
    public static let verify: Verify = { response, gold in grader.grade(pred: response, gold: gold).correct }
}

/// `bcsft eval`: a model (local checkpoint or any backend) on a problems file, n samples per
/// problem at each budget, every response graded. Output tokens count thinking plus answer,
/// as the paper counts them.
public enum EvalPipeline {
    public static func run(problems: [Problem], model: LanguageModel, settings options: EvalSettings, prompts: PromptSet,
                           selector: BehaviorSelector?, grader: Grader = Grader(),
                           progress: ConcurrentRunner.Progress? = nil) async throws -> (samples: [EvalSample], failure: PipelineError?) {
        if let p = problems.first(where: { $0.answer == nil }) { throw PipelineError.invalid("problem '\(p.id)' has no answer to grade against") }
        let sampling = options.sampling, style = options.resolvedPromptStyle, maxInFlight = options.backend.concurrency
        let jobs = options.resolvedBudgets.flatMap { b in problems.flatMap { p in (0..<max(1, options.samples)).map { (p, b, $0) } } }
        let results = await ConcurrentRunner.run(jobs, maxInFlight: maxInFlight, progress: progress) { job -> EvalSample in
            let (p, budget, i) = job
            var s = sampling
            s.maxTokens = budget
            let r = try await SolvePipeline.solve(p, sample: i, model: model, sampling: s, prompts: prompts, selector: selector, style: style)
            // Grade the whole output: extraction drops a thinking span itself.
            let full = r.reasoning.map { "<think>\($0)</think>" + r.response } ?? r.response
            var sample = EvalSample(problemID: p.id, subject: p.subject, level: p.level, budget: budget, sample: i, response: full,
                                    gold: p.answer!, outputTokens: r.outputTokens, truncated: r.finishReason == "length", arm: options.arm,
                                    grader: grader)
            sample.mode = r.mode
            return sample
        }
        let (samples, failure) = ConcurrentRunner.partition(results, pipeline: "eval")
        return (samples, failure)
    }
}
