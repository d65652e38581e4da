import Backends
import Behaviors
import Foundation
import Pipelines
import Recipes

/// Where stages find what other stages wrote: an input may name a file or the stage folder
/// holding it.
enum StageFiles {
    static func writeJSON<T: Encodable>(_ value: T, to url: URL) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try enc.encode(value).write(to: url, options: .atomic)
    }

    /// An SFT records file: the path itself, or `sft.jsonl` in a stage folder.
    static func records(_ url: URL) -> URL {
        url.pathExtension == "jsonl" ? url : url.appendingPathComponent("sft.jsonl")
    }

    /// A dataset folder: the path itself (holds manifest.json) or `data/` in a stage folder.
    static func dataset(_ url: URL) -> URL {
        FileManager.default.fileExists(atPath: url.appendingPathComponent("manifest.json").path) ? url : url.appendingPathComponent("data")
    }

    /// A handbook: the path itself, or `handbook.jsonl` in an extract stage's folder.
    static func handbook(_ url: URL) -> URL {
        url.pathExtension == "jsonl" ? url : url.appendingPathComponent("handbook.jsonl")
    }

    /// Behavior-conditioned when the stage has a `handbook` input.
    static func selector(_ inputs: StageInputs, retrieval: RetrievalSettings, backend: Backend) async throws -> BehaviorSelector? {
        guard let url = try inputs.optionalURL("handbook") else { return nil }
        return try await BehaviorSelector(handbook: try Handbook.load(handbook(url)), retrieval: retrieval,
                                          embed: retrieval.method == .embedding ? try retrieval.embedding.embedder(for: backend) : nil)
    }
}
