import Foundation

/// Opens the tokenizer at `url`: a folder's tokenizer.json (Hugging Face layout), else its
/// tokenizer.model (SentencePiece); a file by its extension, `.json` as tokenizer.json and
/// anything else as a SentencePiece model. Llama 2, Mistral and Gemma folders ship both files, and
/// their tokenizer.json is SentencePiece-style (not byte-level): such a folder is read as its
/// tokenizer.model, the same tokenizer in the format SentencePiece reads, with the folder's
/// tokenizer_config.json and tokenizer.json kept beside it (they travel into datasets and
/// checkpoints, so the output loads in transformers as the input did).
public func loadTokenizer(at url: URL) throws -> any Tokenizer {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
        throw TokenizerError.cannotLoad(path: url.path, reason: "no such file or folder")
    }
    if isDirectory.boolValue {
        let fm = FileManager.default
        let json = url.appendingPathComponent(BPETokenizer.fileName)
        let model = url.appendingPathComponent(SentencePieceTokenizer.fileName)
        if fm.fileExists(atPath: json.path) {
            do { return try BPETokenizer(contentsOf: json) } catch let e as TokenizerError {
                guard case .unsupported = e, fm.fileExists(atPath: model.path) else { throw e }
            }
        }
        if fm.fileExists(atPath: model.path) {
            let tok = try SentencePieceTokenizer(contentsOf: model)
            for name in SentencePieceTokenizer.companionFileNames {
                let u = url.appendingPathComponent(name)
                if fm.fileExists(atPath: u.path) {
                    do { tok.companionFiles[name] = try Data(contentsOf: u) } catch {
                        throw TokenizerError.cannotLoad(path: u.path, reason: "cannot read file (\(error.localizedDescription))")
                    }
                }
            }
            return tok
        }
        throw TokenizerError.cannotLoad(path: url.path, reason: "the folder holds neither \(BPETokenizer.fileName) nor tokenizer.model")
    }
    if url.pathExtension.lowercased() == "json" { return try BPETokenizer(contentsOf: url) }
    return try SentencePieceTokenizer(contentsOf: url)
}
