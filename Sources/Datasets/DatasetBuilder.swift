import ChatTemplates
import Common
import Foundation
import Tokenizers

/// `bcsft dataset build`: SFT records (JSONL) to packed, masked token shards.
///
/// Streaming: records are read, rendered and tokenized in batches (on every core), split
/// into train/validation by a hash of their id, and packed by a bounded best-fit packer
/// straight into shard files, so memory does not grow with the input. The output folder
/// appears whole: it is built beside the destination and swapped in at the end, so an
/// interrupted build leaves any previous dataset untouched.
public struct DatasetBuilder {
    public enum Overlong: String, Sendable, CaseIterable {
        /// Skip documents longer than seq_len (counted): an SFT answer cut short teaches the
        /// student to stop mid-answer without EOS.
        case drop
        /// Keep the first seq_len tokens (counted).
        case truncate
    }

    public struct Options: Sendable {
        public var input: URL
        public var output: URL
        public var settings: DatasetSettings
        /// Other SFT records files (`match`): only records whose question is in every one of
        /// them are kept, so two arms built against each other train on the same questions.
        public var match: [URL] = []
        /// The tokenizer's model folder, where template `auto` finds the chat template.
        public var modelFolder: URL?
        public var threads = ProcessInfo.processInfo.activeProcessorCount
        public var batchRecords = 2048
        public var maxOpenRows = 512
        /// Rows per shard file; 0 picks about 256 MiB per shard.
        public var rowsPerShard = 0

        public init(input: URL, output: URL, settings: DatasetSettings) {
            self.input = input
            self.output = output
            self.settings = settings
        }

        /// The default settings with `seqLen` tokens per row.
        public init(input: URL, output: URL, seqLen: Int) {
            var s = DatasetSettings()
            s.seqLen = seqLen
            self.init(input: input, output: output, settings: s)
        }

        public var seqLen: Int { settings.seqLen }
        public var validationFraction: Double {
            get { settings.valFraction }
            set { settings.valFraction = newValue }
        }
        public var overlong: Overlong {
            get { settings.overlong }
            set { settings.truncate = newValue == .truncate }
        }
        public var skipInvalid: Bool {
            get { settings.skipInvalid }
            set { settings.skipInvalid = newValue }
        }
    }

    public enum Event: Sendable {
        case progress(records: Int, bytesRead: Int, totalBytes: Int)
    }

    public let options: Options
    public let tokenizer: Tokenizer

    public init(_ options: Options, tokenizer: Tokenizer) {
        self.options = options
        self.tokenizer = tokenizer
    }

    /// Deterministic split: a record is in validation when the FNV-1a hash of its id falls
    /// in the lowest `fraction` of the hash range, whatever the file order.
    public static func isValidation(id: String, fraction: Double) -> Bool {
        guard fraction > 0 else { return false }
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in id.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return Double(h % 1_000_000) < fraction * 1_000_000
    }

    @discardableResult
    public func build(progress: (Event) -> Void = { _ in }) throws -> Manifest {
        let o = options
        let started = Date()
        try o.settings.validate()
        let fm = FileManager.default
        let totalBytes = (try? fm.attributesOfItem(atPath: o.input.path)[.size] as? Int) ?? 0
        try FileCheck.readable(o.input)
        let template = try ChatEncoder(setting: o.settings.template, tokenizer: tokenizer, modelFolder: o.modelFolder,
                                       variables: o.settings.templateVars)
        try template.checkLossSpans()
        let required = try o.match.map { try questions(in: $0, template: template) }

        var manifest: Manifest?
        // A dataset folder is replaced by a new build; anything else at the path is the user's.
        try AtomicDirectory.write(to: o.output, owns: { FileManager.default.fileExists(atPath: $0.appendingPathComponent("manifest.json").path) },
                                  what: "a dataset folder (it holds no manifest.json)") { staging in
            manifest = try build(into: staging, template: template, started: started,
                                 totalBytes: totalBytes, required: required, progress: progress)
        }
        return manifest!
    }

