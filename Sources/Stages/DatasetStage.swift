import Datasets
import Foundation
import Pipelines
import Recipes
import Tokenizers

/// `kind: dataset`: SFT records rendered, tokenized and packed into shards (a dataset folder
/// for `kind: train`, in `data/`). The optional `match` input names other records files (or
/// generate stages): only records whose question is in all of them are kept, so two SFT arms
/// built against each other train on the same questions. The log says what each step dropped.
struct DatasetStage: StepStage {
    typealias Step = DatasetSettings
    let name = "dataset"
    let version = "3"  // 2: the match input and its counts in the manifest; 3: chat templates rendered as text (Jinja), the template copied
    let inputNames: Set<String>? = ["records", "tokenizer", "match"]

    func validate(_ s: StageSettings, inputs: StageInputs) throws {
        _ = try s.decode(Step.self)
        _ = try inputs.url("records")
        _ = try inputs.url("tokenizer")
        if inputs.paths["match"] != nil { _ = try inputs.urls("match") }
    }

    func run(_ context: StageContext) async throws {
        let settings = try context.settings.decode(Step.self)
        // A tokenizer stage's folder holds tokenizer.model; a model folder, tokenizer.json or .model file works as well.
        let tokenizerURL = try context.inputs.url("tokenizer")
        let tok = try loadTokenizer(at: tokenizerURL)
        // The builder replaces its output folder atomically; build into a child of ours.
        let records = StageFiles.records(try context.inputs.url("records"))
        var o = DatasetBuilder.Options(input: records, output: context.output.appendingPathComponent("data"), settings: settings)
        o.match = try context.inputs.paths["match"] == nil ? [] : context.inputs.urls("match").map(StageFiles.records)
        o.modelFolder = ChatEncoder.modelFolder(ofTokenizer: tokenizerURL)
        let m = try DatasetBuilder(o, tokenizer: tok).build { event in
            if case let .progress(records, read, total) = event, total > 0 {
                context.progress(Double(read) / Double(total), "\(records) records")
            }
        }
        context.log(String(format: "%d records, %d train rows, packing %.1f%%", m.stats.records, m.splits["train"]?.rows ?? 0, 100 * m.stats.packingEfficiency))
        context.log(DatasetDrops.text(m, generated: records.deletingLastPathComponent().appendingPathComponent("summary.json")))
    }
}


/// What each step dropped on the way to one arm's training rows: the generate step (summary.json
/// beside the records, when there is one), `match`, and the dataset's own length and validity checks.
enum DatasetDrops {
    static func text(_ m: Manifest, generated: URL) -> String {
        var parts: [String] = []
        if let data = try? Data(contentsOf: generated), let g = try? JSONDecoder().decode(GeneratePipeline.Summary.self, from: data) {
            parts.append("generate kept \(g.kept) of \(g.requested) responses (dropped \(g.droppedTruncated) cut off at max_tokens, \(g.droppedIncorrect) incorrect)")
        }
        if let match = m.match {
            parts.append("match dropped \(match.droppedRecords) records (\(match.droppedQuestions) questions) not in every other records file, kept \(match.keptQuestions) questions")
        }
        let s = m.stats
        parts.append("dataset dropped \(s.dropped) longer than seq_len \(m.seqLen), truncated \(s.truncated), skipped \(s.invalidSkipped) invalid and \(s.zeroLossSkipped) without loss tokens")
        return "dropped: " + parts.joined(separator: "; ")
    }
}
