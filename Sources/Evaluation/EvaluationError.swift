import Foundation

/// Errors of reading eval runs and comparing them (reading and writing files: `FileError`).
public enum EvaluationError: LocalizedError, Equatable {
    /// A run folder with neither samples.jsonl nor summary.json.
    case emptyRun(path: String)
    case noSamples(what: String)
    case noSharedProblems(a: String, b: String)
    /// Runs compared over seeds that were not evaluated on the same problems and budgets.
    case problemSetsDiffer(first: String, other: String, detail: String)

    public var errorDescription: String? {
        switch self {
        case let .emptyRun(path):
            "\(path) holds neither samples.jsonl nor summary.json: point at the folder an eval run wrote"
        case let .noSamples(what): "\(what): no samples to summarise (is samples.jsonl empty?)"
        case let .noSharedProblems(a, b):
            "runs '\(a)' and '\(b)' share no (problem_id, budget) pair: a paired comparison needs both runs on the same problems at the same budgets"
        case let .problemSetsDiffer(first, other, detail):
            "runs '\(first)' and '\(other)' were not evaluated on the same problems (\(detail)): the difference over seeds and problems needs every run of both arms on one problem set"
        }
    }
}
