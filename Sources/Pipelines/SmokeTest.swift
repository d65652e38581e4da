import Foundation
import Models
import Tokenizers
import Torch

/// The end-to-end smoke run behind `make demo` (until the offline ablation replaces it):
/// train a SentencePiece model on shipped text, tokenize it on every core, and take a few
/// AdamW steps of a tiny causal LM on it, checking the loss goes down.
public struct SmokeTest {
    public struct Options: Sendable {
        public var corpus: URL
        public var workdir: URL
        public var vocabularySize = 512
        public var steps = 40
        public var batchSize = 16
        public var context = 64
        public var learningRate = 3e-3
        public var seed: UInt64 = 0
        public init(corpus: URL, workdir: URL) {
            self.corpus = corpus
            self.workdir = workdir
        }
    }

    public struct Report: Sendable {
        public var tokenizerPath: URL
        public var tokenizerSHA256: String
        public var vocabularySize: Int
        public var lines: Int
        public var tokens: Int
        public var parameters: Int
        public var losses: [Double]
        public var tokensPerSecond: Double
        public var sample: String
        public var firstLoss: Double { losses.first ?? .nan }
        public var lastLoss: Double { losses.last ?? .nan }
    }

    public enum Event: Sendable {
        case tokenizerTrained(vocabularySize: Int)
        case encoded(lines: Int, tokens: Int)
        case step(Int, of: Int, loss: Double)
    }

    public enum Failure: LocalizedError {
        case corpusMissing(String)
        case tooFewTokens(Int, needed: Int)
        case lossDidNotDecrease(first: Double, last: Double)
        public var errorDescription: String? {
            switch self {
            case let .corpusMissing(p): "smoke corpus not found: \(p) (run from the repository root or pass --corpus)"
            case let .tooFewTokens(n, needed): "the corpus gives \(n) tokens; the smoke run needs at least \(needed)"
            case let .lossDidNotDecrease(f, l): "training did not reduce the loss (first \(f), last \(l)): something in the stack is broken"
            }
        }
    }

    public let options: Options
    public init(_ options: Options) { self.options = options }

    public func run(progress: (Event) -> Void = { _ in }) throws -> Report {
        let o = options
        guard FileManager.default.fileExists(atPath: o.corpus.path) else { throw Failure.corpusMissing(o.corpus.path) }
        try FileManager.default.createDirectory(at: o.workdir, withIntermediateDirectories: true)

        let modelPath = o.workdir.appendingPathComponent("tokenizer.model")
        var trainer = SentencePieceTrainer(vocabularySize: o.vocabularySize, modelType: .unigram)
        trainer.userDefinedSymbols = ["<|user|>", "<|assistant|>", "<|end|>"]
        let tok = try trainer.train(inputs: [o.corpus], output: modelPath)
        progress(.tokenizerTrained(vocabularySize: tok.vocabularySize))

        let lines = try String(contentsOf: o.corpus, encoding: .utf8).split(separator: "\n").map(String.init)
        let encoded = try tok.encode(batch: lines)
        let eos = tok.eosID ?? 2
        let stream = encoded.flatMap { $0 + [eos] }.map(Int64.init)
        progress(.encoded(lines: lines.count, tokens: stream.count))
        let window = o.context + 1
        guard stream.count > window * 2 else { throw Failure.tooFewTokens(stream.count, needed: window * 2) }

        let gen = try Generator(seed: o.seed)
        var config = TinyCausalLM.Config(vocabularySize: tok.vocabularySize)
        config.context = o.context
        let model = try TinyCausalLM(config, generator: gen)
        let params = model.parameters.map(\.1)
        let opt = try AdamW(.init(learningRate: o.learningRate, weightDecay: 0.0))
        try opt.addGroup(params)
        let data = try Tensor(stream)

        var losses: [Double] = []
        let start = Date()
        for step in 1...o.steps {
            // Random windows of context + 1 tokens from the stream.
            let starts = try Tensor.randint(0, stream.count - window, shape: [o.batchSize, 1], generator: gen)
            let idx = try starts + Tensor.arange(0, Double(window)).unsqueeze(0)
            let batch = try data.indexSelect(0, idx.reshape([-1])).reshape([o.batchSize, window])
            try opt.zeroGrad()
            let loss = try model.loss(batch)
            try loss.backward()
            try clipGradNorm(params, maxNorm: 1.0)
            try opt.step()
            let value = try loss.item()
            losses.append(value)
            progress(.step(step, of: o.steps, loss: value))
        }
        let seconds = Date().timeIntervalSince(start)
        let first = losses.prefix(3).reduce(0, +) / Double(min(3, losses.count))
        let last = losses.suffix(3).reduce(0, +) / Double(min(3, losses.count))
        guard last < first else { throw Failure.lossDidNotDecrease(first: first, last: last) }

        let prompt = try tok.encode("The product of 12 and 3 is")
        let sample = try tok.decode(model.greedy(prompt, count: 12).filter { !tok.isControl($0) })
        return Report(tokenizerPath: modelPath, tokenizerSHA256: tok.sha256, vocabularySize: tok.vocabularySize,
                      lines: lines.count, tokens: stream.count, parameters: params.reduce(0) { $0 + $1.count },
                      losses: losses, tokensPerSecond: Double(o.steps * o.batchSize * o.context) / seconds, sample: sample)
    }
}
