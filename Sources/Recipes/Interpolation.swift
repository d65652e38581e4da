import Foundation
import Settings

/// The `${...}` references a recipe string may hold:
///
/// - `${NAME}` / `${NAME:-default}`: an environment variable (unset without a default is an error);
/// - `${vars.KEY}`: a value from the recipe's `vars`;
/// - `${stages.NAME.out}`: another stage's output folder (and a dependency on that stage);
/// - `${out}`: this stage's own output folder (the scratch folder while it runs);
/// - `$${`: a literal `${`, e.g. for a shell variable: `$${HOME}`.
enum Reference: Sendable, Equatable {
    case environment(name: String, fallback: String?)
    case variable(String)
    case stageOutput(String)
    case ownOutput

    /// How the reference is written in a recipe.
    var spelling: String {
        switch self {
        case let .environment(name, fallback): fallback.map { "${\(name):-\($0)}" } ?? "${\(name)}"
        case let .variable(key): "${vars.\(key)}"
        case let .stageOutput(stage): "${stages.\(stage).out}"
        case .ownOutput: "${out}"
        }
    }
}

/// A string split into literal text and references.
enum Interpolation {
    enum Piece: Sendable, Equatable {
        case text(String)
        case reference(Reference)
    }

    static func parse(_ string: String, at: SourceLocation) throws -> [Piece] {
        guard string.contains("$") else { return [.text(string)] }
        var pieces: [Piece] = []
        var text = ""
        var i = string.startIndex
        while i < string.endIndex {
            let rest = string[i...]
            if rest.hasPrefix("$${") {
                text += "${"
                i = string.index(i, offsetBy: 3)
            } else if rest.hasPrefix("${") {
                let open = string.index(i, offsetBy: 2)
                guard let close = string[open...].firstIndex(of: "}") else {
                    throw RecipeError.badReference(at, reference: String(rest), reason: "no closing } (write $${ for a literal ${)")
                }
                if !text.isEmpty { pieces.append(.text(text)) }
                text = ""
                pieces.append(.reference(try reference(String(string[open..<close]), at: at)))
                i = string.index(after: close)
            } else {
                text.append(string[i])
                i = string.index(after: i)
            }
        }
        if !text.isEmpty || pieces.isEmpty { pieces.append(.text(text)) }
        return pieces
    }

    private static func reference(_ body: String, at: SourceLocation) throws -> Reference {
        func bad(_ reason: String) -> RecipeError { .badReference(at, reference: "${\(body)}", reason: reason) }
        if body == "out" { return .ownOutput }
        if body.hasPrefix("vars.") {
            let key = String(body.dropFirst(5))
            guard !key.isEmpty, !key.contains(".") else { throw bad("expected ${vars.NAME}") }
            return .variable(key)
        }
        if body.hasPrefix("stages.") {
            let parts = body.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 3, !parts[1].isEmpty, parts[2] == "out" else {
                throw bad("expected ${stages.NAME.out}, a stage's output folder")
            }
            return .stageOutput(String(parts[1]))
        }
        let (name, fallback): (Substring, String?) = if let r = body.range(of: ":-") {
            (body[..<r.lowerBound], String(body[r.upperBound...]))
        } else {
            (body[...], nil)
        }
        guard let first = name.first, first == "_" || first.isASCII && first.isLetter,
              name.allSatisfy({ $0 == "_" || $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            throw bad("not a reference: use ${ENV_NAME}, ${ENV_NAME:-default}, ${vars.NAME}, ${stages.NAME.out} or ${out} ($${ for a literal ${)")
        }
        return .environment(name: String(name), fallback: fallback)
    }
}
