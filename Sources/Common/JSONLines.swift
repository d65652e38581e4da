import Foundation

/// Reading and writing JSON Lines (one object per line), with errors that name the file and
/// line of a bad record.
public enum JSONLines {
    /// Decodes every non-blank line of `url`.
    public static func read<T: Decodable>(_ type: T.Type, from url: URL) throws -> [T] {
        let data: Data
        do {
            try FileCheck.readable(url)
            data = try Data(contentsOf: url)
        } catch let e as FileError { throw e } catch {
            throw FileError.cannotRead(path: url.path, reason: error.localizedDescription)
        }
        return try decode(type, from: data, file: url.path)
    }

    /// Decodes every non-blank line of `data`; `file` names the source in errors.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data, file: String) throws -> [T] {
        let decoder = JSONDecoder()
        var items: [T] = []
        for (index, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }) { continue }
            if let p = JSONStructure.problem(in: line) {
                throw FileError.invalidLine(file: file, line: index + 1, reason: p.description)
            }
            do {
                items.append(try decoder.decode(T.self, from: Data(line)))
            } catch {
                throw FileError.invalidLine(file: file, line: index + 1, reason: describe(error, decoding: T.self))
            }
        }
        return items
    }

    /// One compact line (sorted keys, so files diff cleanly), without the newline.
    public static func line<T: Encodable>(_ item: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(item), as: UTF8.self)
    }

    /// Writes atomically (a temporary file, then rename): a reader never sees half a file, and
    /// a killed run leaves the previous one intact. Creates the folder if needed.
    public static func write<T: Encodable>(_ items: [T], to url: URL) throws {
        var text = ""
        for item in items { text += try line(item) + "\n" }
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        } catch {
            throw FileError.cannotWrite(path: url.path, reason: error.localizedDescription)
        }
    }

    /// A short reason instead of DecodingError's coding-path dump.
    public static func describe<T>(_ error: Error, decoding: T.Type) -> String {
        let what = "not a valid \(T.self) record"
        guard let e = error as? DecodingError else { return "\(what): \(error.localizedDescription)" }
        switch e {
        case let .keyNotFound(key, _): return "\(what): missing key '\(key.stringValue)'"
        case let .typeMismatch(_, c), let .valueNotFound(_, c):
            return "\(what): '\(c.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type or is null"
        case let .dataCorrupted(c):
            return c.codingPath.isEmpty ? "\(what): invalid JSON" : "\(what): '\(c.codingPath.map(\.stringValue).joined(separator: "."))': \(c.debugDescription)"
        @unknown default: return "\(what): \(e.localizedDescription)"
        }
    }
}
