import Foundation
import Tokenizers

/// Turns a packed row back into text, document by document, with the loss-carrying spans
/// marked: what `bcsft dataset inspect` shows.
public struct RowInspector {
    public struct Span: Codable, Sendable, Equatable {
        public var text: String
        public var loss: Bool
        public var tokens: Int
    }

    public struct DocumentView: Codable, Sendable {
        public var start: Int
        public var length: Int
        public var spans: [Span]
    }

    public struct RowView: Codable, Sendable {
        public var split: String
        public var row: Int
        public var padding: Int
        public var documents: [DocumentView]
    }

    public let tokenizer: Tokenizer
    public init(tokenizer: Tokenizer) { self.tokenizer = tokenizer }

    /// Decodes each maximal run of equal mask values within each document. Control pieces
    /// (<s>, </s>) are shown by name since decoding would drop them.
    public func view(split: String, row: Int, ids: [Int32], mask: [UInt8], documents: [(start: Int, length: Int)]) throws -> RowView {
        var docs: [DocumentView] = []
        for d in documents {
            var spans: [Span] = []
            var i = d.start
            while i < d.start + d.length {
                var j = i
                while j < d.start + d.length, mask[j] == mask[i] { j += 1 }
                spans.append(Span(text: try render(Array(ids[i..<j])), loss: mask[i] != 0, tokens: j - i))
                i = j
            }
            docs.append(DocumentView(start: d.start, length: d.length, spans: spans))
        }
        let used = documents.last.map { $0.start + $0.length } ?? 0
        return RowView(split: split, row: row, padding: ids.count - used, documents: docs)
    }

    private func render(_ ids: [Int32]) throws -> String {
        var out = "", run: [Int32] = []
        func flush() throws {
            if !run.isEmpty { out += try tokenizer.decode(run) }
            run.removeAll()
        }
        for id in ids {
            if id == tokenizer.bosID || id == tokenizer.eosID || id == tokenizer.padID {
                try flush()
                out += try tokenizer.piece(forID: id)
            } else {
                run.append(id)
            }
        }
        try flush()
        return out
    }
}
