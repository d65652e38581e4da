import Common
import Foundation

/// The evaluation report: `report.md` (tables) and `report.html` (the same tables plus inline
/// SVG charts: accuracy against mean output tokens across budgets, training loss, accuracy by
/// subject and by level). The HTML page is self-contained: no scripts, fonts or links.
public enum Report {
    /// Writes `report.md` and `report.html` into `directory` (created if missing).
    public static func write(runs: [ReportRun], to directory: URL, title: String = "bcsft evaluation report") throws {
        do {
            // Arms compared over seeds must share their problems: say so rather than leave the comparison out.
            _ = try armComparison(runs)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try markdown(runs: runs, title: title).write(to: directory.appendingPathComponent("report.md"), atomically: true, encoding: .utf8)
            try html(runs: runs, title: title).write(to: directory.appendingPathComponent("report.html"), atomically: true, encoding: .utf8)
        } catch let e as EvaluationError {
            throw e
        } catch {
            throw FileError.cannotWrite(path: directory.path, reason: error.localizedDescription)
        }
    }

    /// The paired comparison a report shows: only for exactly two runs of two arms with samples on shared problems.
    public static func pairedComparison(_ runs: [ReportRun]) -> PairedComparison? {
        guard runs.count == 2, runs[0].label != runs[1].label, !runs[0].samples.isEmpty, !runs[1].samples.isEmpty else { return nil }
        return try? PairedComparison(runs[0].samples, runs[1].samples, labels: (runs[0].label, runs[1].label),
                                     bootstrap: runs[0].summary.bootstrap)
    }

    /// The comparison over seeds a report shows: exactly two arms (runs grouped by label), at
    /// least one of them with several runs. Throws when their runs are not on the same problems.
    public static func armComparison(_ runs: [ReportRun]) throws -> ArmComparison? {
        let arms = Arm.group(runs)
        guard arms.count == 2, arms.contains(where: { $0.runs.count > 1 }) else { return nil }
        return try ArmComparison(arms[0], arms[1], bootstrap: runs[0].summary.bootstrap)
    }

    /// Whether some arm has several runs (seeds); the per-run tables then name each run.
    static func isSeeded(_ runs: [ReportRun]) -> Bool { Arm.group(runs).contains { $0.runs.count > 1 } }

    /// The runs as the per-run tables and charts show them: with seeds, "arm [run]".
    static func perRun(_ runs: [ReportRun]) -> [ReportRun] {
        guard isSeeded(runs) else { return runs }
        return runs.map { r in
            var r = r
            r.label = "\(r.label) [\(r.name)]"
            return r
        }
    }

    public static func markdown(runs: [ReportRun], title: String = "bcsft evaluation report") -> String {
        var md = "# \(title)\n\nAccuracy is pass@1 (mean over samples); intervals are \(confidenceLabel(runs)) bootstrap intervals over problems. Output tokens exclude the prompt. Charts are in report.html.\n"
        for (heading, table) in armTables(runs) { md += "\n## \(heading)\n\n" + table.markdown }
        if let c = try? armComparison(runs) { md += "\n" + c.intervalNote + ".\n" }
        for (heading, table) in tables(perRun(runs)) {
            md += "\n## \(heading)\n\n" + table.markdown
        }
        if let p = pairedComparison(runs) { md += "\n" + p.sentence + "\n" }
        return md
    }

