import Behaviors
import Crypto
import Foundation

/// The prompt templates of a run (data/prompts, or a folder that overrides some of them)
/// and a short version hash of their text, recorded as every record's provenance.
public struct PromptSet: Sendable {
    public let templates: [PromptTemplate.Kind: PromptTemplate]
    public let version: String

    public init(overrides: URL? = nil) throws {
        var t: [PromptTemplate.Kind: PromptTemplate] = [:]
        var h = SHA256()
        for kind in PromptTemplate.Kind.allCases {
            let template = try PromptTemplate.load(kind, overrides: overrides)
            t[kind] = template
            h.update(data: Data((kind.rawValue + "\u{0}" + template.text + "\u{0}").utf8))
        }
        templates = t
        version = "prompts-" + h.finalize().prefix(4).map { String(format: "%02x", $0) }.joined()
    }

    public func render(_ kind: PromptTemplate.Kind, _ values: [String: String]) throws -> String {
        try templates[kind]!.render(values)
    }

    /// The request for a solution: the `solution` prompt, preceded by the `bci` behaviors block
    /// when there are behaviors. Vanilla and BCI requests thus share their instruction text word
    /// for word (a token saving cannot come from wording), and an empty list is the vanilla prompt.
    public func solve(_ problem: String, behaviors: [Behavior] = []) throws -> String {
        let vanilla = try render(.solution, ["problem": problem])
        guard !behaviors.isEmpty else { return vanilla }
        let block = try render(.bci, ["behaviors": PromptTemplate.behaviorLines(behaviors)])
        return block.trimmingCharacters(in: .newlines) + "\n\n" + vanilla
    }
}
