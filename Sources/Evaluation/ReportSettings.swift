import Foundation
import Settings

/// `bcsft report` and `kind: report`: how the report over eval runs is labelled.
public struct ReportSettings: Settings {
    /// One per run, in order; default: each run folder's name.
    public var labels: [String]?
    public var title = "bcsft evaluation report"

    enum CodingKeys: String, CodingKey { case labels, title }

    public init() {}

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.update(&labels, .labels)
        try c.update(&title, .title)
    }

    /// Checks the labels against the runs they name.
    public func check(runs: Int) throws {
        if let labels, labels.count != runs { throw SettingsError.invalid("labels", "has \(labels.count) labels for \(runs) runs") }
    }

    /// The label of each run folder.
    public func labels(for runs: [URL]) -> [String] { labels ?? runs.map(\.lastPathComponent) }
}
