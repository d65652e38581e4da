import Common
import Evaluation
import Foundation
import TestSupport
import XCTest

final class ReportTests: XCTestCase {
    /// A run over 30 problems at two budgets; `skill` sets how many are solved.
    func runSamples(skill: Int, tokenScale: Int, arm: String) -> [EvalSample] {
        let subjects = ["Algebra", "Geometry", "Number Theory"]
        var samples: [EvalSample] = []
        for p in 0..<30 {
            for budget in [2048, 4096] {
                let solvedBelow: Int = skill + (budget == 4096 ? 1 : 0)
                let tokens: Int = tokenScale * (budget / 1024) + p
                let truncated: Bool = p % 7 == 0 && budget == 2048
                for i in 0..<2 {
                    samples.append(sample("p\(p)", i, correct: (p + i) % 10 < solvedBelow, tokens: tokens, budget: budget,
                                          subject: subjects[p % 3], level: "\(p % 5 + 1)", truncated: truncated, arm: arm))
                }
            }
        }
        return samples
    }

    func trainingLog(_ steps: Int) -> [MetricsLine] {
        (1...steps).map { s in
            MetricsLine(step: s * 10, loss: 2.0 / Double(s), lr: 1e-3, gradNorm: 0.5, lossTokens: 1000, tokensPerSecond: 2000,
                           valLoss: s % 2 == 0 ? 2.2 / Double(s) : nil)
        }
    }

    func testWritesMarkdownAndSelfContainedHTML() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let runs = [
            try ReportRun(label: "bc-sft", samples: runSamples(skill: 8, tokenScale: 300, arm: "bc-sft"), training: trainingLog(6)),
            try ReportRun(label: "vanilla", samples: runSamples(skill: 5, tokenScale: 500, arm: "vanilla"), training: trainingLog(4)),
        ]
        try Report.write(runs: runs, to: dir)
        let html = try String(contentsOf: dir.appendingPathComponent("report.html"), encoding: .utf8)
        let md = try String(contentsOf: dir.appendingPathComponent("report.md"), encoding: .utf8)

        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertGreaterThanOrEqual(html.components(separatedBy: "<svg").count - 1, 3, "budget curve, loss curves, subject bars")
        XCTAssertTrue(html.contains("<polyline"))
        XCTAssertTrue(html.contains("<rect x="))
        XCTAssertTrue(html.contains("stroke-dasharray"), "validation loss is dashed")
        XCTAssertFalse(html.contains("<script"))
        // nothing is fetched: the only URL is the SVG namespace name
        let urls = html.components(separatedBy: "http").dropFirst()
        XCTAssertFalse(urls.isEmpty)
        for rest in urls { XCTAssertTrue(rest.hasPrefix("://www.w3.org/2000/svg\""), String(rest.prefix(60))) }

