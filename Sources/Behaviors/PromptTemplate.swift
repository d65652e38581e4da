import Foundation

/// A prompt with `{{name}}` placeholders, filled in one left-to-right pass: substituted
/// values (model output, problem text) are copied verbatim and never scanned again, so a
/// value containing `{{problem}}` cannot inject anything.
public struct PromptTemplate: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case solution, reflection, behaviors, bci, critique, revise
        case reviseWithCritique = "revise_with_critique"
    }

    public enum Error: LocalizedError, Equatable {
        case missingFile(String)
        case missingValue(template: String, placeholder: String)
        case unusedValue(template: String, key: String)
        case unterminated(template: String)

        public var errorDescription: String? {
            switch self {
            case let .missingFile(p): "\(p): prompt template not found"
            case let .missingValue(t, p): "prompt '\(t)' uses {{\(p)}} but no value was given for it"
            case let .unusedValue(t, k): "prompt '\(t)' has no {{\(k)}} placeholder (a typo in an override?)"
            case let .unterminated(t): "prompt '\(t)': a '{{' is never closed"
            }
        }
    }

    public let name: String
    public let text: String

    public init(name: String, text: String) {
        self.name = name
        self.text = text
    }

    /// The shipped template, or the one of the same name in `overrides` when that folder has it.
    public static func load(_ kind: Kind, overrides: URL? = nil, shipped: URL = defaultFolder) throws -> PromptTemplate {
        let file = "\(kind.rawValue).txt"
        for dir in [overrides, shipped].compactMap({ $0 }) {
            let url = dir.appendingPathComponent(file)
            if let text = try? String(contentsOf: url, encoding: .utf8) { return PromptTemplate(name: kind.rawValue, text: text) }
        }
        throw Error.missingFile(shipped.appendingPathComponent(file).path)
    }

    /// data/prompts of the checkout this code was built from (BCSFT_PROMPTS overrides).
    public static var defaultFolder: URL {
        if let p = ProcessInfo.processInfo.environment["BCSFT_PROMPTS"], !p.isEmpty { return URL(fileURLWithPath: p) }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("data/prompts")
    }

    /// Placeholders in order of first appearance.
    public var placeholders: [String] {
        var seen: [String] = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            let key = String(rest[open.upperBound..<close.lowerBound])
            if !seen.contains(key) { seen.append(key) }
            rest = rest[close.upperBound...]
        }
        return seen
    }

    /// Fills every placeholder; a missing value, an unused value or an unclosed `{{` is an error.
    public func render(_ values: [String: String]) throws -> String {
        var out = ""
        var used = Set<String>()
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else { throw Error.unterminated(template: name) }
            let key = String(rest[open.upperBound..<close.lowerBound])
            guard let value = values[key] else { throw Error.missingValue(template: name, placeholder: key) }
            out += value
            used.insert(key)
            rest = rest[close.upperBound...]
        }
        out += rest
        if let extra = values.keys.sorted().first(where: { !used.contains($0) }) { throw Error.unusedValue(template: name, key: extra) }
        return out
    }

    /// The behaviors block of the BCI prompt: one `name: instruction` line each.
    public static func behaviorLines(_ behaviors: [Behavior]) -> String {
        behaviors.map(\.promptLine).joined(separator: "\n")
    }
}
