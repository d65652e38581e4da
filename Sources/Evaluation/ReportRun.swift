import Common
import Foundation

/// One run shown in a report: its label, samples (when there are any), summary, and the
/// training log of the model it evaluated (when there is one).
public struct ReportRun: Sendable {
    public var label: String
    /// Empty when the run was loaded from a summary alone; paired comparisons need samples.
    public var samples: [EvalSample]
    public var summary: Summary
    public var training: [MetricsLine]

    /// A run from its samples; the summary is computed from them.
    public init(label: String, samples: [EvalSample], training: [MetricsLine] = [], bootstrap: BootstrapOptions = BootstrapOptions()) throws {
        self.label = label
        self.samples = samples
        summary = try Summary(samples: samples, bootstrap: bootstrap)
        self.training = training
    }

    /// A run known only by its summary.
    public init(label: String, summary: Summary, training: [MetricsLine] = []) {
        self.label = label
        samples = []
        self.summary = summary
        self.training = training
    }

    /// Reads a run folder: `samples.jsonl` (the summary is recomputed from it, so it always
    /// matches the samples) or, without samples, `summary.json`; and the training log from
    /// `metrics`, else `metrics.jsonl` or `train/metrics.jsonl` in the folder, if present.
    /// The label defaults to the folder's name.
    public static func load(from directory: URL, label: String? = nil, metrics: URL? = nil,
                            bootstrap: BootstrapOptions = BootstrapOptions()) throws -> ReportRun {
        let fm = FileManager.default
        let name = label ?? directory.standardizedFileURL.lastPathComponent
        let samplesURL = directory.appendingPathComponent("samples.jsonl")
        let summaryURL = directory.appendingPathComponent("summary.json")
        let metricsURL = metrics ?? ["metrics.jsonl", "train/metrics.jsonl"]
            .map { directory.appendingPathComponent($0) }
            .first { fm.fileExists(atPath: $0.path) }
        let training = try metricsURL.map { try MetricsLine.read(from: $0) } ?? []
        if fm.fileExists(atPath: samplesURL.path) {
            let samples = try JSONLines.read(EvalSample.self, from: samplesURL)
            guard !samples.isEmpty else { throw EvaluationError.noSamples(what: samplesURL.path) }
            return try ReportRun(label: name, samples: samples, training: training, bootstrap: bootstrap)
        }
        if fm.fileExists(atPath: summaryURL.path) {
            return ReportRun(label: name, summary: try Summary.read(from: summaryURL), training: training)
        }
        throw EvaluationError.emptyRun(path: directory.path)
    }
}