    /// The questions of a `match` records file that this build would keep: a record counts only
    /// if it parses, tokenizes, has loss tokens and (under overlong: drop) fits seq_len, with
    /// this build's tokenizer and template. Two arms matched against each other thus end on the
    /// same questions even where one arm's answers are longer. Its bad lines are errors naming it
    /// and the line, or with skip_invalid are skipped like the input's.
    func questions(in url: URL, template: ChatEncoder) throws -> Set<String> {
        let o = options
        try FileCheck.readable(url)
        var questions = Set<String>()
        var lines = JSONLReader(url: url).makeIterator()
        while true {
            var batch: [(line: Int, data: Data)] = []
            while batch.count < o.batchRecords, let l = lines.next() { batch.append(l) }
            if batch.isEmpty { break }
            let kept = try parallelMap(batch.map(\.data), threads: o.threads) { data -> Result<String?, SFTRecord.ParseError> in
                let record: SFTRecord
                do { record = try SFTRecord.parse(data) } catch let e as SFTRecord.ParseError { return .failure(e) }
                guard let (ids, mask) = try? template.encode(record.messages) else { return .success(nil) }
                let fits = o.overlong == .truncate || ids.count <= o.seqLen
                let loss = mask.prefix(o.seqLen).contains { $0 != 0 }
                return .success(fits && loss ? record.question : nil)
            }
            for ((line, _), result) in zip(batch, kept) {
                switch result {
                case let .success(question): if let question { questions.insert(question) }
                case let .failure(e):
                    guard o.skipInvalid else { throw DatasetError.invalidRecord(file: url.path, line: line, reason: "(match file) " + e.reason) }
                }
            }
        }
        if let error = lines.error { throw error as? FileError ?? DatasetError.cannotRead(path: url.path, reason: error.localizedDescription) }
        return questions
    }

    /// The build proper, writing shards, manifest and tokenizer copy into `staging`.
    private func build(into staging: URL, template: ChatEncoder, started: Date, totalBytes: Int, required: [Set<String>],
                       progress: (Event) -> Void) throws -> Manifest {
        let o = options
        let padID = tokenizer.padID ?? tokenizer.eosID ?? 0
        guard let eosID = tokenizer.eosID else { throw DatasetError.missingMarker(template: template.name, piece: "</s> (EOS)") }
        let header = ShardHeader(seqLen: o.seqLen, rows: 0, documents: 0, tokens: 0, lossTokens: 0,
                                 tokenizerSHA256: tokenizer.sha256, templateName: template.name,
                                 templateSHA256: template.sha256, padID: padID, eosID: eosID,
                                 vocabularySize: tokenizer.vocabularySize, split: "")
        let rowsPerShard = o.rowsPerShard > 0 ? o.rowsPerShard : max(1, (256 << 20) / ShardFormat.rowBytes(o.seqLen))
        var outputs = ["train": SplitOutput(name: "train", dir: staging, header: header, seqLen: o.seqLen, padID: padID,
                                             maxOpenRows: o.maxOpenRows, rowsPerShard: rowsPerShard)]
        if o.validationFraction > 0 {
            outputs["val"] = SplitOutput(name: "val", dir: staging, header: header, seqLen: o.seqLen, padID: padID,
                                         maxOpenRows: o.maxOpenRows, rowsPerShard: rowsPerShard)
        }

        var stats = Manifest.Stats()
        var keptQuestions = Set<String>(), droppedQuestions = Set<String>(), droppedRecords = 0
        stats.histogramBinWidth = max(1, o.seqLen / 16)
        stats.lengthHistogram = Array(repeating: 0, count: 17)
        // Lines are read in order on this thread; parsing, rendering and tokenizing run on
        // every core; packing and writing go back to input order, so output is deterministic.
        var lines = JSONLReader(url: o.input).makeIterator()
        while true {
            var batch: [(line: Int, data: Data)] = []
            batch.reserveCapacity(o.batchRecords)
            while batch.count < o.batchRecords, let l = lines.next() { batch.append(l) }
            if batch.isEmpty { break }
            let parsed = try parallelMap(batch.map(\.data), threads: o.threads) { data -> Parsed in
                let record: SFTRecord
                do { record = try SFTRecord.parse(data) } catch let e as SFTRecord.ParseError { return .invalid(e.reason) }
                // A tokenizer failure names the record's line like any other bad record.
                do {
                    let (ids, mask) = try template.encode(record.messages)
                    return .document(id: record.id, question: record.question, Document(ids: ids, mask: mask))
                } catch let e as DatasetError {
                    // A record the template cannot mask is a bad record, named by its line.
                    if case let .template(_, reason) = e { return .invalid(reason) }
                    throw e
                } catch {
                    return .invalid("cannot tokenize: \(error.localizedDescription)")
                }
            }
            for ((line, _), result) in zip(batch, parsed) {
                guard case .document(let id, let question, var doc) = result else {
                    if case let .invalid(reason) = result {
                        let error = DatasetError.invalidRecord(file: o.input.path, line: line, reason: reason)
                        guard o.skipInvalid else { throw error }
                        stats.invalidSkipped += 1
                    }
                    continue
                }
                stats.records += 1
                if !required.isEmpty {
                    guard required.allSatisfy({ $0.contains(question) }) else {
                        droppedRecords += 1
                        droppedQuestions.insert(question)
                        continue
                    }
                    keptQuestions.insert(question)
                }
                stats.lengthHistogram[min(doc.count / stats.histogramBinWidth, 16)] += 1
                if doc.count > o.seqLen {
                    if o.overlong == .drop {
                        stats.dropped += 1
                        continue
                    }
                    doc = Document(ids: Array(doc.ids.prefix(o.seqLen)), mask: Array(doc.mask.prefix(o.seqLen)))
                    stats.truncated += 1
                }
                if doc.lossTokens == 0 {
                    guard o.skipInvalid else { throw DatasetError.noLossTokens(file: o.input.path, line: line, id: id) }
                    stats.zeroLossSkipped += 1
                    continue
                }
                let split = Self.isValidation(id: id, fraction: o.validationFraction) ? "val" : "train"
                try outputs[split]!.add(doc)
            }
            progress(.progress(records: stats.records, bytesRead: lines.bytesRead, totalBytes: totalBytes))
        }
        if let error = lines.error { throw error as? FileError ?? DatasetError.cannotRead(path: o.input.path, reason: error.localizedDescription) }

        var splits: [String: Manifest.Split] = [:]
        for (name, var out) in outputs {
            splits[name] = try out.finish()
        }
        let rows = splits.values.reduce(0) { $0 + $1.rows }
        let tokens = splits.values.reduce(0) { $0 + $1.tokens }
        let loss = splits.values.reduce(0) { $0 + $1.lossTokens }
        stats.packingEfficiency = rows > 0 ? Double(tokens) / Double(rows * o.seqLen) : 0
        stats.lossFraction = tokens > 0 ? Double(loss) / Double(tokens) : 0
        stats.seconds = Date().timeIntervalSince(started)
        let manifest = Manifest(seqLen: o.seqLen, tokenizerSHA256: tokenizer.sha256, templateName: template.name,
                                templateSHA256: template.sha256, padID: padID, eosID: eosID,
                                vocabularySize: tokenizer.vocabularySize, input: o.input.path, overlong: o.overlong.rawValue,
                                validationFraction: o.validationFraction, splits: splits, stats: stats,
                                match: o.match.isEmpty ? nil : Manifest.Match(files: o.match.map(\.path), droppedRecords: droppedRecords,
                                                                              droppedQuestions: droppedQuestions.count, keptQuestions: keptQuestions.count))
        try manifest.write(to: staging)
        // A copy of the tokenizer and the chat template makes the folder self-contained
        // (inspect, training); checkpoints trained on it copy them.
        for (name, data) in tokenizer.files.merging(try ChatTemplateRecord.files(of: template), uniquingKeysWith: { $1 }) {
            try data.write(to: staging.appendingPathComponent(name))
        }
        return manifest
    }
}

