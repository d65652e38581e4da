import Foundation

public enum TokenizerError: LocalizedError, Equatable {
    /// libSentencePieceShim.so could not be found or loaded.
    case libraryNotFound(searched: [String], reason: String)
    /// The model file is missing, unreadable or not a SentencePiece model.
    case cannotLoad(path: String, reason: String)
    case encodeFailed(String)
    case decodeFailed(String)
    case unknownID(Int32, vocabularySize: Int)
    case trainingFailed(String)
    case invalidOption(String)
    /// A tokenizer.json part bcsft does not implement; `field` is its JSON path (e.g. `normalizer.type`).
    case unsupported(file: String, field: String, detail: String)
    /// A tokenizer.json (or tokenizer_config.json) field that is missing or of the wrong shape.
    case malformed(file: String, field: String, detail: String)

    public var errorDescription: String? {
        switch self {
        case let .libraryNotFound(searched, reason):
            "SentencePiece shim not loadable (\(reason)). Looked in: \(searched.joined(separator: ", ")). "
                + "Build it with `swift build --product SentencePieceShim` (make build does), or set BCSFT_SENTENCEPIECE_LIB to its path."
        case let .cannotLoad(path, reason):
            "\(path): not a loadable SentencePiece model: \(reason)"
        case let .encodeFailed(m): "SentencePiece encode failed: \(m)"
        case let .decodeFailed(m): "SentencePiece decode failed: \(m)"
        case let .unknownID(id, n): "token id \(id) is outside the vocabulary (size \(n))"
        case let .trainingFailed(m): "SentencePiece training failed: \(m)"
        case let .invalidOption(m): "invalid tokenizer option: \(m)"
        case let .unsupported(file, field, detail): "\(file): \(field): not supported: \(detail)"
        case let .malformed(file, field, detail): "\(file): \(field): \(detail)"
        }
    }
}
