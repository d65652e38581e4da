import Foundation

/// Writes records as JSONL atomically (a temporary file, then rename): a reader never sees a
/// half-written output, and a killed run leaves the previous file intact.
public enum JSONLFile {
    public static func write<T: Encodable>(_ records: [T], to url: URL) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var out = Data()
        for r in records {
            out.append(try enc.encode(r))
            out.append(0x0A)
        }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try out.write(to: url, options: .atomic)
    }

    public static func read<T: Decodable>(_ type: T.Type, from url: URL) throws -> [T] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { throw PipelineError.missingFile(url.path) }
        var out: [T] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.allSatisfy(\.isWhitespace) {
            do { out.append(try JSONDecoder().decode(T.self, from: Data(line.utf8))) } catch {
                throw PipelineError.badLine(file: url.path, line: n + 1, reason: PipelineError.describe(error))
            }
        }
        return out
    }
}
