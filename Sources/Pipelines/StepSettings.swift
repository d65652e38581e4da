import Foundation
import Settings

/// The settings every step that asks a model shares: which problems, how to sample, which
/// model (`backend`), and the prompt templates (`prompts`: a folder overriding data/prompts).
/// Their keys sit at the top level of each step's settings, beside the step's own.
public protocol ModelStepSettings: Settings {
    var problems: ProblemSelection { get set }
    var sampling: Sampling { get set }
    var backend: Backend { get set }
    var prompts: String? { get set }
}

private enum SharedKeys: String, CodingKey { case backend, prompts }

extension ModelStepSettings {
    /// Reads the shared keys (call first in `init(from:)`).
    mutating func decodeShared(from decoder: Decoder) throws {
        problems = try ProblemSelection(from: decoder)
        sampling = try Sampling(from: decoder)
        let c = try decoder.container(keyedBy: SharedKeys.self)
        try c.update(&backend, .backend)
        try c.update(&prompts, .prompts)
    }

    func encodeShared(to encoder: Encoder) throws {
        try problems.encode(to: encoder)
        try sampling.encode(to: encoder)
        var c = encoder.container(keyedBy: SharedKeys.self)
        try c.encode(backend, forKey: .backend)
        try c.encodeIfPresent(prompts, forKey: .prompts)
    }

    func validateShared() throws {
        try problems.validate()
        try sampling.validate()
        try backend.validate()
    }

    /// The prompt templates: data/prompts with the `prompts` folder's overrides.
    public func promptSet() throws -> PromptSet { try PromptSet(overrides: prompts.map { URL(fileURLWithPath: $0) }) }
}

/// The keys of steps that may be behavior-conditioned (given a handbook) and sample several
/// responses per problem: `retrieval`, `k`, `embedding` and `samples`, beside the model step's keys.
public protocol ConditionedStepSettings: ModelStepSettings {
    var retrieval: RetrievalSettings { get set }
    /// Responses per problem (per budget where there are several).
    var samples: Int { get set }
}

private enum ConditionedKeys: String, CodingKey { case samples }

extension ConditionedStepSettings {
    mutating func decodeConditioned(from decoder: Decoder) throws {
        try decodeShared(from: decoder)
        retrieval = try RetrievalSettings(from: decoder)
        let c = try decoder.container(keyedBy: ConditionedKeys.self)
        try c.update(&samples, .samples)
    }

    func encodeConditioned(to encoder: Encoder) throws {
        try encodeShared(to: encoder)
        try retrieval.encode(to: encoder)
        var c = encoder.container(keyedBy: ConditionedKeys.self)
        try c.encode(samples, forKey: .samples)
    }

    func validateConditioned() throws {
        try validateShared()
        try retrieval.validate()
        try retrieval.check(backend: backend)
        guard samples >= 1 else { throw SettingsError.invalid("samples", "must be at least 1") }
    }
}

/// A list of output budgets (`budgets: [2048, 4096]`): non-empty, each at least 1 token.
func checkBudgets(_ budgets: [Int], key: String = "budgets") throws {
    guard !budgets.isEmpty, budgets.allSatisfy({ $0 >= 1 }) else {
        throw SettingsError.invalid(key, "must be a non-empty list of positive token counts")
    }
}

/// `bcsft extract` and `kind: extract`: for each problem `samples` solutions, a reflection on
/// each and the behaviors in it, merged into a handbook.
public struct ExtractSettings: ModelStepSettings {
    public var problems = ProblemSelection()
    public var sampling = Sampling()
    public var backend = Backend()
    public var prompts: String?
    /// Solutions (traces) per problem, each reflected on: the paper's AIME handbook reads 16.
    public var samples = 1
    /// Also reflect on a solution cut off while thinking (no answer); left out and counted by default.
    public var includeUnfinished = false
    /// Also merge behaviors whose embeddings have at least this cosine similarity (e.g. 0.92);
    /// needs an embedding server (`embedding`), or the scripted backend.
    public var mergeSimilar: Double?
    public var embedding = EmbeddingSettings()

    enum CodingKeys: String, CodingKey { case samples, includeUnfinished = "include_unfinished", mergeSimilar = "merge_similar", embedding }

    public init() {}

