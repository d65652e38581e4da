import Foundation

extension ChatTemplate {
    /// The special tokens transformers passes to templates as variables.
    static let specialTokenKeys = ["bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token"]

    /// The chat template of a model folder, found where transformers looks: `chat_template.jinja`
    /// first, else `tokenizer_config.json`'s `chat_template` (a string, or a list of
    /// {name, template} where `named` picks one, "default" when nil). A named template not in
    /// that list is also looked for as `additional_chat_templates/<name>.jinja`. Special tokens
    /// (bos_token, eos_token, ...) come from tokenizer_config.json either way.
    public static func load(modelFolder: URL, named: String? = nil) throws(ChatTemplateError) -> ChatTemplate {
        let fm = FileManager.default
        let configURL = modelFolder.appendingPathComponent("tokenizer_config.json")
        var config = Value.Dict()
        if fm.fileExists(atPath: configURL.path) {
            do {
                let text = try String(contentsOf: configURL, encoding: .utf8)
                guard case let .dict(d) = try Value.parseJSON(text) else {
                    throw ChatTemplateError.load(path: configURL.path, reason: "not a JSON object")
                }
                config = d
            } catch let e as ChatTemplateError {
                if case let .load(_, reason) = e { throw .load(path: configURL.path, reason: reason) }
                throw e
            } catch {
                throw .load(path: configURL.path, reason: "cannot read: \(error.localizedDescription)")
            }
        }
        var tokens: [String: String] = [:]
        for key in specialTokenKeys {
            switch config[key] {
            case let .string(s)?: tokens[key] = s
            case let .dict(d)?: if case let .string(s)? = d["content"] { tokens[key] = s }  // an AddedToken's serialised form
            default: break
            }
        }

        func file(_ url: URL) throws(ChatTemplateError) -> ChatTemplate {
            do {
                let text = try String(contentsOf: url, encoding: .utf8)
                return try ChatTemplate(text, name: url.lastPathComponent, specialTokens: tokens)
            } catch let e as ChatTemplateError {
                throw e
            } catch {
                throw .load(path: url.path, reason: "cannot read: \(error.localizedDescription)")
            }
        }

        let jinjaURL = modelFolder.appendingPathComponent("chat_template.jinja")
        if named == nil || named == "default", fm.fileExists(atPath: jinjaURL.path) { return try file(jinjaURL) }
        let wanted = named ?? "default"
        switch config["chat_template"] {
        case let .string(text)? where named == nil || named == "default":
            return try ChatTemplate(text, name: "tokenizer_config.json#chat_template", specialTokens: tokens)
        case let .list(entries)?:
            var names: [String] = []
            for entry in entries {
                guard case let .dict(d) = entry, case let .string(n)? = d["name"], case let .string(t)? = d["template"] else {
                    throw .load(path: configURL.path, reason: "chat_template list entries must be {name, template}")
                }
                if n == wanted { return try ChatTemplate(t, name: "tokenizer_config.json#chat_template[\(n)]", specialTokens: tokens) }
                names.append(n)
            }
            let extra = modelFolder.appendingPathComponent("additional_chat_templates/\(wanted).jinja")
            if fm.fileExists(atPath: extra.path) { return try file(extra) }
            throw .load(path: configURL.path, reason: "no chat template named '\(wanted)' (it has: \(names.joined(separator: ", ")))")
        default:
            let extra = modelFolder.appendingPathComponent("additional_chat_templates/\(wanted).jinja")
            if named != nil, fm.fileExists(atPath: extra.path) { return try file(extra) }
            throw .load(path: modelFolder.path, reason: named.map { "no chat template named '\($0)'" }
                ?? "no chat template: neither chat_template.jinja nor a chat_template in tokenizer_config.json")
        }
    }
}
