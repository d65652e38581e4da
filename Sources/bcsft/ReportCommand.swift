import ArgumentParser
import Evaluation
import Foundation

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write report.md and report.html (inline SVG charts) for one or more eval run folders.",
        discussion: """
        Each run folder holds samples.jsonl (or only summary.json) and optionally the training
        log as metrics.jsonl or train/metrics.jsonl. With exactly two runs on shared problems the
        report adds their paired comparison.
        """
    )

    @Argument(help: "Run folders, in the order the report lists them.")
    var runs: [String]

    @Option(name: .customLong("label"), help: "Label of each run, in order (default: the folder name).")
    var labels: [String] = []

    @Option(name: .customLong("metrics"), help: "A training metrics.jsonl for each run, in order (default: found in the folder).")
    var metrics: [String] = []

    @Option(help: "Folder to write report.md and report.html into.")
    var out: String

    @Option(help: "Report title.")
    var title = "bcsft evaluation report"

    func validate() throws {
        guard !runs.isEmpty else { throw ValidationError("give at least one run folder") }
        guard labels.isEmpty || labels.count == runs.count else { throw ValidationError("give one --label per run folder, or none") }
        guard metrics.isEmpty || metrics.count == runs.count else { throw ValidationError("give one --metrics per run folder, or none") }
    }

    func run() throws {
        let loaded = try runs.enumerated().map { i, dir in
            try ReportRun.load(from: URL(fileURLWithPath: dir), label: labels.isEmpty ? nil : labels[i],
                               metrics: metrics.isEmpty ? nil : URL(fileURLWithPath: metrics[i]))
        }
        let outURL = URL(fileURLWithPath: out)
        try Report.write(runs: loaded, to: outURL, title: title)
        print("wrote \(outURL.appendingPathComponent("report.md").path) and report.html")
    }
}
