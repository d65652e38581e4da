import Evaluation
import Foundation
import Recipes
import Settings

/// `kind: report`: Markdown and a self-contained HTML page over eval stages (`runs` input,
/// one folder each, labelled by `labels` or their stage names), plus `result.txt`: the table
/// a run prints when it ends.
struct ReportStage: StepStage {
    typealias Step = ReportSettings
    let name = "report"
    let version = "1"
    let inputNames: Set<String>? = ["runs"]

    func validate(_ s: StageSettings, inputs: StageInputs) throws {
        let settings = try s.decode(Step.self)
        do { try settings.check(runs: try inputs.urls("runs").count) } catch let SettingsError.invalid(key, reason, _) { throw s.error(key, reason) }
    }

    func run(_ context: StageContext) async throws {
        let settings = try context.settings.decode(Step.self)
        let dirs = try context.inputs.urls("runs")
        let runs = try zip(dirs, settings.labels(for: dirs)).map { try ReportRun.load(from: $0, label: $1) }
        try Report.write(runs: runs, to: context.output, title: settings.title)
        // Where the report will be once the stage completes (it is written into STAGE.partial).
        let final = context.workdir.appendingPathComponent(context.stage).appendingPathComponent("report.html")
        let table = ResultTable.text(runs: runs, report: final)
        try table.write(to: context.output.appendingPathComponent("result.txt"), atomically: true, encoding: .utf8)
        for line in table.split(separator: "\n") { context.log(String(line)) }
    }
}

/// The plain-text result: accuracy with its interval and mean output tokens per arm, the
/// paired difference when there are two arms, and where the report is.
enum ResultTable {
    static func text(runs: [ReportRun], report: URL) -> String {
        let width = max(12, (runs.map(\.label.count).max() ?? 0) + 2)
        func pad(_ t: String) -> String { t.padding(toLength: width, withPad: " ", startingAt: 0) }
        var lines = [pad("arm") + "budget   accuracy (95% CI)        mean output tokens   truncated   problems"]
        for r in runs {
            for b in r.summary.budgets {
                lines.append(pad(r.label) + String(format: "%6d   %5.1f%% [%5.1f, %5.1f]     %8.1f             %5.1f%%      %d", b.budget,
                                                   100 * b.accuracy, 100 * b.accuracyCI.low, 100 * b.accuracyCI.high,
                                                   b.outputTokens.mean, 100 * b.truncationRate, b.problems))
            }
        }
        // The paired verdict at the largest budget both runs share: the headline comparison.
        if runs.count == 2, let top = Set(runs[0].samples.map(\.budget)).intersection(runs[1].samples.map(\.budget)).max(),
           let p = try? PairedComparison(runs[0].samples.filter { $0.budget == top }, runs[1].samples.filter { $0.budget == top },
                                         labels: (runs[0].label, runs[1].label)) {
            lines.append("at budget \(top): " + p.sentence)
        }
        lines.append("report: \(report.path)")
        return lines.joined(separator: "\n") + "\n"
    }
}