    public init(from decoder: Decoder) throws {
        self.init()
        try decodeShared(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.update(&samples, .samples)
        try c.update(&includeUnfinished, .includeUnfinished)
        try c.update(&mergeSimilar, .mergeSimilar)
        try c.update(&embedding, .embedding)
    }

    public func encode(to encoder: Encoder) throws {
        try encodeShared(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(samples, forKey: .samples)
        try c.encode(includeUnfinished, forKey: .includeUnfinished)
        try c.encodeIfPresent(mergeSimilar, forKey: .mergeSimilar)
        try c.encode(embedding, forKey: .embedding)
    }

    public func validate() throws {
        try validateShared()
        guard samples >= 1 else { throw SettingsError.invalid("samples", "must be at least 1") }
        if let t = mergeSimilar, !(0...1).contains(t) { throw SettingsError.invalid("merge_similar", "must be in [0, 1]") }
        try embedding.validate()
        if mergeSimilar != nil { try embedding.require(for: "merge_similar", backend: backend) }
    }
}

/// `bcsft solve` and `kind: solve`: vanilla or behavior-conditioned inference, n samples per problem.
public struct SolveSettings: ConditionedStepSettings {
    public var problems = ProblemSelection()
    public var sampling = Sampling()
    public var backend = Backend()
    public var prompts: String?
    public var retrieval = RetrievalSettings()
    public var samples = 1
    public var promptStyle = SolvePipeline.PromptStyle.template

    enum CodingKeys: String, CodingKey { case promptStyle = "prompt_style" }

    public init() {}

    public init(from decoder: Decoder) throws {
        self.init()
        try decodeConditioned(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.update(&promptStyle, .promptStyle)
    }

    public func encode(to encoder: Encoder) throws {
        try encodeConditioned(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(promptStyle, forKey: .promptStyle)
    }

    public func validate() throws { try validateConditioned() }
}

/// `bcsft improve` and `kind: improve`: behavior-guided self-improvement against
/// critique-and-revise. `max_tokens` is the budget of the first attempts and the feedback,
/// `budgets` those of the second attempt.
public struct ImproveSettings: ModelStepSettings {
    /// How the critique-and-revise baseline asks: the paper's one pass (Q, R1) -> R2, or a
    /// critique request and then a revision given it (both requests' tokens are counted).
    public enum CritiqueRevise: String, Sendable, Codable, CaseIterable, SettingChoice {
        case onePass = "one_pass", twoCalls = "two_calls"
    }

    public var problems = ProblemSelection()
    public var sampling = Sampling()
    public var backend = Backend()
    public var prompts: String?
    public var budgets = [2048, 4096, 8192, 16384]
    /// First attempts (R1) per problem, each improved on by both methods: pass@k over them.
    public var samples = 1
    public var critiqueRevise = CritiqueRevise.onePass

    enum CodingKeys: String, CodingKey { case budgets, samples, critiqueRevise = "critique_revise" }

    public init() {}

    public init(from decoder: Decoder) throws {
        self.init()
        try decodeShared(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.update(&budgets, .budgets)
        try c.update(&samples, .samples)
        try c.update(&critiqueRevise, .critiqueRevise)
    }

    public func encode(to encoder: Encoder) throws {
        try encodeShared(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(budgets, forKey: .budgets)
        try c.encode(samples, forKey: .samples)
        try c.encode(critiqueRevise, forKey: .critiqueRevise)
    }

    public func validate() throws {
        try validateShared()
        try checkBudgets(budgets)
        guard samples >= 1 else { throw SettingsError.invalid("samples", "must be at least 1") }
    }
}

/// `bcsft generate` and `kind: generate`: teacher responses for an SFT set, vanilla or
/// behavior-conditioned (a handbook given), n per question.
public struct GenerateSettings: ConditionedStepSettings {
    public var problems = ProblemSelection()
    public var sampling = Sampling()
    public var backend = Backend()
    public var prompts: String?
    public var retrieval = RetrievalSettings()
    public var samples = 1
    /// Keep only responses the grader accepts (problems need an answer).
    public var filterCorrect = false
    /// Keep responses that hit the budget (they have no final answer).
    public var keepTruncated = false
    /// Put the teacher's separate reasoning into the assistant turn as a <think> span.
    public var keepReasoning = true

    enum CodingKeys: String, CodingKey { case filterCorrect = "filter_correct", keepTruncated = "keep_truncated", keepReasoning = "keep_reasoning" }

    public init() {}

    public init(from decoder: Decoder) throws {
        self.init()
        try decodeConditioned(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.update(&filterCorrect, .filterCorrect)
        try c.update(&keepTruncated, .keepTruncated)
        try c.update(&keepReasoning, .keepReasoning)
    }

    public func encode(to encoder: Encoder) throws {
        try encodeConditioned(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(filterCorrect, forKey: .filterCorrect)
        try c.encode(keepTruncated, forKey: .keepTruncated)
        try c.encode(keepReasoning, forKey: .keepReasoning)
    }

    public func validate() throws { try validateConditioned() }
}

/// `bcsft eval` and `kind: eval`: a model on a problems file at each budget, n samples each,
/// every response graded.
public struct EvalSettings: ConditionedStepSettings {
    public var problems = ProblemSelection()
    public var sampling = Sampling()
    public var backend = Backend()
    public var prompts: String?
    public var retrieval = RetrievalSettings()
    public var samples = 1
    /// Output budgets; nil: one, `max_tokens`.
    public var budgets: [Int]?
    /// Label written into every sample (e.g. bc-sft).
    public var arm: String?
    /// nil: the bare question for a local student (as it was trained), the templates otherwise.
    public var promptStyle: SolvePipeline.PromptStyle?

    enum CodingKeys: String, CodingKey { case budgets, arm, promptStyle = "prompt_style" }

    public init() {}

    public init(from decoder: Decoder) throws {
        self.init()
        try decodeConditioned(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.update(&budgets, .budgets)
        try c.update(&arm, .arm)
        try c.update(&promptStyle, .promptStyle)
    }

    public func encode(to encoder: Encoder) throws {
        try encodeConditioned(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(budgets, forKey: .budgets)
        try c.encodeIfPresent(arm, forKey: .arm)
        try c.encodeIfPresent(promptStyle, forKey: .promptStyle)
    }

    /// The budgets evaluated: `budgets`, else `max_tokens` alone.
    public var resolvedBudgets: [Int] { budgets ?? [sampling.maxTokens] }

    /// What the user turn holds: `prompt_style`, else the bare question for a local student.
    public var resolvedPromptStyle: SolvePipeline.PromptStyle { promptStyle ?? (backend.resolvedKind == .local ? .question : .template) }

    public func validate() throws {
        try validateConditioned()
        if let budgets { try checkBudgets(budgets) }
    }
}
