import Foundation
import Settings

/// Everything that can be wrong with a recipe or its run, each message naming the place to fix:
/// the file and line, the dotted key (`stages.train.settings.lr`), the stage or the variable.
public enum RecipeError: LocalizedError, Equatable {
    case unreadable(path: String, reason: String)
    /// A value of the wrong shape or content at `key` (a dotted path).
    case invalid(SourceLocation, key: String, reason: String)
    case unknownKey(SourceLocation, key: String, known: [String])
    case unsetVariable(SourceLocation, name: String)
    case badReference(SourceLocation, reference: String, reason: String)
    case unknownStage(SourceLocation, name: String, known: [String])
    case cycle([String])
    case unknownKind(SourceLocation, stage: String, kind: String, known: [String])
    case setting(SourceLocation, stage: String, key: String, reason: String)
    case input(SourceLocation, stage: String, name: String, reason: String)
    case option(String)
    case io(path: String, reason: String)
    /// Several validation errors at once, so one run shows every typo.
    case several([RecipeError])

    public var errorDescription: String? {
        switch self {
        case let .unreadable(path, reason): "\(path): cannot read the recipe: \(reason)"
        case let .invalid(at, key, reason): "\(at): \(key): \(reason)"
        case let .unknownKey(at, key, known):
            "\(at): unknown key '\(key)'" + (known.isEmpty ? "" : " (known: \(known.joined(separator: ", ")))")
        case let .unsetVariable(at, name):
            "\(at): environment variable \(name) is not set (export it, or give a default: ${\(name):-value})"
        case let .badReference(at, reference, reason): "\(at): \(reference): \(reason)"
        case let .unknownStage(at, name, known):
            "\(at): no stage named '\(name)' (stages: \(known.joined(separator: ", ")))"
        case let .cycle(path):
            "dependency cycle: \(path.joined(separator: " -> ")) (each stage needs the next)"
                + (path.count == 2 ? " (a stage names its own folder as ${out}, not ${stages.\(path[0]).out})" : "")
        case let .unknownKind(at, stage, kind, known):
            "\(at): stage '\(stage)': unknown kind '\(kind)' (known kinds: \(known.joined(separator: ", ")))"
        case let .setting(at, stage, key, reason): "\(at): stages.\(stage).settings.\(key): \(reason)"
        case let .input(at, stage, name, reason): "\(at): stages.\(stage).inputs.\(name): \(reason)"
        case let .option(message): message
        case let .io(path, reason): "\(path): \(reason)"
        case let .several(errors):
            "\(errors.count) problems in the recipe:\n" + errors.map { "  " + ($0.errorDescription ?? "\($0)") }.joined(separator: "\n")
        }
    }
}
