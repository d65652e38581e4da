import Foundation

/// Opens the tokenizer at `url`: a folder's tokenizer.json (Hugging Face layout), else its
/// tokenizer.model (SentencePiece); a file by its extension, `.json` as tokenizer.json and
/// anything else as a SentencePiece model.
public func loadTokenizer(at url: URL) throws -> any Tokenizer {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
        throw TokenizerError.cannotLoad(path: url.path, reason: "no such file or folder")
    }
    if isDirectory.boolValue {
        let json = url.appendingPathComponent(BPETokenizer.fileName)
        if FileManager.default.fileExists(atPath: json.path) { return try BPETokenizer(contentsOf: json) }
        let model = url.appendingPathComponent(SentencePieceTokenizer.fileName)
        if FileManager.default.fileExists(atPath: model.path) { return try SentencePieceTokenizer(contentsOf: model) }
        throw TokenizerError.cannotLoad(path: url.path, reason: "the folder holds neither \(BPETokenizer.fileName) nor tokenizer.model")
    }
    if url.pathExtension.lowercased() == "json" { return try BPETokenizer(contentsOf: url) }
    return try SentencePieceTokenizer(contentsOf: url)
}