/// What a worker makes of one input line.
enum Parsed: Sendable {
    case document(id: String, question: String, Document)
    case invalid(String)
}

/// One split's packer and its rotating shard writers.
struct SplitOutput {
    let name: String
    let dir: URL
    var header: ShardHeader
    var packer: BestFitPacker
    let rowsPerShard: Int
    var writer: ShardWriter?
    var shards: [String] = []
    var totals = Manifest.Split(shards: [], rows: 0, documents: 0, tokens: 0, lossTokens: 0)

    init(name: String, dir: URL, header: ShardHeader, seqLen: Int, padID: Int32, maxOpenRows: Int, rowsPerShard: Int) {
        self.name = name
        self.dir = dir
        self.header = header
        self.header.split = name
        packer = BestFitPacker(seqLen: seqLen, padID: padID, maxOpenRows: maxOpenRows)
        self.rowsPerShard = rowsPerShard
    }

    mutating func add(_ doc: Document) throws {
        for row in packer.add(doc) { try write(row) }
    }

    private mutating func write(_ row: PackedRow) throws {
        if writer == nil {
            let file = String(format: "%@-%05d.bin", name, shards.count)
            writer = try ShardWriter(url: dir.appendingPathComponent(file), header: header)
            shards.append(file)
        }
        try writer!.append(row)
        if writer!.rows >= rowsPerShard { try closeShard() }
    }

    private mutating func closeShard() throws {
        guard let w = writer else { return }
        let h = try w.finish()
        totals.rows += h.rows
        totals.documents += h.documents
        totals.tokens += h.tokens
        totals.lossTokens += h.lossTokens
        writer = nil
    }

    mutating func finish() throws -> Manifest.Split {
        for row in packer.flush() { try write(row) }
        try closeShard()
        totals.shards = shards
        return totals
    }
}
