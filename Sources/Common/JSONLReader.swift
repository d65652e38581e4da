import Foundation

/// Streams the lines of a file in fixed-size chunks, so memory stays bounded however large
/// the file is. Lines end at "\n"; a trailing "\r" is dropped (CRLF files). A line longer than
/// `maxLineBytes` (a file that is not JSON Lines, `/dev/urandom`) ends the reading with an error
/// naming the line, instead of buffering without bound.
public struct JSONLReader: Sequence {
    public let url: URL
    public let chunkSize: Int
    public let maxLineBytes: Int

    /// No record of a JSONL file bcsft reads comes near it (an SFT record with a 16k-token
    /// trace is about 64 KiB).
    public static let defaultMaxLineBytes = 64 << 20

    public init(url: URL, chunkSize: Int = 1 << 20, maxLineBytes: Int = defaultMaxLineBytes) {
        self.url = url
        self.chunkSize = chunkSize
        self.maxLineBytes = maxLineBytes
    }

    public func makeIterator() -> Iterator { Iterator(url: url, chunkSize: chunkSize, maxLineBytes: maxLineBytes) }

    /// Yields (1-based line number, line bytes); blank lines are skipped but counted.
    public struct Iterator: IteratorProtocol {
        let handle: FileHandle?
        let chunkSize: Int
        let maxLineBytes: Int
        let path: String
        var buffer = Data()
        var start = 0
        var searched = 0
        var lineNumber = 0
        var eof = false
        /// Bytes of the file consumed so far (for progress).
        public private(set) var bytesRead = 0
        public private(set) var error: Error?

        init(url: URL, chunkSize: Int, maxLineBytes: Int) {
            do {
                try FileCheck.readable(url)
                handle = try FileHandle(forReadingFrom: url)
            } catch {
                handle = nil
                self.error = error
                eof = true
            }
            self.chunkSize = chunkSize
            self.maxLineBytes = maxLineBytes
            path = url.path
        }

        public mutating func next() -> (line: Int, data: Data)? {
            while true {
                // Search only bytes not searched before: a long line arrives in many chunks.
                if let nl = buffer[Swift.max(start, searched)...].firstIndex(of: 0x0A) {
                    var line = buffer[start..<nl]
                    bytesRead += nl + 1 - start
                    start = nl + 1
                    lineNumber += 1
                    if line.last == 0x0D { line = line.dropLast() }
                    if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                    return (lineNumber, Data(line))
                }
                if eof {
                    guard start < buffer.count else { return nil }
                    var line = buffer[start...]
                    bytesRead += buffer.count - start
                    start = buffer.count
                    lineNumber += 1
                    if line.last == 0x0D { line = line.dropLast() }
                    if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return nil }
                    return (lineNumber, Data(line))
                }
                // Keep the unfinished tail, read the next chunk.
                buffer = Data(buffer[start...])
                start = 0
                searched = buffer.count
                guard buffer.count <= maxLineBytes else {
                    error = FileError.invalidLine(file: path, line: lineNumber + 1,
                                                  reason: "longer than \(maxLineBytes >> 20) MiB without a line break: not a JSON Lines file?")
                    buffer = Data()
                    eof = true
                    return nil
                }
                do {
                    if let chunk = try handle?.read(upToCount: chunkSize), !chunk.isEmpty {
                        buffer.append(chunk)
                    } else {
                        eof = true
                    }
                } catch {
                    self.error = error
                    eof = true
                }
            }
        }
    }
}
