import Foundation

/// One graded response of an eval run: a line of the run's `samples.jsonl`. This is the
/// on-disk format; the JSON keys are the snake_case names in CodingKeys.
public struct EvalSample: Codable, Equatable, Sendable {
    public var problemID: String
    public var subject: String?
    /// MATH levels are "1"…"5"; other benchmarks may have none.
    public var level: String?
    /// The enforced maximum number of output tokens.
    public var budget: Int
    /// Index of this sample among the problem's samples at this budget (0-based).
    public var sample: Int
    public var response: String
    public var extracted: String?
    public var extraction: Extraction.Status
    public var gold: String
    public var correct: Bool
    public var reason: String
    /// Generated tokens only; the prompt is not counted (the paper's convention).
    public var outputTokens: Int
    /// Generation stopped at the budget rather than at an end of sequence.
    public var truncated: Bool
    /// Optional label of the arm (e.g. "bc-sft", "vanilla-sft") when runs are pooled.
    public var arm: String?
    /// What the prompt held, when a pipeline made it: "vanilla", "bci", or "vanilla_fallback"
    /// (a handbook was given but retrieval found nothing for this problem).
    public var mode: String?

    enum CodingKeys: String, CodingKey {
        case subject, level, budget, sample, response, extracted, extraction, gold, correct, reason, truncated, arm, mode
        case problemID = "problem_id", outputTokens = "output_tokens"
    }

    public init(problemID: String, subject: String? = nil, level: String? = nil, budget: Int, sample: Int, response: String,
                extracted: String?, extraction: Extraction.Status, gold: String, correct: Bool, reason: String,
                outputTokens: Int, truncated: Bool, arm: String? = nil) {
        self.problemID = problemID
        self.subject = subject
        self.level = level
        self.budget = budget
        self.sample = sample
        self.response = response
        self.extracted = extracted
        self.extraction = extraction
        self.gold = gold
        self.correct = correct
        self.reason = reason
        self.outputTokens = outputTokens
        self.truncated = truncated
        self.arm = arm
    }

    /// Grades `response` against `gold` and fills in the verdict fields.
    public init(problemID: String, subject: String? = nil, level: String? = nil, budget: Int, sample: Int, response: String,
                gold: String, outputTokens: Int, truncated: Bool, arm: String? = nil, grader: Grader) {
        let v = grader.grade(pred: response, gold: gold)
        self.init(problemID: problemID, subject: subject, level: level, budget: budget, sample: sample, response: response,
                  extracted: v.extracted, extraction: v.extraction, gold: gold, correct: v.correct, reason: v.reason,
                  outputTokens: outputTokens, truncated: truncated, arm: arm)
    }

    // Optional fields are written as null rather than left out, so every line has every key.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(problemID, forKey: .problemID)
        try c.encode(subject, forKey: .subject)
        try c.encode(level, forKey: .level)
        try c.encode(budget, forKey: .budget)
        try c.encode(sample, forKey: .sample)
        try c.encode(response, forKey: .response)
        try c.encode(extracted, forKey: .extracted)
        try c.encode(extraction, forKey: .extraction)
        try c.encode(gold, forKey: .gold)
        try c.encode(correct, forKey: .correct)
        try c.encode(reason, forKey: .reason)
        try c.encode(outputTokens, forKey: .outputTokens)
        try c.encode(truncated, forKey: .truncated)
        try c.encode(arm, forKey: .arm)
        try c.encodeIfPresent(mode, forKey: .mode)
    }
}
