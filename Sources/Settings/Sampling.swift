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
    /// The output budget of one response, thinking included.
    public var maxTokens = 4096
    /// Base seed: sample i of a step uses seed + i. nil leaves it to the server.
    public var seed: Int? = 0
    /// Generation ends at any of these strings (cut before it).
    public var stop: [String] = []
    /// Responses per request: the pipelines set it from their `samples`; not a setting.
    public var n = 1

    enum CodingKeys: String, CodingKey, CaseIterable {
        case temperature, topP = "top_p", topK = "top_k", maxTokens = "max_tokens", seed, stop
    }

    public init() {}

    /// A sampling that differs from the defaults where arguments are given.
    public init(temperature: Double? = nil, topP: Double? = nil, topK: Int? = nil, maxTokens: Int? = nil, n: Int? = nil,
                stop: [String]? = nil, seed: Int? = nil) {
        if let temperature { self.temperature = temperature }
        if let topP { self.topP = topP }
        if let topK { self.topK = topK }
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
        try c.update(&maxTokens, .maxTokens)
        try c.update(&seed, .seed)
        try c.update(&stop, .stop)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(temperature, forKey: .temperature)
        try c.encode(topP, forKey: .topP)
        try c.encode(topK, forKey: .topK)
        try c.encode(maxTokens, forKey: .maxTokens)
        try c.encodeIfPresent(seed, forKey: .seed)
        try c.encode(stop, forKey: .stop)
    }

    /// Sample `i` of a step, as one request: n = 1 and seed + i, so every sample has its own draw
    /// and its own cache key (the `seed` setting's contract), wherever it is asked for.
    public func sample(_ i: Int) -> Sampling {
        var s = self
        s.n = 1
        s.seed = (seed ?? 0) &+ i
        return s
    }

    /// Values outside these ranges would be silently greedy (a negative temperature), mask every
    /// token (top_p 0) or fail deep inside torch or a server.
    public func validate() throws {
        guard temperature >= 0, temperature.isFinite else { throw SettingsError.invalid("temperature", "must be >= 0 (0 is greedy), got \(temperature)") }
        guard topP > 0, topP <= 1 else { throw SettingsError.invalid("top_p", "must lie in (0, 1], got \(topP)") }
        guard topK >= 0 else { throw SettingsError.invalid("top_k", "must be >= 0 (0 keeps every token), got \(topK)") }
        guard maxTokens >= 1 else { throw SettingsError.invalid("max_tokens", "must be at least 1, got \(maxTokens)") }
        guard n >= 1 else { throw SettingsError.invalid("n", "must be at least 1, got \(n)") }
    }
}
