import Foundation
import Settings

/// `bcsft report` and `kind: report`: how the report over eval runs is labelled.
public struct ReportSettings: Settings {
    /// One per run, in order; runs with the same label are seeds of one arm. Default: the arm
    /// every sample of the run carries (eval's `arm`), else the run folder's name.
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

    /// The label of each run folder; nil: the run's own (its arm, else its folder's name).
    public func labels(for runs: [URL]) -> [String?] { labels ?? runs.map { _ in nil } }
}
