import Foundation

/// Reading and writing the project's files failed: each message names the file and, for
/// line-oriented files, the 1-based line.
public enum FileError: LocalizedError, Equatable {
    case invalidLine(file: String, line: Int, reason: String)
    case cannotRead(path: String, reason: String)
    case cannotWrite(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .invalidLine(file, line, reason): "\(file):\(line): \(reason)"
        case let .cannotRead(path, reason): "\(path): cannot read: \(reason)"
        case let .cannotWrite(path, reason): "\(path): cannot write: \(reason)"
        }
    }
}
