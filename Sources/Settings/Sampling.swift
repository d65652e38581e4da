/// How a model samples a response: the settings every step that asks a model shares (extract,
/// solve, improve, generate, eval, sample), the fields of an OpenAI-compatible request, and
/// what the in-process student's generation reads. The defaults are DeepSeek-R1's recommended
/// sampling and a 4096-token output budget (thinking included).
public struct Sampling: Settings, Hashable {
    /// 0 is greedy.
    public var temperature = 0.6
    /// Nucleus sampling: keep the smallest set of tokens whose probability reaches top_p.
    public var topP = 0.95
    /// Keep the top_k most likely tokens; 0 keeps every token.
    public var topK = 0
    /// Keep the tokens whose probability (after temperature) is at least min_p times the most
    /// likely one's; 0 keeps every token.
    public var minP = 0.0
    /// Logits of tokens already in the prompt or the output are divided by it where positive and
    /// multiplied where negative (transformers' and vLLM's definition); 1 leaves them.
    public var repetitionPenalty = 1.0
    /// The output budget of one response, thinking included.
    public var maxTokens = 4096
    /// Base seed: sample i of a step uses seed + i. nil leaves it to the server.
    public var seed: Int? = 0
    /// Generation ends at any of these strings (cut before it).
    public var stop: [String] = []
    /// Variables the model's chat template reads beside the conversation (`enable_thinking:
    /// false` for Qwen3): sent to a server as vLLM's and SGLang's `chat_template_kwargs`, and
    /// given to a local student's template over the variables it was trained with. Scalars only.
    public var chatTemplateKwargs: [String: SettingValue] = [:]
    /// Responses per request: the pipelines set it from their `samples`; not a setting.
    public var n = 1

    enum CodingKeys: String, CodingKey, CaseIterable {
        case temperature, topP = "top_p", topK = "top_k", minP = "min_p", repetitionPenalty = "repetition_penalty"
        case maxTokens = "max_tokens", seed, stop, chatTemplateKwargs = "chat_template_kwargs"
    }

    public init() {}

    /// A sampling that differs from the defaults where arguments are given.
    public init(temperature: Double? = nil, topP: Double? = nil, topK: Int? = nil, minP: Double? = nil, repetitionPenalty: Double? = nil,
                maxTokens: Int? = nil, n: Int? = nil, stop: [String]? = nil, seed: Int? = nil, chatTemplateKwargs: [String: SettingValue]? = nil) {
        if let temperature { self.temperature = temperature }
        if let topP { self.topP = topP }
        if let topK { self.topK = topK }
        if let minP { self.minP = minP }
        if let repetitionPenalty { self.repetitionPenalty = repetitionPenalty }
        if let chatTemplateKwargs { self.chatTemplateKwargs = chatTemplateKwargs }
        if let maxTokens { self.maxTokens = maxTokens }
        if let n { self.n = n }
        if let stop { self.stop = stop }
        if let seed { self.seed = seed }
    }

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.update(&temperature, .temperature)
        try c.update(&topP, .topP)
        try c.update(&topK, .topK)
        try c.update(&minP, .minP)
        try c.update(&repetitionPenalty, .repetitionPenalty)
        try c.update(&maxTokens, .maxTokens)
        try c.update(&seed, .seed)
        try c.update(&stop, .stop)
        try c.update(&chatTemplateKwargs, .chatTemplateKwargs)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(temperature, forKey: .temperature)
        try c.encode(topP, forKey: .topP)
        try c.encode(topK, forKey: .topK)
        try c.encode(minP, forKey: .minP)
        try c.encode(repetitionPenalty, forKey: .repetitionPenalty)
        try c.encode(maxTokens, forKey: .maxTokens)
        try c.encodeIfPresent(seed, forKey: .seed)
        try c.encode(stop, forKey: .stop)
        try c.encode(chatTemplateKwargs, forKey: .chatTemplateKwargs)
    }

    /// Sample `i` of a step, as one request: n = 1 and seed + i, so every sample has its own draw
    /// and its own cache key (the `seed` setting's contract), wherever it is asked for.
    public func sample(_ i: Int) -> Sampling {
        var s = self
        s.n = 1
        s.seed = (seed ?? 0) &+ i
        return s
    }

    /// Values outside these ranges would be silently greedy (a negative temperature, min_p 1),
    /// mask every token (top_p 0), turn the penalty into nonsense (0 or below) or fail deep
    /// inside torch or a server.
    public func validate() throws {
        guard temperature >= 0, temperature.isFinite else { throw SettingsError.invalid("temperature", "must be >= 0 (0 is greedy), got \(temperature)") }
        guard topP > 0, topP <= 1 else { throw SettingsError.invalid("top_p", "must lie in (0, 1], got \(topP)") }
        guard topK >= 0 else { throw SettingsError.invalid("top_k", "must be >= 0 (0 keeps every token), got \(topK)") }
        guard minP >= 0, minP < 1 else { throw SettingsError.invalid("min_p", "must lie in [0, 1) (0 keeps every token), got \(minP)") }
        guard repetitionPenalty > 0, repetitionPenalty.isFinite else {
            throw SettingsError.invalid("repetition_penalty", "must be > 0 (1 leaves logits as they are), got \(repetitionPenalty)")
        }
        for (key, value) in chatTemplateKwargs.sorted(by: { $0.key < $1.key }) {
            guard !key.isEmpty else { throw SettingsError.invalid("chat_template_kwargs", "holds an empty name") }
            switch value {
            case .bool, .int, .double, .string: continue
            default: throw SettingsError.invalid("chat_template_kwargs.\(key)", "must be a boolean, a number or a string, got \(value.typeName)")
            }
        }
        guard maxTokens >= 1 else { throw SettingsError.invalid("max_tokens", "must be at least 1, got \(maxTokens)") }
        guard n >= 1 else { throw SettingsError.invalid("n", "must be at least 1, got \(n)") }
    }
}
