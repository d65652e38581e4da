import Foundation

/// Errors of reading eval runs, comparing them and writing reports. Each names the file and,
/// for JSONL, the 1-based line.
public enum EvaluationError: LocalizedError, Equatable {
    case invalidLine(file: String, line: Int, reason: String)
    case cannotRead(path: String, reason: String)
    case cannotWrite(path: String, reason: String)
    /// A run folder with neither samples.jsonl nor summary.json.
    case emptyRun(path: String)
    case noSamples(what: String)
    case noSharedProblems(a: String, b: String)

    public var errorDescription: String? {
        switch self {
        case let .invalidLine(file, line, reason): "\(file):\(line): \(reason)"
        case let .cannotRead(path, reason): "\(path): cannot read: \(reason)"
        case let .cannotWrite(path, reason): "\(path): cannot write: \(reason)"
        case let .emptyRun(path):
            "\(path) holds neither samples.jsonl nor summary.json: point at the folder an eval run wrote"
        case let .noSamples(what): "\(what): no samples to summarise (is samples.jsonl empty?)"
        case let .noSharedProblems(a, b):
            "runs '\(a)' and '\(b)' share no (problem_id, budget) pair: a paired comparison needs both runs on the same problems at the same budgets"
        }
    }
}
