import ArgumentParser
import Foundation
import Pipelines

struct SmokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smoke",
        abstract: "End-to-end smoke run: train SentencePiece on shipped text, then a few optimizer steps of a tiny LM on it."
    )

    @Option(help: "Text to train on.")
    var corpus = "data/smoke/corpus.txt"

    @Option(help: "Where the tokenizer is written.")
    var workdir = "out/smoke"

    @Option(help: "Optimizer steps.")
    var steps = 40

    @Option(name: .customLong("vocab-size"), help: "SentencePiece vocabulary size.")
    var vocabSize = 512

    @Option(help: "Random seed.")
    var seed: UInt64 = 0

    func run() throws {
        try configureRuntime()
        var options = SmokeTest.Options(corpus: URL(fileURLWithPath: corpus), workdir: URL(fileURLWithPath: workdir))
        options.steps = steps
        options.vocabularySize = vocabSize
        options.seed = seed
        let bar = ProgressBar(label: "training", total: steps)
        let report = try SmokeTest(options).run { event in
            switch event {
            case let .tokenizerTrained(n): print("tokenizer: trained a \(n)-piece SentencePiece model")
            case let .encoded(lines, tokens): print("encoded:   \(lines) lines -> \(tokens) tokens")
            case let .step(i, _, loss): bar.update(i, note: String(format: "loss %.3f", loss))
            }
        }
        bar.finish()
        print(String(format: "model:     %d parameters; loss %.3f -> %.3f over %d steps (%.0f tokens/s)",
                     report.parameters, report.firstLoss, report.lastLoss, report.losses.count, report.tokensPerSecond))
        print("sample:    \"The product of 12 and 3 is\" ->\(report.sample)")
        print("tokenizer: \(report.tokenizerPath.path) (sha256 \(report.tokenizerSHA256.prefix(16))…)")
        print("smoke run OK")
    }
}
