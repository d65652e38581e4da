import Foundation

/// Errors of the model stage; each names the file, tensor or config field at fault.
public enum ModelError: LocalizedError, Equatable {
    case invalidConfig(path: String, field: String, reason: String)
    case unsupported(String)
    case missingTensor(String, in: String)
    case shapeMismatch(tensor: String, expected: [Int], found: [Int], in: String)
    case unexpectedTensors([String], in: String)
    case badSafetensors(path: String, reason: String)
    case cannotWrite(path: String, reason: String)
    case invalidSampling(field: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .invalidConfig(path, field, reason): field == "-" ? "\(path): \(reason)" : "\(path): field '\(field)': \(reason)"
        case let .unsupported(what): "not supported yet: \(what)"
        case let .missingTensor(name, path): "\(path): tensor '\(name)' is missing"
        case let .shapeMismatch(name, expected, found, path): "\(path): tensor '\(name)' has shape \(found), the config implies \(expected)"
        case let .unexpectedTensors(names, path):
            "\(path): \(names.count) tensor(s) this Llama does not use, e.g. \(names.prefix(3).joined(separator: ", ")) (a different architecture?)"
        case let .badSafetensors(path, reason): "\(path): not a valid safetensors file: \(reason)"
        case let .cannotWrite(path, reason): "\(path): cannot write: \(reason)"
        case let .invalidSampling(field, reason): "sampling: '\(field)': \(reason)"
        }
    }
}