    public static func html(runs: [ReportRun], title: String = "bcsft evaluation report") -> String {
        var body = "<h1>\(SVGChart.escape(title))</h1>\n<p>Accuracy is pass@1 (mean over samples); intervals are \(confidenceLabel(runs)) bootstrap intervals over problems. Output tokens exclude the prompt.</p>\n"
        body += (armCharts(runs) + charts(perRun(runs))).map { "<figure>\($0)</figure>\n" }.joined()
        for (heading, table) in armTables(runs) { body += "<h2>\(SVGChart.escape(heading))</h2>\n" + table.html }
        if let c = try? armComparison(runs) { body += "<p>\(SVGChart.escape(c.intervalNote)).</p>\n" }
        for (heading, table) in tables(perRun(runs)) {
            body += "<h2>\(SVGChart.escape(heading))</h2>\n" + table.html
        }
        if let p = pairedComparison(runs) { body += "<p class=\"verdict\">\(SVGChart.escape(p.sentence))</p>\n" }
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(SVGChart.escape(title))</title>
        <style>
        body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1160px; }
        table { border-collapse: collapse; margin: 8px 0 20px; font-size: 13px; }
        th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
        th:first-child, td:first-child { text-align: left; }
        th { background: #f3f3f3; }
        figure { display: inline-block; margin: 4px; width: 560px; }
        figure svg { width: 100%; height: auto; }
        .verdict { font-weight: bold; }
        </style></head><body>
        \(body)</body></html>

        """
    }

    static func confidenceLabel(_ runs: [ReportRun]) -> String {
        "\(Int(((runs.first?.summary.bootstrap.confidence ?? 0.95) * 100).rounded()))%"
    }

    // MARK: tables

    struct Table {
        var headers: [String]
        var rows: [[String]]

        var markdown: String {
            func line(_ cells: [String]) -> String { "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |\n" }
            return line(headers) + line(headers.map { _ in "---" }) + rows.map(line).joined()
        }

        var html: String {
            "<table><tr>" + headers.map { "<th>\(SVGChart.escape($0))</th>" }.joined() + "</tr>\n"
                + rows.map { "<tr>" + $0.map { "<td>\(SVGChart.escape($0))</td>" }.joined() + "</tr>\n" }.joined() + "</table>\n"
        }
    }

    static func percent(_ x: Double) -> String { String(format: "%.1f", x * 100) }
    static func withCI(_ x: Double, _ ci: Interval) -> String { "\(percent(x)) [\(percent(ci.low)), \(percent(ci.high))]" }
    static func number(_ x: Double) -> String { String(format: "%.0f", x) }

    static func tables(_ runs: [ReportRun]) -> [(String, Table)] {
        var out: [(String, Table)] = []
        let ci = "Accuracy % [\(confidenceLabel(runs)) CI]"
        out.append(("Runs", Table(
            headers: ["Run", "Problems", "Samples/problem", ci, "Std across samples", "pass@k", "Mean tokens", "Median", "p90", "Truncated %", "No answer %"],
            rows: runs.map { r in
                let s = r.summary
                let best = s.passAtK.last.map { "pass@\($0.k) \(percent($0.value))" } ?? "–"
                return [r.label, "\(s.problems)", "\(s.samplesPerProblem)", withCI(s.accuracy, s.accuracyCI),
                        s.accuracyStd.map { percent($0) } ?? "–", best, number(s.outputTokens.mean), number(s.outputTokens.median),
                        number(s.outputTokens.p90), percent(s.truncationRate), percent(s.noAnswerRate)]
            })))
        out.append(("Budgets", Table(
            headers: ["Run", "Budget", ci, "Mean tokens", "p90 tokens", "Truncated %"],
            rows: runs.flatMap { r in
                r.summary.budgets.map { b in
                    [r.label, "\(b.budget)", withCI(b.accuracy, b.accuracyCI), number(b.outputTokens.mean), number(b.outputTokens.p90), percent(b.truncationRate)]
                }
            })))
        for (heading, groups) in [("Accuracy by subject", \Summary.bySubject), ("Accuracy by level", \Summary.byLevel)] {
            let names = orderedNames(runs.map { $0.summary[keyPath: groups] })
            guard !names.isEmpty else { continue }
            out.append((heading, Table(
                headers: ["Group"] + runs.map { "\($0.label) accuracy % (problems)" },
                rows: names.map { name in
                    [name] + runs.map { r in
                        r.summary[keyPath: groups].first { $0.name == name }.map { "\(percent($0.accuracy)) (\($0.problems))" } ?? "–"
                    }
                })))
        }
        if let p = pairedComparison(runs) {
            let conf = confidenceLabel(runs)
            out.append(("Paired comparison (\(p.sharedProblems) shared problems)", Table(
                headers: ["Metric", p.a, p.b, "\(p.a) − \(p.b)", "\(conf) CI"],
                rows: [
                    ["Accuracy %", percent(p.accuracyA), percent(p.accuracyB), String(format: "%+.1f", p.accuracyDifference.value * 100),
                     String(format: "[%+.1f, %+.1f]", p.accuracyDifference.ci.low * 100, p.accuracyDifference.ci.high * 100)],
                    ["Mean output tokens", number(p.meanTokensA), number(p.meanTokensB), String(format: "%+.0f", p.tokenDifference.value),
                     String(format: "[%+.0f, %+.0f]", p.tokenDifference.ci.low, p.tokenDifference.ci.high)],
                ])))
        }
        let trained = runs.filter { !$0.training.isEmpty }
        if !trained.isEmpty {
            out.append(("Training", Table(
                headers: ["Run", "Steps", "Final loss", "Final val loss", "Best val loss"],
                rows: trained.map { r in
                    let last = r.training.last!, vals = r.training.compactMap(\.valLoss)
                    return [r.label, "\(last.step)", r.training.compactMap(\.loss).last.map { String(format: "%.4f", $0) } ?? "–",
                            vals.last.map { String(format: "%.4f", $0) } ?? "–", vals.min().map { String(format: "%.4f", $0) } ?? "–"]
                })))
        }
        return out
    }

    /// With seeds: each arm's mean accuracy over its seeds and each seed's, per budget, and
    /// with two arms their difference with its interval over seeds and problems.
    static func armTables(_ runs: [ReportRun]) -> [(String, Table)] {
        guard isSeeded(runs) else { return [] }
        let arms = Arm.group(runs)
        var out: [(String, Table)] = []
        out.append(("Arms over seeds", Table(
            headers: ["Arm", "Seeds", "Budget", "Mean accuracy %", "Per seed %", "Seed range (points)", "Mean tokens", "Truncated %"],
            rows: arms.flatMap { arm in
                orderedBudgets(arm.runs).map { budget in
                    let points = arm.runs.compactMap { r in r.summary.budgets.first { $0.budget == budget } }
                    let accs = points.map(\.accuracy)
                    return [arm.label, "\(arm.runs.count)", "\(budget)", percent(Statistics.mean(accs)),
                            accs.map(percent).joined(separator: ", "), String(format: "%.1f", ((accs.max() ?? 0) - (accs.min() ?? 0)) * 100),
                            number(Statistics.mean(points.map(\.outputTokens.mean))), percent(Statistics.mean(points.map(\.truncationRate)))]
                }
            })))
        if let c = try? armComparison(runs) {
            let conf = confidenceLabel(runs)
            out.append(("\(c.a) − \(c.b) over seeds and problems", Table(
                headers: ["Budget", "Problems", "\(c.a) %", "\(c.b) %", "\(c.a) − \(c.b)", "\(conf) CI (seeds and problems)"],
                rows: c.budgets.map { b in
                    ["\(b.budget)", "\(b.problems)", percent(b.accuracyA), percent(b.accuracyB), String(format: "%+.1f", b.difference.value * 100),
                     String(format: "[%+.1f, %+.1f]", b.difference.ci.low * 100, b.difference.ci.high * 100)]
                })))
        }
        return out
    }

    /// Budgets in ascending order across runs.
    static func orderedBudgets(_ runs: [ReportRun]) -> [Int] { Set(runs.flatMap { $0.summary.budgets.map(\.budget) }).sorted() }

    /// With seeds: accuracy by budget, a line through each arm's mean over seeds and a dot per seed.
    static func armCharts(_ runs: [ReportRun]) -> [String] {
        guard isSeeded(runs) else { return [] }
        var series: [SVGChart.Series] = []
        for (i, arm) in Arm.group(runs).enumerated() {
            let color = SVGChart.palette[i % SVGChart.palette.count]
            let means = orderedBudgets(arm.runs).map { budget in
                let accs = arm.runs.compactMap { r in r.summary.budgets.first { $0.budget == budget }?.accuracy }
                return (Double(budget), Statistics.mean(accs) * 100, "budget \(budget): mean \(percent(Statistics.mean(accs)))% over \(accs.count) seeds")
            }
            let seeds = arm.runs.flatMap { r in
                r.summary.budgets.map { b in (Double(b.budget), b.accuracy * 100, "\(r.name), budget \(b.budget): \(percent(b.accuracy))%") }
            }
            series.append(SVGChart.Series(label: "\(arm.label) mean", color: color, points: means))
            series.append(SVGChart.Series(label: "\(arm.label) seeds", color: color, points: seeds, line: false))
        }
        return [SVGChart.lines(title: "Accuracy by budget (line: mean over seeds; dots: each seed)", xLabel: "budget (max output tokens)",
                               yLabel: "accuracy %", series: series, yRange: (0, 100))].filter { !$0.isEmpty }
    }

    /// Group names in first-seen order across runs (each summary already sorts its groups).
    static func orderedNames(_ groups: [[Summary.Group]]) -> [String] {
        var seen = Set<String>(), names: [String] = []
        for g in groups.joined() where seen.insert(g.name).inserted { names.append(g.name) }
        return names
    }

    // MARK: charts

    static func charts(_ runs: [ReportRun]) -> [String] {
        func color(_ i: Int) -> String { SVGChart.palette[i % SVGChart.palette.count] }
        var charts: [String] = []
        charts.append(SVGChart.lines(
            title: "Accuracy vs mean output tokens (one point per budget)", xLabel: "mean output tokens", yLabel: "accuracy %",
            series: runs.enumerated().map { i, r in
                SVGChart.Series(label: r.label, color: color(i), points: r.summary.budgets.map { b in
                    (b.outputTokens.mean, b.accuracy * 100, "budget \(b.budget): \(percent(b.accuracy))% at \(number(b.outputTokens.mean)) tokens")
                })
            }, yRange: (0, 100)))  // a full axis: a zoomed one makes a 0.5-point gap look like a cliff
        var loss: [SVGChart.Series] = []
        for (i, r) in runs.enumerated() where !r.training.isEmpty {
            let train = r.training.compactMap { t in t.loss.map { (Double(t.step), $0, "step \(t.step): loss \(String(format: "%.4f", $0))") } }
            let val = r.training.compactMap { t in t.valLoss.map { (Double(t.step), $0, "step \(t.step): val loss \(String(format: "%.4f", $0))") } }
            if !train.isEmpty { loss.append(SVGChart.Series(label: "\(r.label) train", color: color(i), points: train)) }
            if !val.isEmpty { loss.append(SVGChart.Series(label: "\(r.label) val", color: color(i), points: val, dashed: true)) }
        }
        if !loss.isEmpty { charts.append(SVGChart.lines(title: "Training loss", xLabel: "step", yLabel: "loss", series: loss)) }
        for (title, groups) in [("Accuracy by subject", \Summary.bySubject), ("Accuracy by level", \Summary.byLevel)] {
            let names = orderedNames(runs.map { $0.summary[keyPath: groups] })
            guard !names.isEmpty else { continue }
            charts.append(SVGChart.bars(title: title, yLabel: "accuracy %", categories: names, series: runs.enumerated().map { i, r in
                (r.label, color(i), names.map { n in r.summary[keyPath: groups].first { $0.name == n }.map { $0.accuracy * 100 } })
            }))
        }
        return charts.filter { !$0.isEmpty }
    }
}