        // tables: per-run accuracy with CI, tokens, truncation; budgets; the paired sentence
        XCTAssertTrue(md.contains("| bc-sft | 30 | 2 |"), md)
        XCTAssertTrue(md.contains("Accuracy % [95% CI]"))
        XCTAssertTrue(md.contains("## Budgets"))
        XCTAssertTrue(md.contains("## Accuracy by subject"))
        XCTAssertTrue(md.contains("## Paired comparison (30 shared problems)"))
        XCTAssertTrue(md.contains("bc-sft is more accurate than vanilla by 30.0 points"), md)
        XCTAssertTrue(md.contains("bc-sft uses"), "fewer tokens sentence")
        XCTAssertTrue(html.contains("bc-sft is more accurate than vanilla"))
        XCTAssertTrue(md.contains("## Training"))
    }

    func testNoPairedSectionForOneRunOrDisjointRuns() throws {
        let one = try ReportRun(label: "only", samples: runSamples(skill: 5, tokenScale: 100, arm: "x"))
        XCTAssertFalse(Report.markdown(runs: [one]).contains("Paired comparison"))
        let other = try ReportRun(label: "other", samples: [sample("elsewhere", 0, correct: true, tokens: 5)])
        XCTAssertNil(Report.pairedComparison([one, other]))
    }

    func write(_ lines: [String], to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
    }

    func testLoadsARunFolderWithItsTrainingLog() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = dir.appendingPathComponent("bc-run")
        try write(try runSamples(skill: 6, tokenScale: 200, arm: "bc").map(JSONLines.line), to: run.appendingPathComponent("samples.jsonl"))
        try write([#"{"step":10,"loss":1.2,"lr":0.001,"grad_norm":0.5,"loss_tokens":1000,"tokens_per_s":2000,"val_loss":1.3}"#,
                   #"{"step":20,"loss":0.9,"lr":0.001,"grad_norm":0.4,"loss_tokens":1000,"tokens_per_s":2100}"#],
                  to: run.appendingPathComponent("train/metrics.jsonl"))
        let loaded = try ReportRun.load(from: run)
        XCTAssertEqual(loaded.label, "bc", "the arm its samples carry")
        XCTAssertEqual(loaded.name, "bc-run")
        XCTAssertEqual(loaded.samples.count, 120)
        XCTAssertEqual(loaded.summary.problems, 30)
        XCTAssertEqual(loaded.training.map(\.step), [10, 20])
        XCTAssertEqual(loaded.training[0].valLoss, 1.3)
        XCTAssertNil(loaded.training[1].valLoss)

        // an explicit metrics file wins
        let other = dir.appendingPathComponent("elsewhere.jsonl")
        try write([#"{"step":5,"loss":3.0}"#], to: other)
        XCTAssertEqual(try ReportRun.load(from: run, label: "named", metrics: other).training.map(\.step), [5])
        XCTAssertEqual(try ReportRun.load(from: run, label: "named").label, "named")
    }

    func testSummaryOnlyRunsAndMissingRuns() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let summary = try Summary(samples: runSamples(skill: 4, tokenScale: 100, arm: "s"))
        try summary.write(to: dir.appendingPathComponent("summary.json"))
        let run = try ReportRun.load(from: dir, label: "s")
        XCTAssertEqual(run.summary, summary)
        XCTAssertTrue(run.samples.isEmpty)

        let empty = dir.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        XCTAssertThrowsError(try ReportRun.load(from: empty)) { error in
            XCTAssertEqual(error as? EvaluationError, .emptyRun(path: empty.path))
        }
    }

    func testReportCommand() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, skill) in [("a", 7), ("b", 3)] {
            let run = dir.appendingPathComponent(name)
            try write(try runSamples(skill: skill, tokenScale: 100, arm: name).map(JSONLines.line), to: run.appendingPathComponent("samples.jsonl"))
        }
        let out = dir.appendingPathComponent("report")
        let (status, _, err) = try runProcess(try bcsftExecutable(), ["report", dir.appendingPathComponent("a").path, dir.appendingPathComponent("b").path,
                                                                      "--labels", "first", "--labels", "second", "--out", out.path])
        XCTAssertEqual(status, 0, err)
        let md = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        XCTAssertTrue(md.contains("| first | 30 |") && md.contains("| second | 30 |"), md)
        XCTAssertTrue(md.contains("first is more accurate than second"), md)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("report.html").path))
        let (bad, _, message) = try runProcess(try bcsftExecutable(), ["report", dir.appendingPathComponent("missing").path, "--out", out.path])
        XCTAssertNotEqual(bad, 0)
        XCTAssertTrue(message.contains("neither samples.jsonl nor summary.json"), message)
    }

    func testBadLinesNameFileAndLine() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let samples = dir.appendingPathComponent("samples.jsonl")
        try write([try JSONLines.line(sample("p", 0, correct: true, tokens: 1)), "", #"{"problem_id": "q", "budget": 1}"#], to: samples)
        XCTAssertThrowsError(try ReportRun.load(from: dir)) { error in
            let message = error.localizedDescription
            XCTAssertTrue(message.hasPrefix("\(samples.path):3: "), message)
            XCTAssertTrue(message.contains("missing key"), message)
        }
        try write([try JSONLines.line(sample("p", 0, correct: true, tokens: 1))], to: samples)
        try write([#"{"step":1,"loss":1.0}"#, "not json"], to: dir.appendingPathComponent("metrics.jsonl"))
        XCTAssertThrowsError(try ReportRun.load(from: dir)) { error in
            XCTAssertTrue(error.localizedDescription.contains("metrics.jsonl:2: "), error.localizedDescription)
        }
    }
}
