import Foundation

/// `manifest.json` of a packed dataset folder: what was built, from what, and how well it packed.
public struct Manifest: Codable, Sendable, Equatable {
    public struct Split: Codable, Sendable, Equatable {
        public var shards: [String]
        public var rows: Int
        public var documents: Int
        public var tokens: Int
        public var lossTokens: Int
        enum CodingKeys: String, CodingKey { case shards, rows, documents, tokens, lossTokens = "loss_tokens" }
    }

    public struct Stats: Codable, Sendable, Equatable {
        public var records = 0
        public var invalidSkipped = 0
        public var zeroLossSkipped = 0
        public var truncated = 0
        public var dropped = 0
        /// Document lengths (tokens, before truncation) in bins of `histogramBinWidth`; the last
        /// bin counts documents longer than seq_len.
        public var histogramBinWidth = 1
        public var lengthHistogram: [Int] = []
        public var packingEfficiency = 0.0
        public var lossFraction = 0.0
        /// Wall time of the build (reading, tokenizing, packing, writing).
        public var seconds = 0.0
        enum CodingKeys: String, CodingKey {
            case records, truncated, dropped, seconds
            case invalidSkipped = "invalid_skipped", zeroLossSkipped = "zero_loss_skipped"
            case histogramBinWidth = "histogram_bin_width", lengthHistogram = "length_histogram"
            case packingEfficiency = "packing_efficiency", lossFraction = "loss_fraction"
        }
    }

    /// What `match` kept: records of the input whose question is missing from some match file
    /// were dropped before packing (they count in `records` and in no other statistic).
    public struct Match: Codable, Sendable, Equatable {
        /// The other records files, as given.
        public var files: [String]
        public var droppedRecords: Int
        public var droppedQuestions: Int
        /// Questions of the input present in every match file (their records were kept).
        public var keptQuestions: Int

        public init(files: [String], droppedRecords: Int, droppedQuestions: Int, keptQuestions: Int) {
            self.files = files
            self.droppedRecords = droppedRecords
            self.droppedQuestions = droppedQuestions
            self.keptQuestions = keptQuestions
        }

        enum CodingKeys: String, CodingKey {
            case files
            case droppedRecords = "dropped_records", droppedQuestions = "dropped_questions", keptQuestions = "kept_questions"
        }
    }

    public var format = "bcsft-packed"
    public var version = 1
    public var seqLen: Int
    public var tokenizerSHA256: String
    public var templateName: String
    public var templateSHA256: String
    public var padID: Int32
    public var eosID: Int32
    public var vocabularySize: Int
    public var input: String
    public var overlong: String
    public var validationFraction: Double
    public var splits: [String: Split]
    public var stats: Stats
    /// Absent when the build had no match files.
    public var match: Match? = nil

    enum CodingKeys: String, CodingKey {
        case format, version, input, overlong, splits, stats, match
        case seqLen = "seq_len", tokenizerSHA256 = "tokenizer_sha256", templateName = "template"
        case templateSHA256 = "template_sha256", padID = "pad_id", eosID = "eos_id", vocabularySize = "vocab_size"
        case validationFraction = "validation_fraction"
    }

    public static let fileName = "manifest.json"

    public static func load(from dir: URL) throws -> Manifest {
        let url = dir.appendingPathComponent(fileName)
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw DatasetError.cannotRead(path: url.path, reason: "no manifest (is this a folder written by `bcsft dataset build`?)")
        }
        do { return try JSONDecoder().decode(Manifest.self, from: data) } catch {
            throw DatasetError.corruptShard(path: url.path, reason: "manifest is not valid: \(error.localizedDescription)")
        }
    }

    func write(to dir: URL) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try enc.encode(self).write(to: dir.appendingPathComponent(Self.fileName), options: .atomic)
    }
}
