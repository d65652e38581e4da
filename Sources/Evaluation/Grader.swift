import Foundation

/// How strictly the grader matches.
public struct GraderOptions: Sendable, Equatable {
    /// What a percent sign means when only one side has it.
    public enum PercentMode: String, Sendable {
        /// `50\%` matches `50` and `0.5`.
        case lenient
        /// The sign is decoration: `50\%` matches `50`, not `0.5`.
        case symbolOptional
        /// The sign means hundredths: `50\%` matches `0.5`, not `50`.
        case strict
    }

    /// How a decimal prediction is held against an exact gold value.
    public enum DecimalMatching: String, Sendable {
        /// Rationals compare exactly: `0.333` is not `1/3`.
        case exact
        /// A decimal equal to the gold rounded to as many places matches: `0.333` is `1/3`,
        /// `0.334` is not.
        case rounded
    }

    public var normalization: NormalizationOptions
    public var percent: PercentMode
    public var decimals: DecimalMatching
    /// Relative tolerance where a value is not exact (π, roots, overflow).
    public var relativeTolerance: Double
    /// Random points at which expressions with free variables are compared.
    public var samplePoints: Int
    public var seed: UInt64
    /// A prediction with no `\boxed{}`, thinking span or answer line is taken as a bare
    /// answer when it is one line of at most this many characters; longer text is a
    /// response that never states its answer.
    public var bareAnswerLimit: Int

    public init(normalization: NormalizationOptions = NormalizationOptions(), percent: PercentMode = .lenient,
                decimals: DecimalMatching = .exact, relativeTolerance: Double = 1e-9, samplePoints: Int = 5,
                seed: UInt64 = 0x6772_6164_6572, bareAnswerLimit: Int = 200) {
        self.normalization = normalization
        self.percent = percent
        self.decimals = decimals
        self.relativeTolerance = relativeTolerance
        self.samplePoints = samplePoints
        self.seed = seed
        self.bareAnswerLimit = bareAnswerLimit
    }
}

/// Bounds on the work the grader does on untrusted text: a model's output can be anything, and
/// a cached output that crashes or stalls the grader would do so on every rerun of eval. Input
/// past a bound is not parsed: the verdict is wrong with a reason that says so. Each bound is
/// far above any real answer: of the gold answers of MATH (train and test), AIME 2024/2025 and
/// GSM8K, the longest is 159 bytes, the deepest nests 3 brackets, the most has 89 tokens (a 3x3
/// matrix of fractions) and 9 separators (a union of five intervals).
public enum GraderLimits {
    /// Bytes of UTF-8 in an answer (after extraction) that the grader normalises and parses.
    public static let answerBytes = 10_000
    /// Levels of brackets ((), [], {}, \{\}) an answer may nest; also the depth of the recursion
    /// that parsing and comparing follow. The expression parser counts bars, signs, exponent
    /// towers and command arguments (`\sqrt\sqrt...`) as levels too.
    public static let nesting = 100
    /// Tokens in one expression. A chain `1+1+...` parses into a tree as deep as it is long,
    /// which evaluation, comparison and deallocation walk recursively.
    public static let expressionTokens = 1_000
    /// Separators (`,`, `&`, `\\`, `\cup`, `\pm`) in one answer: sets are matched pairwise, so the work grows
    /// with the square of their size.
    public static let elements = 100
    /// Bits of an exact value computed past 64 bits (about 4,932 decimal digits): `2^{1024}`,
    /// `10^{-400}` and `3^{2007}` are held exactly; `2^{10^9}` is refused rather than guessed.
    /// The largest value among the gold answers above is `2^{4950}`, 4,951 bits. Integer
    /// literals are held whatever their length (answerBytes bounds them), and arithmetic on one
    /// may grow it by 64 bits a step. Bounds the cost of one operation to a product of two
    /// such numbers (under a millisecond in a release build).
    public static let exactBits = 16_384
}

/// The grader's decision and why.
public struct Verdict: Equatable, Sendable {
    public var correct: Bool
    /// What matched or why not: "numeric: \frac{1}{2} == 0.5", "interval endpoints differ".
    public var reason: String
    /// The answer text taken from the prediction, before normalisation; nil when none was found.
    public var extracted: String?
    public var extraction: Extraction.Status

