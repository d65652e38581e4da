import Foundation

public enum PipelineError: LocalizedError {
    case missingFile(String)
    case badLine(file: String, line: Int, reason: String)
    case field(String, String)
    case failed(pipeline: String, failures: Int, total: Int, first: String)
    case invalid(String)

    public var errorDescription: String? {
        switch self {
        case let .missingFile(p): "\(p): file not found"
        case let .badLine(f, l, r): "\(f):\(l): \(r)"
        case let .field(k, r): "field '\(k)': \(r)"
        case let .failed(p, n, t, first):
            "\(p): \(n) of \(t) requests failed (first: \(first)). Everything that finished is cached and written; rerun the same command to retry only the failures."
        case let .invalid(m): m
        }
    }

    /// A decoding error as a short reason ("field 'problem': missing").
    static func describe(_ error: Error) -> String {
        switch error {
        case let DecodingError.keyNotFound(k, _): "field '\(k.stringValue)': missing"
        case let DecodingError.typeMismatch(_, c): "field '\(c.codingPath.map(\.stringValue).joined(separator: "."))': wrong type"
        case let DecodingError.valueNotFound(_, c): "field '\(c.codingPath.map(\.stringValue).joined(separator: "."))': null"
        case DecodingError.dataCorrupted: "not valid JSON"
        case let e as PipelineError: e.localizedDescription
        default: error.localizedDescription
        }
    }
}
