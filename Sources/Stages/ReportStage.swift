import Evaluation
import Foundation
import Recipes
import Settings

/// `kind: report`: Markdown and a self-contained HTML page over eval stages (`runs` input,
/// one folder each, labelled by `labels`, else by the `arm` their samples carry, else by their
/// stage names; runs with one label are seeds of one arm), plus `result.txt`: the table a run
/// prints when it ends.
struct ReportStage: StepStage {
    typealias Step = ReportSettings
    let name = "report"
    let version = "2"  // 2: runs grouped into arms by label (seeds), result.txt over seeds
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
        let table = try ResultTable.text(runs: runs, report: final)
        try table.write(to: context.output.appendingPathComponent("result.txt"), atomically: true, encoding: .utf8)
        for line in table.split(separator: "\n") { context.log(String(line)) }
    }
}

/// The plain-text result: accuracy with its interval and mean output tokens per arm, the
/// paired difference when there are two arms, and where the report is. With several runs
/// (seeds) per arm: each arm's mean over seeds and each seed's figure, and the difference at
/// every budget with its interval over seeds and problems.
enum ResultTable {
    static func text(runs: [ReportRun], report: URL) throws -> String {
        if Arm.group(runs).contains(where: { $0.runs.count > 1 }) { return try seeded(runs: runs, report: report) }
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


extension ResultTable {
    static func seeded(runs: [ReportRun], report: URL) throws -> String {
        let arms = Arm.group(runs)
        let width = max(12, (arms.map(\.label.count).max() ?? 0) + 2)
        func pad(_ t: String, _ n: Int) -> String { t.padding(toLength: n, withPad: " ", startingAt: 0) }
        let perSeedWidth = max(16, 7 * (arms.map(\.runs.count).max() ?? 1))
        var lines = [pad("arm", width) + "seeds  budget   mean accuracy   " + pad("per seed", perSeedWidth) + "   mean output tokens   truncated   problems"]
        for arm in arms {
            for budget in Set(arm.runs.flatMap { $0.summary.budgets.map(\.budget) }).sorted() {
                let points = arm.runs.compactMap { r in r.summary.budgets.first { $0.budget == budget } }
                let accs = points.map(\.accuracy)
                let perSeed = accs.map { String(format: "%5.1f%%", 100 * $0) }.joined(separator: " ")
                lines.append(pad(arm.label, width) + String(format: "%5d  %6d   %12.1f%%   ", arm.runs.count, budget, 100 * Statistics.mean(accs))
                             + pad(perSeed, perSeedWidth)
                             + String(format: "   %8.1f             %5.1f%%      %d", Statistics.mean(points.map(\.outputTokens.mean)),
                                      100 * Statistics.mean(points.map(\.truncationRate)), points.map(\.problems).max() ?? 0))
            }
        }
        lines.append("seeds: " + arms.map { "\($0.label) = " + $0.runs.map(\.name).joined(separator: ", ") }.joined(separator: "; "))
        if let c = try Report.armComparison(runs) {
            lines.append("\(c.a) − \(c.b), mean over seeds (\(Int((c.bootstrap.confidence * 100).rounded()))% interval over seeds and problems):")
            for b in c.budgets {
                let d = b.difference
                let verdict = d.isSignificant ? (d.value > 0 ? "\(c.a) ahead" : "\(c.b) ahead") : "includes 0: neither arm shown ahead"
                lines.append(String(format: "  budget %4d: %+5.1f points [%+5.1f, %+5.1f]  ", b.budget, 100 * d.value, 100 * d.ci.low, 100 * d.ci.high) + verdict)
            }
            lines.append("(" + c.intervalNote + ")")
        }
        lines.append("report: \(report.path)")
        return lines.joined(separator: "\n") + "\n"
    }
}
