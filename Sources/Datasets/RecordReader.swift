import Common
import Foundation

/// Reads SFT records from a JSONL file, streaming. A bad line is an error naming the file and
/// line, unless `skipInvalid` is set: then it is counted (and the first few reasons kept).
public struct RecordReader: Sequence {
    public let url: URL
    public let skipInvalid: Bool
    public let stats: InvalidLines

    /// Counts and examples of skipped lines; shared with the caller (reference type).
    public final class InvalidLines: @unchecked Sendable {
        public private(set) var count = 0
        public private(set) var examples: [String] = []
        func add(_ message: String) {
            count += 1
            if examples.count < 5 { examples.append(message) }
        }
    }

    public init(url: URL, skipInvalid: Bool = false) {
        self.url = url
        self.skipInvalid = skipInvalid
        self.stats = InvalidLines()
    }

    public func makeIterator() -> Iterator { Iterator(reader: self, lines: JSONLReader(url: url).makeIterator()) }

    public struct Iterator: IteratorProtocol {
        let reader: RecordReader
        var lines: JSONLReader.Iterator
        public var bytesRead: Int { lines.bytesRead }

        /// (line number, record) or nil at the end; throws on a bad line unless skipping.
        public mutating func nextRecord() throws -> (line: Int, record: SFTRecord)? {
            while let (n, data) = lines.next() {
                do {
                    return (n, try SFTRecord.parse(data))
                } catch let e as SFTRecord.ParseError {
                    let err = DatasetError.invalidRecord(file: reader.url.path, line: n, reason: e.reason)
                    guard reader.skipInvalid else { throw err }
                    reader.stats.add(err.localizedDescription)
                }
            }
            if let error = lines.error { throw error as? FileError ?? DatasetError.cannotRead(path: reader.url.path, reason: error.localizedDescription) }
            return nil
        }

        /// Sequence conformance for callers that skip invalid lines; errors end the iteration.
        public mutating func next() -> (line: Int, record: SFTRecord)? { try? nextRecord() }
    }

    /// Reads up to `count` records (fewer at the end of the file).
    public static func batch(_ it: inout Iterator, count: Int) throws -> [(line: Int, record: SFTRecord)] {
        var out: [(line: Int, record: SFTRecord)] = []
        out.reserveCapacity(count)
        while out.count < count, let r = try it.nextRecord() { out.append(r) }
        return out
    }
}
