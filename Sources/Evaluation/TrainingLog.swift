import Foundation

/// One line of a trainer's `metrics.jsonl` (Training.Trainer.Metrics writes them):
/// `{"step":10,"loss":1.2,"lr":0.001,"grad_norm":0.5,"loss_tokens":1000,"tokens_per_s":2000,"val_loss":1.3}`.
/// Only `step` is required, so logs of other trainers and validation-only lines load too.
public struct TrainingRecord: Codable, Equatable, Sendable {
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

    /// Reads a metrics.jsonl; a bad line is an error naming the file and line.
    public static func read(from url: URL) throws -> [TrainingRecord] {
        try JSONLines.read(TrainingRecord.self, from: url).sorted { $0.step < $1.step }
    }
}
