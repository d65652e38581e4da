import ArgumentParser
import Datasets
import Foundation
import Tokenizers

struct DatasetInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Decode packed rows, showing which tokens carry loss, and print the dataset's statistics."
    )

    @Argument(help: "A folder written by `bcsft dataset build`.") var directory: String
    @Option(help: "How many rows to show.") var rows = 2
    @Option(help: "Which split: train or val.") var split = "train"
    @Option(help: "Tokenizer to decode with: a tokenizer.model, a tokenizer.json, or a model folder holding one (default: the copy inside the folder).") var tokenizer: String?
    @Flag(help: "Print JSON: the manifest and each row's documents as explicit spans.") var json = false

    func run() throws {
        let dir = URL(fileURLWithPath: directory)
        let manifest = try Manifest.load(from: dir)
        let tok = try loadTokenizer(at: tokenizer.map { URL(fileURLWithPath: $0) } ?? dir)
        let data = try PackedDataset(directory: dir, tokenizerSHA256: tok.sha256)
        let inspector = RowInspector(tokenizer: tok)
        let n = min(rows, data.rows(split))
        let views = try (0..<n).map { i in
            let r = data.row(split, i)
            return try inspector.view(split: split, row: i, ids: r.ids, mask: r.mask, documents: r.documents)
        }
        if json {
            struct Out: Encodable { let manifest: Manifest; let rows: [RowInspector.RowView] }
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try enc.encode(Out(manifest: manifest, rows: views)), as: UTF8.self))
            return
        }
        let color = isatty(STDOUT_FILENO) != 0
        // Loss-carrying text: green on a terminal, between ⟦ ⟧ otherwise.
        let (on, off) = color ? ("\u{1B}[1;32m", "\u{1B}[0m") : ("⟦", "⟧")
        let (dim, undim) = color ? ("\u{1B}[2m", "\u{1B}[0m") : ("", "")
        for v in views {
            print("── \(v.split) row \(v.row): \(v.documents.count) document(s), \(v.padding) padding tokens")
            for (k, d) in v.documents.enumerated() {
                print("  doc \(k) [tokens \(d.start)..<\(d.start + d.length)]")
                let text = d.spans.map { $0.loss ? on + $0.text + off : dim + $0.text + undim }.joined()
                print(text.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n"))
            }
        }
        print(DatasetSummary.text(manifest))
    }
}
