import Foundation
import Settings

/// Substitutes `${ENV}` and `${vars.x}` in recipe values. A string that is exactly one
/// reference takes the referenced value's type, quoted or not (`seed: "${vars.seed}"` is the
/// integer 7; an environment variable's text is typed as a YAML scalar would be), because
/// inside a flow mapping a reference must be quoted and should still mean the same value.
/// References inside longer text are spliced in as text.
struct Substitution {
    let environment: [String: String]
    /// nil while `vars` themselves are read: they may use only the environment.
    var vars: [String: SettingValue]?

    /// A value in which output folders are not allowed (`vars`, `workdir`).
    func value(_ tree: YAMLTree, key: String) throws -> SettingValue {
        let template = try self.template(tree, key: key, allowOutputs: false)
        guard case let .value(v) = template else {
            throw RecipeError.invalid(tree.location, key: key, reason: "cannot name an output folder here")
        }
        return v
    }

    /// A setting or input, in which output folders stay symbolic.
    func template(_ tree: YAMLTree, key: String, allowOutputs: Bool = true) throws -> ValueTemplate {
        switch tree {
        case let .scalar(.string(s), at):
            return try text(s, at: at, key: key, allowOutputs: allowOutputs)
        case let .scalar(v, _):
            return .value(v)
        case let .list(items, _):
            let xs = try items.enumerated().map { try template($1, key: "\(key)[\($0)]", allowOutputs: allowOutputs) }
            return xs.allSatisfy({ if case .value = $0 { true } else { false } })
                ? .value(.list(xs.map { if case let .value(v) = $0 { v } else { .null } }))
                : .list(xs)
        case let .map(entries, _):
            var m: [String: ValueTemplate] = [:]
            for e in entries { m[e.key] = try template(e.value, key: "\(key).\(e.key)", allowOutputs: allowOutputs) }
            return m.values.allSatisfy({ if case .value = $0 { true } else { false } })
                ? .value(.map(m.mapValues { if case let .value(v) = $0 { v } else { .null } }))
                : .map(m)
        }
    }

    private func text(_ s: String, at: SourceLocation, key: String, allowOutputs: Bool) throws -> ValueTemplate {
        let pieces = try Interpolation.parse(s, at: at)
        if pieces.count == 1, case let .reference(r) = pieces[0] {
            switch r {
            case .environment: return .value(YAMLTree.typedScalar(try environmentText(r, at: at)))
            case .variable: return .value(try variable(r, at: at))
            case .stageOutput, .ownOutput: break
            }
        }
        var parts: [ValueTemplate.Part] = []
        func append(_ t: String) {
            if case let .text(prev)? = parts.last { parts[parts.count - 1] = .text(prev + t) } else { parts.append(.text(t)) }
        }
        for piece in pieces {
            switch piece {
            case let .text(t): append(t)
            case let .reference(r):
                switch r {
                case .environment: append(try environmentText(r, at: at))
                case .variable:
                    let v = try variable(r, at: at)
                    guard let t = v.scalarText else {
                        throw RecipeError.badReference(at, reference: r.spelling, reason: "is \(v.typeName), which can only stand alone, not inside text")
                    }
                    append(t)
                case let .stageOutput(stage):
                    guard allowOutputs else { throw RecipeError.badReference(at, reference: r.spelling, reason: "output folders can be named only in a stage's inputs and settings") }
                    parts.append(.output(stage))
                case .ownOutput:
                    guard allowOutputs else { throw RecipeError.badReference(at, reference: r.spelling, reason: "output folders can be named only in a stage's inputs and settings") }
                    parts.append(.output(nil))
                }
            }
        }
        if parts.isEmpty { return .value(.string("")) }
        if parts.count == 1, case let .text(t) = parts[0] { return .value(.string(t)) }
        return .text(parts)
    }

    private func environmentText(_ r: Reference, at: SourceLocation) throws -> String {
        guard case let .environment(name, fallback) = r else { return "" }
        if let v = environment[name] { return v }
        if let fallback { return fallback }
        throw RecipeError.unsetVariable(at, name: name)
    }

    private func variable(_ r: Reference, at: SourceLocation) throws -> SettingValue {
        guard case let .variable(key) = r else { return .null }
        guard let vars else {
            throw RecipeError.badReference(at, reference: r.spelling, reason: "vars may use only ${ENV} references")
        }
        guard let v = vars[key] else {
            throw RecipeError.badReference(at, reference: r.spelling, reason: "no such var (vars: \(vars.keys.sorted().joined(separator: ", ")))")
        }
        return v
    }
}
