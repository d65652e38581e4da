import Foundation

/// Text for training a tokenizer, taken from SFT records: every message's content, one line
/// per line of content (SentencePiece trains on lines).
public enum TokenizerCorpus {
    /// Streams `records` (JSONL) into a plain-text file; returns the number of records read.
    @discardableResult
    public static func extract(from records: URL, to text: URL, skipInvalid: Bool = false) throws -> Int {
        guard FileManager.default.createFile(atPath: text.path, contents: nil) else {
            throw DatasetError.cannotWrite(path: text.path, reason: "cannot create file")
        }
        let out = try FileHandle(forWritingTo: text)
        defer { try? out.close() }
        var it = RecordReader(url: records, skipInvalid: skipInvalid).makeIterator()
        var n = 0
        var buffer = ""
        while let (_, r) = try it.nextRecord() {
            n += 1
            for m in r.messages where !m.content.isEmpty {
                buffer += m.content
                buffer += "\n"
            }
            if buffer.utf8.count > 1 << 20 {
                try out.write(contentsOf: Data(buffer.utf8))
                buffer = ""
            }
        }
        try out.write(contentsOf: Data(buffer.utf8))
        return n
    }
}
