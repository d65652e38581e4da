import ArgumentParser
import Evaluation
import Common
import Foundation
import Settings

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write report.md and report.html (inline SVG charts) for one or more eval run folders.",
        discussion: """
        Each run folder holds samples.jsonl (or only summary.json) and optionally the training
        log as metrics.jsonl or train/metrics.jsonl. With exactly two runs on shared problems the
        report adds their paired comparison. Runs with the same label (arm) are seeds of one arm:
        the report then shows each arm's mean over seeds, each seed's figure, and with two arms
        their difference with an interval over seeds and problems.
        """
    )

    @Argument(help: "Run folders, in the order the report lists them.")
    var runs: [String]

    @Option(name: .customLong("labels"), help: "Label of each run, in order (repeatable; default: the arm its samples carry, else the folder name). Runs with one label are seeds of one arm.")
    var labels: [String] = []

    @Option(name: .customLong("metrics"), help: "A training metrics.jsonl for each run, in order (default: found in the folder).")
    var metrics: [String] = []

    @Option(help: "Folder to write report.md and report.html into.")
    var out: String

    @Option(help: help("Report title.", default: ReportSettings().title))
    var title: String?

    func validate() throws {
        guard !runs.isEmpty else { throw ValidationError("give at least one run folder") }
        guard metrics.isEmpty || metrics.count == runs.count else { throw ValidationError("give one --metrics per run folder, or none") }
    }

    func settings() throws -> ReportSettings {
        var g = GivenSettings()
        g.set("labels", list: labels)
        g.set("title", title)
        let s = try g.decode(ReportSettings.self)
        do { try s.check(runs: runs.count) } catch let SettingsError.invalid(key, reason, _) { throw ValidationError("\(key) (--labels): \(reason)") }
        return s
    }

    func run() throws {
        let s = try settings()
        let dirs = runs.map { URL(fileURLWithPath: $0) }
        let loaded = try zip(dirs, s.labels(for: dirs)).enumerated().map { i, run in
            try ReportRun.load(from: run.0, label: run.1, metrics: metrics.isEmpty ? nil : URL(fileURLWithPath: metrics[i]))
        }
        let outURL = URL(fileURLWithPath: out)
        try OutputFolder.check(outURL, markers: ["report.html", "report.md"], what: "a report")
        try Report.write(runs: loaded, to: outURL, title: s.title)
        print("wrote \(outURL.appendingPathComponent("report.md").path) and report.html")
    }
}
