import ArgumentParser
import Datasets
import Foundation
import Tokenizers

struct DatasetBuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Tokenize SFT records (JSONL: messages, or prompt/response) and pack them into rows of --seq-len tokens."
    )

    @Option(help: "SFT records, one JSON object per line.") var records: String
    @Option(help: "Another arm's SFT records (repeatable): keep only records whose question (meta.problem_id, else the user turn) is in every one.")
    var match: [String] = []
    @Option(help: "The tokenizer: a tokenizer.model, a tokenizer.json, or a model folder holding one; its files are copied into the output folder.") var tokenizer: String
    @Option(name: .customLong("seq-len"), help: "Tokens per packed row.") var seqLen: Int
    @Option(help: "Output folder (replaced atomically when the build completes).") var output: String
    @Option(help: help("Chat template: auto (the tokenizer's model folder's own), bcsft, llama2 or a .jinja file.", default: DatasetSettings().template)) var template: String?
    @Option(name: .customLong("template-vars"), help: "A variable the chat template reads, KEY=VALUE (repeatable), e.g. enable_thinking=false.")
    var templateVars: [String] = []
    @Option(name: .customLong("val-fraction"), help: help("Fraction of records (by id hash) for validation.", default: DatasetSettings().valFraction))
    var valFraction: Double?
    @Flag(inversion: .prefixedNo, help: help("Keep the first seq-len tokens of longer documents instead of dropping them.", default: DatasetSettings().truncate))
    var truncate: Bool?
    @Flag(inversion: .prefixedNo, help: help("Count and skip bad lines and records without loss tokens instead of stopping.", default: DatasetSettings().skipInvalid))
    var skipInvalid: Bool?

    func settings() throws -> DatasetSettings {
        var g = GivenSettings()
        g.set("seq_len", seqLen)
        g.set("template", template)
        if !templateVars.isEmpty { g.set("template_vars", try TemplateVariable.parse(templateVars, flag: "--template-vars")) }
        g.set("val_fraction", valFraction)
        g.set("truncate", truncate)
        g.set("skip_invalid", skipInvalid)
        return try g.decode(DatasetSettings.self)
    }

    func run() throws {
        var o = DatasetBuilder.Options(input: URL(fileURLWithPath: records), output: URL(fileURLWithPath: output), settings: try settings())
        o.match = match.map { URL(fileURLWithPath: $0) }
        o.modelFolder = ChatEncoder.modelFolder(ofTokenizer: URL(fileURLWithPath: tokenizer))
        let tok = try loadTokenizer(at: URL(fileURLWithPath: tokenizer))
        let bar = ProgressBar(label: "packing", total: 1000)
        let m = try DatasetBuilder(o, tokenizer: tok).build { event in
            if case let .progress(records, read, total) = event, total > 0 {
                bar.update(min(1000, read * 1000 / total), note: "\(records) records")
            }
        }
        bar.update(1000, note: "\(m.stats.records) records")
        bar.finish()
        print(DatasetSummary.text(m))
        print("wrote \(output)")
    }
}

/// The statistics block shared by `dataset build` and `dataset inspect`.
enum DatasetSummary {
    static func text(_ m: Manifest) -> String {
        let s = m.stats
        var lines = [
            "records        \(s.records) read; skipped: \(s.invalidSkipped) invalid, \(s.zeroLossSkipped) without loss tokens; longer than \(m.seqLen): \(s.dropped) dropped, \(s.truncated) truncated",
        ]
        if let match = m.match {
            lines.append("match          \(match.droppedRecords) records (\(match.droppedQuestions) questions) dropped: not in every match file; \(match.keptQuestions) questions kept (\(match.files.joined(separator: ", ")))")
        }
        for name in m.splits.keys.sorted() {
            let sp = m.splits[name]!
            lines.append(name.padding(toLength: 15, withPad: " ", startingAt: 0)
                + "\(sp.rows) rows, \(sp.documents) documents, \(sp.tokens) tokens, \(sp.lossTokens) loss tokens, \(sp.shards.count) shard(s)")
        }
        lines.append(String(format: "packing        %.1f%% of row tokens are real (the rest is padding)", 100 * s.packingEfficiency))
        lines.append(String(format: "loss fraction  %.1f%% of real tokens carry loss", 100 * s.lossFraction))
        lines.append("template       \(m.templateName) (sha256 \(m.templateSHA256.prefix(12))…), tokenizer sha256 \(m.tokenizerSHA256.prefix(12))…")
        lines.append("lengths        (tokens per document, before truncation)")
        let peak = max(s.lengthHistogram.max() ?? 1, 1)
        for (i, c) in s.lengthHistogram.enumerated() where c > 0 {
            let lo = i * s.histogramBinWidth
            let label = i == s.lengthHistogram.count - 1 ? "\(lo)+" : "\(lo)-\(lo + s.histogramBinWidth - 1)"
            let count = String(c)
            lines.append("  " + String(repeating: " ", count: max(0, 12 - label.count)) + label + " "
                + String(repeating: " ", count: max(0, 8 - count.count)) + count + " " + String(repeating: "▇", count: max(1, c * 40 / peak)))
        }
        return lines.joined(separator: "\n")
    }
}