    public init(correct: Bool, reason: String, extracted: String?, extraction: Extraction.Status) {
        self.correct = correct
        self.reason = reason
        self.extracted = extracted
        self.extraction = extraction
    }
}

/// Decides whether a prediction states the gold answer. The prediction may be a bare answer
/// or a whole response (its final answer is extracted first). Both sides are normalised, parsed
/// into a structure (number, expression, tuple, interval, set, matrix, choice, text) and
/// compared structurally: numbers exactly where possible, expressions with free variables at
/// seeded random points.
public struct Grader: Sendable {
    public let options: GraderOptions
    let normalizer: AnswerNormalizer

    public init(_ options: GraderOptions = GraderOptions()) {
        self.options = options
        normalizer = AnswerNormalizer(options: options.normalization)
    }

    public func grade(pred: String, gold: String) -> Verdict {
        let (answer, status): (String, Extraction.Status)
        switch predictedAnswer(pred) {
        case let .answer(text, how): (answer, status) = (text, how)
        case let .missing(verdict): return verdict
        }
        let goldAnswer = gold.contains("\\boxed") ? (AnswerExtractor.extract(from: gold).text ?? gold) : gold
        let match = compare(answer, goldAnswer)
        return Verdict(correct: match.equal, reason: match.reason, extracted: answer, extraction: status)
    }

    /// `grade(pred:gold:)` on raw bytes, for fuzzing and for text of unknown provenance: each
    /// side is decoded as UTF-8 with invalid sequences replaced by U+FFFD. Like the string form
    /// it is total: a verdict for any input, never a trap (GraderLimits bounds the work).
    public func grade(predBytes: some Collection<UInt8>, goldBytes: some Collection<UInt8>) -> Verdict {
        grade(pred: String(decoding: predBytes, as: UTF8.self), gold: String(decoding: goldBytes, as: UTF8.self))
    }

    enum PredictedAnswer {
        case answer(String, Extraction.Status)
        /// No answer to compare: the verdict says why.
        case missing(Verdict)
    }

    func predictedAnswer(_ pred: String) -> PredictedAnswer {
        let extraction = AnswerExtractor.extract(from: pred)
        switch extraction.status {
        case .found:
            return .answer(extraction.text ?? "", .found)
        case .truncated:
            return .missing(Verdict(correct: false, reason: "truncated: \(extraction.source)", extracted: nil, extraction: .truncated))
        case .none:
            // Bare answers ("0.5", "x = 3") carry no markers; after a thinking span the rest may be one.
            let visible = (AnswerExtractor.stripThinking(pred) ?? pred).trimmingCharacters(in: .whitespacesAndNewlines)
            if !visible.isEmpty, !visible.contains("\n"), visible.count <= options.bareAnswerLimit {
                return .answer(visible, .none)
            }
            let why = visible.isEmpty ? "empty response" : extraction.source
            return .missing(Verdict(correct: false, reason: "no answer found (\(why))", extracted: nil, extraction: .none))
        }
    }

    /// Compares two answer texts (no extraction).
    public func compare(_ pred: String, _ gold: String) -> (equal: Bool, reason: String) {
        if let refusal = Grader.refusal(pred, side: "prediction") ?? Grader.refusal(gold, side: "gold") { return (false, refusal) }
        let p = normalizer.normalize(pred), g = normalizer.normalize(gold)
        if p.key.isEmpty { return (false, "no answer found (empty after normalisation)") }
        if p.key == g.key && p.hadPercent == g.hadPercent { return (true, "string: identical after normalisation (\(g.text))") }
        var comparison = AnswerComparison(options: options, predPercent: p.hadPercent, goldPercent: g.hadPercent)
        return comparison.match(AnswerStructure.parseAnswer(p.text), AnswerStructure.parseAnswer(g.text))
    }

    /// Why an answer text is not parsed at all (GraderLimits), or nil. One pass over its bytes.
    static func refusal(_ text: String, side: String) -> String? {
        let bytes = text.utf8.count
        if bytes > GraderLimits.answerBytes {
            return "\(side) is \(bytes) bytes, over the \(GraderLimits.answerBytes) the grader parses; not parsed"
        }
        if TeX.nestsDeeper(than: GraderLimits.nesting, text) { return "\(side) nests deeper than \(GraderLimits.nesting) levels; not parsed" }
        return nil
    }
}
