import Foundation

/// Errors of the dataset stage. Each names the file and, where there is one, the line or field.
public enum DatasetError: LocalizedError, Equatable {
    /// A JSONL line that is not a valid record (1-based line number).
    case invalidRecord(file: String, line: Int, reason: String)
    case cannotRead(path: String, reason: String)
    case cannotWrite(path: String, reason: String)
    /// A record whose rendered tokens carry no loss (no assistant turn, or it was truncated away).
    case noLossTokens(file: String, line: Int, id: String)
    case missingMarker(template: String, piece: String)
    /// A chat template that cannot be used: it cannot be loaded or rendered, or bcsft cannot find
    /// the assistant's tokens in its rendering.
    case template(name: String, reason: String)
    case tokenizerMismatch(path: String, expected: String, found: String)
    case corruptShard(path: String, reason: String)
    case invalidOption(String)

    public var errorDescription: String? {
        switch self {
        case let .invalidRecord(file, line, reason):
            "\(file):\(line): \(reason)"
        case let .cannotRead(path, reason): "\(path): cannot read: \(reason)"
        case let .cannotWrite(path, reason): "\(path): cannot write: \(reason)"
        case let .noLossTokens(file, line, id):
            "\(file):\(line): record \(id) has no tokens to learn from (no assistant turn, or truncation removed it); set skip_invalid to count and skip such records"
        case let .missingMarker(template, piece):
            "the tokenizer has no piece '\(piece)' needed by chat template '\(template)': for a model folder from Hugging Face use template auto (its own chat template); for bcsft's own templates train a SentencePiece tokenizer with that template (its markers become single pieces)"
        case let .template(name, reason): "chat template \(name): \(reason)"
        case let .tokenizerMismatch(path, expected, found):
            "\(path) was tokenized with a different tokenizer (shard sha256 \(found.prefix(16))…, given \(expected.prefix(16))…): rebuild the dataset or use the tokenizer it was built with"
        case let .corruptShard(path, reason): "\(path): corrupt or truncated shard: \(reason)"
        case let .invalidOption(m): m
        }
    }
}
