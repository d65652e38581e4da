import Crypto
import Foundation

/// A behavior: a short, named, reusable instruction distilled from solution traces
/// (`behavior_angle_sum: The interior angles of a triangle sum to 180 degrees; ...`), with
/// where it came from and how often it was used.
public struct Behavior: Codable, Sendable, Equatable {
    /// Content hash of the normalised name and instruction: equal behaviors share an id.
    public var id: String
    public var name: String
    public var instruction: String
    public var topic: String?
    /// Problem ids whose traces produced it.
    public var sources: [String]
    /// The strategist model that wrote it.
    public var createdBy: String
    public var promptVersion: String?
    /// How many responses cited it.
    public var uses: Int

    enum CodingKeys: String, CodingKey {
        case id, name, instruction, topic, sources, uses
        case createdBy = "created_by", promptVersion = "prompt_version"
    }

    public init(name: String, instruction: String, topic: String? = nil, sources: [String] = [], createdBy: String,
                promptVersion: String? = nil, uses: Int = 0) {
        self.name = Behavior.canonicalName(name)
        self.instruction = instruction.trimmingCharacters(in: .whitespacesAndNewlines)
        self.topic = topic
        self.sources = sources
        self.createdBy = createdBy
        self.promptVersion = promptVersion
        self.uses = uses
        id = Behavior.contentID(name: self.name, instruction: self.instruction)
    }

    /// `behavior_` + lowercase words joined by underscores, whatever the model wrote.
    public static func canonicalName(_ raw: String) -> String {
        var s = raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        if s.hasPrefix("behavior_") { s.removeFirst("behavior_".count) }
        let words = s.split { !$0.isLetter && !$0.isNumber }
        return "behavior_" + words.joined(separator: "_")
    }

    /// Lowercase, single spaces, no surrounding punctuation: what counts as "the same text".
    public static func normalise(_ text: String) -> String {
        let words = text.lowercased().split { $0.isWhitespace }.joined(separator: " ")
        return words.trimmingCharacters(in: .punctuationCharacters.union(.whitespaces))
    }

    static func contentID(name: String, instruction: String) -> String {
        let digest = SHA256.hash(data: Data("\(name)\n\(normalise(instruction))".utf8))
        return digest.prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// The line a prompt lists it as: `behavior_x: instruction`.
    public var promptLine: String { "\(name): \(instruction)" }
}
