import Datasets
import Foundation
import Recipes
import Tokenizers

/// `kind: dataset`: SFT records rendered, tokenized and packed into shards (a dataset folder
/// for `kind: train`).
struct DatasetStage: StageKind {
    let name = "dataset"
    let version = "1"
    let settingKeys: Set<String> = ["seq_len", "val_fraction", "template", "truncate"]
    let inputNames: Set<String>? = ["records", "tokenizer"]

    func validate(_ s: StageSettings, inputs: StageInputs) throws {
        guard try s.value("seq_len", as: Int.self) >= 8 else { throw s.error("seq_len", "must be at least 8") }
        let f: Double = try s.value("val_fraction", default: 0.05)
        guard f >= 0, f < 1 else { throw s.error("val_fraction", "must be in [0, 1)") }
        _ = try ChatTemplate.named(try s.value("template", default: "bcsft"))
        _ = try inputs.url("records")
        _ = try inputs.url("tokenizer")
    }

    func run(_ context: StageContext) async throws {
        let s = context.settings
        let tok = try SentencePieceTokenizer(contentsOf: StageFiles.tokenizer(try context.inputs.url("tokenizer")))
        // The builder replaces its output folder atomically; build into a child of ours.
        let out = context.output.appendingPathComponent("data")
        var o = DatasetBuilder.Options(input: StageFiles.records(try context.inputs.url("records")), output: out, seqLen: try s.value("seq_len"))
        o.template = try ChatTemplate.named(try s.value("template", default: "bcsft"))
        o.validationFraction = try s.value("val_fraction", default: 0.05)
        o.overlong = try s.value("truncate", default: false) ? .truncate : .drop
        let m = try DatasetBuilder(o, tokenizer: tok).build { event in
            if case let .progress(records, read, total) = event, total > 0 {
                context.progress(Double(read) / Double(total), "\(records) records")
            }
        }
        context.log(String(format: "%d records, %d train rows, packing %.1f%%", m.stats.records, m.splits["train"]?.rows ?? 0, 100 * m.stats.packingEfficiency))
    }
}

extension StageFiles {
    /// A dataset folder: the path itself (holds manifest.json) or `data/` in a stage folder.
    static func dataset(_ url: URL) -> URL {
        FileManager.default.fileExists(atPath: url.appendingPathComponent("manifest.json").path) ? url : url.appendingPathComponent("data")
    }
}
