import ArgumentParser
import Common
import Evaluation
import Foundation

struct GradeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grade",
        abstract: "Grade predictions against gold answers: JSONL {\"pred\", \"gold\"} in, one {\"correct\", \"reason\", \"extracted\"} line out per input line.",
        discussion: """
        pred may be a bare answer or a whole response: its final answer is extracted first
        (the last \\boxed{}, else an "Answer:" line, after any <think> span).
        """
    )

    @Option(help: "JSONL file of {\"pred\": ..., \"gold\": ...} lines; - reads standard input.")
    var input: String

    @Option(help: "When only one side has a percent sign: lenient (50% is 50 and 0.5), symbolOptional (50% is 50), strict (50% is 0.5).")
    var percent: String = GraderOptions.PercentMode.lenient.rawValue

    @Option(help: "exact (0.333 is not 1/3) or rounded (a decimal matches the gold rounded to as many places).")
    var decimals: String = GraderOptions.DecimalMatching.exact.rawValue

    struct Pair: Decodable {
        var pred: String
        var gold: String
    }

    struct Graded: Encodable {
        var correct: Bool
        var reason: String
        var extracted: String?

        // extracted is written as null, not left out, so every line has the same keys.
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(correct, forKey: .correct)
            try c.encode(reason, forKey: .reason)
            try c.encode(extracted, forKey: .extracted)
        }

        enum CodingKeys: String, CodingKey { case correct, reason, extracted }
    }

    func run() throws {
        guard let percentMode = GraderOptions.PercentMode(rawValue: percent) else {
            throw ValidationError("--percent must be lenient, symbolOptional or strict, not '\(percent)'")
        }
        guard let decimalMode = GraderOptions.DecimalMatching(rawValue: decimals) else {
            throw ValidationError("--decimals must be exact or rounded, not '\(decimals)'")
        }
        let pairs: [Pair]
        if input == "-" {
            pairs = try JSONLines.decode(Pair.self, from: FileHandle.standardInput.readDataToEndOfFile(), file: "<stdin>")
        } else {
            pairs = try JSONLines.read(Pair.self, from: URL(fileURLWithPath: input))
        }
        let grader = Grader(GraderOptions(percent: percentMode, decimals: decimalMode))
        var out = ""
        for pair in pairs {
            let v = grader.grade(pred: pair.pred, gold: pair.gold)
            out += try JSONLines.line(Graded(correct: v.correct, reason: v.reason, extracted: v.extracted)) + "\n"
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }
}
