import Foundation

/// A chat template failed to load, parse or render. Every template error names the template
/// (its file, or `tokenizer_config.json#chat_template`) and the 1-based template line.
public enum ChatTemplateError: LocalizedError, Equatable {
    /// The template text is not valid Jinja, or uses a part this interpreter refuses.
    case syntax(template: String, line: Int, message: String)
    /// Evaluation failed: an unknown filter, a type error, an undefined value used as an object.
    case render(template: String, line: Int, message: String)
    /// The template itself called `raise_exception(message)`.
    case raised(template: String, line: Int, message: String)
    /// The model folder holds no usable template, or its files cannot be read.
    case load(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .syntax(t, line, m): "\(t):\(line): template syntax error: \(m)"
        case let .render(t, line, m): "\(t):\(line): template error: \(m)"
        case let .raised(t, line, m): "\(t):\(line): the template raised: \(m)"
        case let .load(path, reason): "\(path): \(reason)"
        }
    }

    /// The template line the error names (nil for load errors).
    public var line: Int? {
        switch self {
        case let .syntax(_, l, _), let .render(_, l, _), let .raised(_, l, _): l
        case .load: nil
        }
    }
}

/// Errors inside the interpreter carry only a line; `ChatTemplate` adds the template's name.
struct JinjaError: Error {
    enum Kind { case syntax, render, raised }
    let kind: Kind
    let line: Int
    let message: String

    static func syntax(_ line: Int, _ message: String) -> JinjaError { .init(kind: .syntax, line: line, message: message) }
    static func render(_ line: Int, _ message: String) -> JinjaError { .init(kind: .render, line: line, message: message) }

    func named(_ template: String) -> ChatTemplateError {
        switch kind {
        case .syntax: .syntax(template: template, line: line, message: message)
        case .render: .render(template: template, line: line, message: message)
        case .raised: .raised(template: template, line: line, message: message)
        }
    }
}
