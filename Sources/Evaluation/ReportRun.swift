import Common
import Foundation

/// One run shown in a report: its label, samples (when there are any), summary, and the
/// training log of the model it evaluated (when there is one).
public struct ReportRun: Sendable {
    /// The arm the run belongs to; runs with the same label are seeds of one arm.
    public var label: String
    /// The run itself (its folder's name), telling seeds of one arm apart.
    public var name: String
    /// Empty when the run was loaded from a summary alone; paired comparisons need samples.
    public var samples: [EvalSample]
    public var summary: Summary
    public var training: [MetricsLine]

    /// A run from its samples; the summary is computed from them.
    public init(label: String, name: String? = nil, samples: [EvalSample], training: [MetricsLine] = [],
                bootstrap: BootstrapOptions = BootstrapOptions()) throws {
        self.label = label
        self.name = name ?? label
        self.samples = samples
        summary = try Summary(samples: samples, bootstrap: bootstrap)
        self.training = training
    }

    /// A run known only by its summary.
    public init(label: String, name: String? = nil, summary: Summary, training: [MetricsLine] = []) {
        self.label = label
        self.name = name ?? label
        samples = []
        self.summary = summary
        self.training = training
    }

    /// Reads a run folder: `samples.jsonl` (the summary is recomputed from it, so it always
    /// matches the samples) or, without samples, `summary.json`; and the training log from
    /// `metrics`, else `metrics.jsonl` or `train/metrics.jsonl` in the folder, if present.
    /// The label defaults to the arm every sample carries (eval's `arm`), else the folder's name.
    public static func load(from directory: URL, label: String? = nil, metrics: URL? = nil,
                            bootstrap: BootstrapOptions = BootstrapOptions()) throws -> ReportRun {
        let fm = FileManager.default
        let name = directory.standardizedFileURL.lastPathComponent
        let samplesURL = directory.appendingPathComponent("samples.jsonl")
        let summaryURL = directory.appendingPathComponent("summary.json")
        let metricsURL = metrics ?? ["metrics.jsonl", "train/metrics.jsonl"]
            .map { directory.appendingPathComponent($0) }
            .first { fm.fileExists(atPath: $0.path) }
        let training = try metricsURL.map { try MetricsLine.read(from: $0) } ?? []
        if fm.fileExists(atPath: samplesURL.path) {
            let samples = try JSONLines.read(EvalSample.self, from: samplesURL)
            guard !samples.isEmpty else { throw EvaluationError.noSamples(what: samplesURL.path) }
            let run = try ReportRun(label: name, name: name, samples: samples, training: training, bootstrap: bootstrap)
            return run.labelled(label ?? run.summary.arm)
        }
        if fm.fileExists(atPath: summaryURL.path) {
            let summary = try Summary.read(from: summaryURL)
            return ReportRun(label: label ?? summary.arm ?? name, name: name, summary: summary, training: training)
        }
        throw EvaluationError.emptyRun(path: directory.path)
    }

    func labelled(_ label: String?) -> ReportRun {
        var r = self
        if let label { r.label = label }
        return r
    }
}
