import Datasets
import Foundation
import Recipes
import Tokenizers

/// `kind: dataset`: SFT records rendered, tokenized and packed into shards (a dataset folder
/// for `kind: train`, in `data/`).
struct DatasetStage: StepStage {
    typealias Step = DatasetSettings
    let name = "dataset"
    let version = "1"
    let inputNames: Set<String>? = ["records", "tokenizer"]

    func validate(_ s: StageSettings, inputs: StageInputs) throws {
        _ = try s.decode(Step.self)
        _ = try inputs.url("records")
        _ = try inputs.url("tokenizer")
    }

    func run(_ context: StageContext) async throws {
        let settings = try context.settings.decode(Step.self)
        let tok = try SentencePieceTokenizer(contentsOf: StageFiles.tokenizer(try context.inputs.url("tokenizer")))
        // The builder replaces its output folder atomically; build into a child of ours.
        let o = DatasetBuilder.Options(input: StageFiles.records(try context.inputs.url("records")),
                                       output: context.output.appendingPathComponent("data"), settings: settings)
        let m = try DatasetBuilder(o, tokenizer: tok).build { event in
            if case let .progress(records, read, total) = event, total > 0 {
                context.progress(Double(read) / Double(total), "\(records) records")
            }
        }
        context.log(String(format: "%d records, %d train rows, packing %.1f%%", m.stats.records, m.splits["train"]?.rows ?? 0, 100 * m.stats.packingEfficiency))
    }
}
