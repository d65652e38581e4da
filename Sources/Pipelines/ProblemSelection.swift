import Foundation
import Settings

/// Which problems of a problems file a step works on: every one, or the first `limit`.
public struct ProblemSelection: Settings {
    public var limit: Int?

    enum CodingKeys: String, CodingKey { case limit }

    public init() {}

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.update(&limit, .limit)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(limit, forKey: .limit)
    }

    public func validate() throws {
        if let limit, limit < 1 { throw SettingsError.invalid("limit", "must be at least 1") }
    }

    /// The selected problems of a problems file.
    public func load(_ url: URL) throws -> [Problem] { try Problem.load(url, limit: limit) }
}
