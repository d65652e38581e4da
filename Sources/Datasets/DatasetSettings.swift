import ChatTemplates
import Foundation
import Settings

/// `bcsft dataset build` and `kind: dataset`: how SFT records become packed rows.
public struct DatasetSettings: Settings {
    /// Required: tokens per packed row.
    public var seqLen = 0
    /// The chat template that renders records: `auto` (the tokenizer's model folder's own, as
    /// transformers' apply_chat_template uses it), a built-in (bcsft, llama2), or a .jinja file.
    /// bcsft is the default because bcsft's own tokenizers are trained for it; a student from
    /// Hugging Face takes auto.
    public var template = "bcsft"
    /// Variables the template reads beside the conversation (Qwen3's `enable_thinking: false`).
    public var templateVars: [String: TemplateVariable] = [:]
    /// Fraction of records (by a hash of their id) for validation.
    public var valFraction = 0.0
    /// Keep the first seq_len tokens of longer documents instead of dropping them (both are counted).
    public var truncate = false
    /// Count and skip bad lines and records without loss tokens instead of stopping.
    public var skipInvalid = false

    enum CodingKeys: String, CodingKey {
        case seqLen = "seq_len", template, templateVars = "template_vars", valFraction = "val_fraction", truncate, skipInvalid = "skip_invalid"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.update(&seqLen, .seqLen)
        try c.update(&template, .template)
        try c.update(&templateVars, .templateVars)
        try c.update(&valFraction, .valFraction)
        try c.update(&truncate, .truncate)
        try c.update(&skipInvalid, .skipInvalid)
    }

    public func validate() throws {
        if seqLen == 0 { throw SettingsError.invalid("seq_len", "missing: the tokens per packed row") }
        guard seqLen >= 8 else { throw SettingsError.invalid("seq_len", "must be at least 8") }
        // The packer keeps hundreds of rows open; a million tokens per row is past any model's context.
        guard seqLen <= Self.maxSeqLen else { throw SettingsError.invalid("seq_len", "\(seqLen) is above \(Self.maxSeqLen) tokens per row") }
        guard (0..<1).contains(valFraction) else { throw SettingsError.invalid("val_fraction", "must be in [0, 1)") }
        if template != ChatTemplate.auto, ChatTemplate.builtin(template) == nil, !template.hasSuffix(".jinja") {
            throw SettingsError.invalid("template", "'\(template)' is not auto (the model folder's own template), a built-in (\(ChatTemplate.builtinNames.joined(separator: ", "))) or a .jinja file")
        }
    }

    public var overlong: DatasetBuilder.Overlong { truncate ? .truncate : .drop }

    /// The longest row: 2^20 tokens, above the context of any supported model.
    public static let maxSeqLen = 1 << 20
}
