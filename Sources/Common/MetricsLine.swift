import Foundation

/// One line of a trainer's `metrics.jsonl`, as the trainer writes it and reports read it:
/// `{"step":10,"loss":1.2,"lr":0.001,"grad_norm":0.5,"loss_tokens":1000,"tokens_per_s":2000,"val_loss":1.3}`.
/// Only `step` is required, so logs of other trainers and validation-only lines load too.
public struct MetricsLine: Codable, Equatable, Sendable {
    public var step: Int
    public var loss: Double?
    public var lr: Double?
    public var gradNorm: Double?
    public var lossTokens: Int?
    public var tokensPerSecond: Double?
    public var valLoss: Double?

    enum CodingKeys: String, CodingKey {
        case step, loss, lr
        case gradNorm = "grad_norm", lossTokens = "loss_tokens", tokensPerSecond = "tokens_per_s", valLoss = "val_loss"
    }

    public init(step: Int, loss: Double? = nil, lr: Double? = nil, gradNorm: Double? = nil, lossTokens: Int? = nil,
                tokensPerSecond: Double? = nil, valLoss: Double? = nil) {
        self.step = step
        self.loss = loss
        self.lr = lr
        self.gradNorm = gradNorm
        self.lossTokens = lossTokens
        self.tokensPerSecond = tokensPerSecond
        self.valLoss = valLoss
    }

    /// Reads a metrics.jsonl, sorted by step; a bad line is an error naming the file and line.
    public static func read(from url: URL) throws -> [MetricsLine] {
        try JSONLines.read(MetricsLine.self, from: url).sorted { $0.step < $1.step }
    }

    /// The line as written: compact JSON with sorted keys and a newline.
    public var text: String {
        get throws { try JSONLines.line(self) + "\n" }
    }

    /// A metrics file's lines up to `step`, and the rest (later steps, and lines that do not
    /// parse): what a resumed run keeps and what it sets aside.
    public static func split(_ text: String, after step: Int) -> (kept: [Substring], later: [Substring]) {
        var kept: [Substring] = [], later: [Substring] = []
        for line in text.split(separator: "\n") {
            if let m = try? JSONDecoder().decode(MetricsLine.self, from: Data(line.utf8)), m.step <= step { kept.append(line) } else { later.append(line) }
        }
        return (kept, later)
    }
}
