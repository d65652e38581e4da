import Foundation
import Settings

/// What can stop a training run. Messages name settings (`nproc`, `lr`), not command-line
/// flags: the same error reaches a user of `bcsft train` and of a recipe's train stage, and
/// each adds how to type the fix where it knows (the CLI adds its flags).
public enum TrainingError: LocalizedError, Equatable {
    case invalidConfig(source: String, key: String, reason: String)
    /// `what` went non-finite at `step`; `newest` is the newest checkpoint and `resumable` the
    /// newest one saved before step-1 (whose weights did not give this value).
    case nonFiniteLoss(step: Int, loss: Double, what: String, newest: String?, resumable: String?)
    case outputHasCheckpoints(output: String, newest: String)
    case badState(path: String, reason: String)
    case noData(String)
    /// A data-parallel rank or the launcher failed.
    case launch(String)
    /// A path given as a model is neither a checkpoint nor a trainer's folder.
    case notAModel(path: String)

    /// A settings error as a configuration error, with where it was written.
    init(_ e: SettingsError, source: String) {
        switch e {
        case let .invalid(key, reason, at): self = .invalidConfig(source: at?.description ?? source, key: key, reason: reason)
        case let .notYAML(at, problem): self = .invalidConfig(source: at.description, key: "-", reason: "not valid YAML: \(problem)")
        case let .duplicateKey(at, key): self = .invalidConfig(source: at.description, key: key, reason: "appears twice")
        case let .badOverride(arg, reason): self = .invalidConfig(source: "--set \(arg)", key: "-", reason: reason)
        }
    }

    public var errorDescription: String? {
        switch self {
        case let .invalidConfig(source, key, reason): key == "-" ? "\(source): \(reason)" : "\(source): key '\(key)': \(reason)"
        case let .nonFiniteLoss(step, loss, what, newest, resumable):
            "\(what) became \(loss) at step \(step): training stopped before applying that update, so no checkpoint holds it. "
                + (newest.map { resumable == $0 ? "" : "\($0) holds the weights that gave it (resuming it repeats the step). " } ?? "")
                + (resumable.map { "Continue from \($0) with a lower lr or a longer warmup." }
                    ?? "No earlier checkpoint is kept (save_every, keep_last); start again in a new output folder with a lower lr or a longer warmup.")
        case let .outputHasCheckpoints(output, newest):
            "\(output) already holds checkpoints of a run (newest: \(newest)): resume it, or choose another output folder to start afresh"
        case let .badState(path, reason): "\(path): trainer state unusable: \(reason)"
        case let .noData(m): m
        case let .launch(m): m
        case let .notAModel(path): "\(path): neither a model folder (config.json) nor a trainer's output with checkpoints/step-*"
        }
    }
}

extension TrainingError {
    /// The field a decoding error names (dotted path) and what is wrong with it; nil for other errors.
    static func decodingFailure(_ error: Error) -> (field: String, reason: String)? {
        func path(_ keys: [CodingKey]) -> String { keys.map(\.stringValue).joined(separator: ".") }
        switch error {
        case let DecodingError.keyNotFound(k, ctx): return (path(ctx.codingPath + [k]), "missing")
        case let DecodingError.typeMismatch(t, ctx): return (path(ctx.codingPath), "expected \(t)")
        case let DecodingError.valueNotFound(_, ctx): return (path(ctx.codingPath), "null")
        case let DecodingError.dataCorrupted(ctx): return (path(ctx.codingPath), ctx.debugDescription)
        default: return nil
        }
    }
}
