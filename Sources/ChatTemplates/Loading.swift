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
        let config = try tokenizerConfig(modelFolder)
        let tokens = specialTokens(of: config)

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

extension ChatTemplate {
    /// A model folder's tokenizer_config.json as a dictionary; empty where there is none.
    static func tokenizerConfig(_ modelFolder: URL) throws(ChatTemplateError) -> Value.Dict {
        let configURL = modelFolder.appendingPathComponent("tokenizer_config.json")
        guard FileManager.default.fileExists(atPath: configURL.path) else { return Value.Dict() }
        do {
            let text = try String(contentsOf: configURL, encoding: .utf8)
            guard case let .dict(d) = try Value.parseJSON(text) else {
                throw ChatTemplateError.load(path: configURL.path, reason: "not a JSON object")
            }
            return d
        } catch let e as ChatTemplateError {
            if case let .load(_, reason) = e { throw .load(path: configURL.path, reason: reason) }
            throw e
        } catch {
            throw .load(path: configURL.path, reason: "cannot read: \(error.localizedDescription)")
        }
    }

    /// The special tokens (bos_token, eos_token, ...) a tokenizer_config.json names.
    static func specialTokens(of config: Value.Dict) -> [String: String] {
        var tokens: [String: String] = [:]
        for key in specialTokenKeys {
            switch config[key] {
            case let .string(s)?: tokens[key] = s
            case let .dict(d)?: if case let .string(s)? = d["content"] { tokens[key] = s }  // an AddedToken's serialised form
            default: break
            }
        }
        return tokens
    }

    /// The value of a `template` setting that means the model folder's own template.
    public static let auto = "auto"

    /// What a `template` setting names: `auto` (the model folder's own template, as `load` finds
    /// it), a built-in (`bcsft`, `llama2`), or the path of a `.jinja` file. `fallbackTokens`
    /// (bos_token, eos_token from the tokenizer) fill the special tokens the folder does not name.
    public static func resolve(_ setting: String, modelFolder: URL?, fallbackTokens: [String: String] = [:]) throws(ChatTemplateError) -> ChatTemplate {
        var template: ChatTemplate
        if setting == auto {
            guard let modelFolder else {
                throw .load(path: "template", reason: "template auto takes the model folder's own chat template, and no model folder is given")
            }
            template = try load(modelFolder: modelFolder)
        } else if let builtin = builtin(setting) {
            template = builtin
        } else if setting.hasSuffix(".jinja") || setting.contains("/") {
            let url = URL(fileURLWithPath: setting)
            let text: String
            do { text = try String(contentsOf: url, encoding: .utf8) } catch {
                throw .load(path: url.path, reason: "cannot read the chat template: \(error.localizedDescription)")
            }
            template = try ChatTemplate(text, name: url.lastPathComponent)
        } else {
            throw .load(path: "template", reason: "'\(setting)' is not auto (the model folder's own template), a built-in (\(builtinNames.joined(separator: ", "))) or a .jinja file")
        }
        // Every template gets the folder's special tokens, wherever its text comes from, so a
        // named template renders alike on a dataset's tokenizer and on the checkpoint trained from it.
        if setting != auto, let modelFolder {
            for (k, v) in specialTokens(of: try tokenizerConfig(modelFolder)) { template.specialTokens[k] = v }
        }
        for (k, v) in fallbackTokens where template.specialTokens[k] == nil { template.specialTokens[k] = v }
        return template
    }
}
