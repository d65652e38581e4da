import ChatTemplates
import Foundation
import Tokenizers

/// What a dataset was rendered with, written beside its shards and copied into every checkpoint
/// trained on it (with `chat_template.jinja`): the template's name, its variables, and the
/// encoder's hash. A student loaded later renders with the same template and variables, and a
/// hash that differs (edited files) is an error instead of a silent change of layout.
public struct ChatTemplateRecord: Codable, Sendable, Equatable {
    public static let fileName = "bcsft_chat_template.json"
    /// The template's text, as a model folder holds it (transformers reads it too).
    public static let templateFileName = "chat_template.jinja"

    public var template: String
    public var sha256: String
    public var variables: [String: TemplateVariable]

    enum CodingKeys: String, CodingKey { case template, sha256 = "template_sha256", variables = "template_vars" }

    public init(_ encoder: ChatEncoder) {
        template = encoder.name
        sha256 = encoder.sha256
        variables = encoder.variables
    }

    /// The files to write beside a dataset's shards.
    public static func files(of encoder: ChatEncoder) throws -> [String: Data] {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return [fileName: try e.encode(ChatTemplateRecord(encoder)), templateFileName: Data(encoder.template.source.utf8)]
    }
}

extension ChatEncoder {
    /// The encoder of a model folder (a checkpoint, an HF folder): with `setting` auto, its own
    /// chat template and, where bcsft trained it, the recorded variables, checked against the
    /// recorded hash; otherwise the named template.
    public static func forModel(_ folder: URL, tokenizer: any Tokenizer, setting: String = ChatTemplate.auto) throws -> ChatEncoder {
        let recordURL = folder.appendingPathComponent(ChatTemplateRecord.fileName)
        var record: ChatTemplateRecord?
        if setting == ChatTemplate.auto, FileManager.default.fileExists(atPath: recordURL.path) {
            do { record = try JSONDecoder().decode(ChatTemplateRecord.self, from: Data(contentsOf: recordURL)) } catch {
                throw DatasetError.cannotRead(path: recordURL.path, reason: "not a chat template record: \(error.localizedDescription)")
            }
        }
        let encoder: ChatEncoder
        do {
            encoder = try ChatEncoder(setting: setting, tokenizer: tokenizer, modelFolder: folder, variables: record?.variables ?? [:])
        } catch let DatasetError.template(name, reason) where setting == ChatTemplate.auto {
            throw DatasetError.template(name: name, reason: reason + "; for a checkpoint trained before bcsft recorded its template, set the backend's template (bcsft or llama2)")
        }
        if let record, record.sha256 != encoder.sha256 {
            throw DatasetError.template(name: encoder.name, reason: "\(folder.path) was trained with chat template \(record.template) (sha256 \(record.sha256.prefix(12))…), but its template files now give \(encoder.sha256.prefix(12))…: restore them, or name a template explicitly")
        }
        return encoder
    }
}
