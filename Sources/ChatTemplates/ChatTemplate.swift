import Foundation

/// A Hugging Face chat template, parsed once and rendered like transformers' apply_chat_template
/// with tokenize=False: jinja2 with trim_blocks and lstrip_blocks, transformers' globals
/// (`raise_exception`, `strftime_now`, `namespace`, `dict`) and its `tojson`.
public struct ChatTemplate: Sendable {
    /// How errors name the template: its file, or `tokenizer_config.json#chat_template`.
    public let name: String
    public let source: String
    /// Template variables the model folder supplies (bos_token, eos_token, ...); render's
    /// `variables` override them.
    public var specialTokens: [String: String]
    private let body: [Stmt]

    public init(_ source: String, name: String = "chat_template", specialTokens: [String: String] = [:]) throws(ChatTemplateError) {
        self.name = name
        self.source = source
        self.specialTokens = specialTokens
        do {
            var lexer = Lexer(source)
            let pieces = try lexer.pieces()
            var parser = Parser(pieces, lastLine: lexer.line)
            body = try parser.parseTemplate()
        } catch let e as JinjaError {
            throw e.named(name)
        } catch {
            throw .syntax(template: name, line: 0, message: "\(error)")
        }
    }

    /// Renders a conversation. `tools` and `documents` are None unless `variables` sets them, as
    /// transformers passes them; `now` is what `strftime_now` formats.
    public func render(messages: [Value], addGenerationPrompt: Bool = false, variables: [String: Value] = [:],
                       now: Date = Date(), timeZone: TimeZone = .current) throws(ChatTemplateError) -> String {
        var vars: [String: Value] = ["tools": .none, "documents": .none]
        for (k, v) in specialTokens { vars[k] = .string(v) }
        vars["messages"] = .list(messages)
        vars["add_generation_prompt"] = .bool(addGenerationPrompt)
        vars.merge(variables) { $1 }
        return try render(vars, now: now, timeZone: timeZone)
    }

    /// Renders messages given as JSON-like Swift values (`[["role": "user", "content": "hi"]]`).
    /// Foundation dictionaries have no key order, so keys are sorted: pass `Value`s (or
    /// `Value.parseJSON`) where a template prints whole messages with `tojson`.
    public func render(messages: [[String: Any]], addGenerationPrompt: Bool = false, variables: [String: Value] = [:],
                       now: Date = Date(), timeZone: TimeZone = .current) throws -> String {
        try render(messages: messages.map { try Value(any: $0) }, addGenerationPrompt: addGenerationPrompt, variables: variables,
                   now: now, timeZone: timeZone)
    }

    /// Renders with exactly these top-level variables (plus the globals).
    public func render(_ variables: [String: Value], now: Date = Date(), timeZone: TimeZone = .current) throws(ChatTemplateError) -> String {
        let evaluator = Evaluator(now: now, timeZone: timeZone)
        let globals = Scope(parent: nil, vars: Globals.make(evaluator))
        let top = Scope(parent: globals, vars: variables)
        var out = ""
        do {
            _ = try evaluator.render(body, top, into: &out)
        } catch let e as JinjaError {
            throw e.named(name)
        } catch {
            throw .render(template: name, line: 0, message: "\(error)")
        }
        return out
    }
}

extension Value {
    /// JSON text as a value, keeping each object's key order (as Python's json.loads does).
    public static func parseJSON(_ text: String) throws -> Value {
        do { return try JSON.parse(text) } catch let e as JSON.ParseError {
            throw ChatTemplateError.load(path: "JSON", reason: "invalid JSON at byte \(e.offset): \(e.reason)")
        }
    }

    /// The value as JSON (Python's json.dumps, as the `tojson` filter writes it).
    public func jsonString(indent: Int? = nil) throws -> String {
        do { return try JSON.dump(self, indent: indent.map { String(repeating: " ", count: $0) }) } catch let e as ValueError {
            throw ChatTemplateError.render(template: "value", line: 0, message: e.message)
        }
    }
}

/// The globals transformers' environment has (jinja2's range/namespace/dict plus its own
/// raise_exception and strftime_now).
enum Globals {
    static func make(_ ev: Evaluator) -> [String: Value] {
        func fn(_ name: String, _ body: @escaping ([Value], [(String, Value)]) throws -> Value) -> Value {
            .function(.init(name: name, call: body))
        }
        return [
            "raise_exception": fn("raise_exception") { args, _ in
                throw RaisedError(message: args.first?.str ?? "")
            },
            "strftime_now": fn("strftime_now") { args, _ in
                .string(try strftime(try Args(args, [], "strftime_now").required(0, "format").str, ev.now, ev.timeZone))
            },
            "namespace": fn("namespace") { args, kwargs in
                var attributes = Value.Dict()
                if case let .dict(d)? = args.first { attributes = d }
                for (k, v) in kwargs { attributes[k] = v }
                if let bad = attributes.keys.first(where: { $0.hasPrefix("_") }) {
                    throw ValueError("namespace attributes cannot start with '_': '\(bad)'")
                }
                return .namespace(Value.Namespace(attributes))
            },
            "dict": fn("dict") { args, kwargs in
                var d = Value.Dict()
                if case let .dict(base)? = args.first { d = base }
                for (k, v) in kwargs { d[k] = v }
                return .dict(d)
            },
            "range": fn("range") { args, _ in
                let ints = try args.map { v -> Int in
                    guard case let .int(i) = v else { throw ValueError("range() takes integers, not \(v.typeName)") }
                    return i
                }
                let (start, stop, step) = switch ints.count {
                case 1: (0, ints[0], 1)
                case 2: (ints[0], ints[1], 1)
                case 3: (ints[0], ints[1], ints[2])
                default: throw ValueError("range expected 1 to 3 arguments, got \(ints.count)")
                }
                guard step != 0 else { throw ValueError("range() arg 3 must not be zero") }
                guard (stop - start) / step < 100_000 else { throw ValueError("range too big") }
                return .list(Swift.stride(from: start, to: stop, by: step).map { .int($0) })
            },
        ]
    }

    /// C's strftime for the directives templates use (Python passes the format to the C library);
    /// glibc's '-' flag (no padding) included.
    static func strftime(_ format: String, _ date: Date, _ zone: TimeZone) throws -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let dayOfYear = calendar.ordinality(of: .day, in: .year, for: date) ?? 0
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
        let days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
        let (year, month, day, hour, minute, second, weekday) = (c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!, c.weekday!)
        var out = ""
        var it = format.makeIterator()
        while let ch = it.next() {
            guard ch == "%" else { out.append(ch); continue }
            guard var d = it.next() else { out += "%"; break }
            var pad = true
            if d == "-" {
                pad = false
                guard let n = it.next() else { out += "%-"; break }
                d = n
            }
            func num(_ v: Int, _ width: Int) -> String {
                pad ? String(repeating: "0", count: max(0, width - String(v).count)) + String(v) : String(v)
            }
            switch d {
            case "Y": out += String(year)
            case "y": out += num(year % 100, 2)
            case "m": out += num(month, 2)
            case "d": out += num(day, 2)
            case "e": out += pad ? (day < 10 ? " \(day)" : "\(day)") : "\(day)"
            case "H": out += num(hour, 2)
            case "I": out += num(hour % 12 == 0 ? 12 : hour % 12, 2)
            case "M": out += num(minute, 2)
            case "S": out += num(second, 2)
            case "p": out += hour < 12 ? "AM" : "PM"
            case "j": out += num(dayOfYear, 3)
            case "B": out += months[month - 1]
            case "b", "h": out += String(months[month - 1].prefix(3))
            case "A": out += days[weekday - 1]
            case "a": out += String(days[weekday - 1].prefix(3))
            case "w": out += String(weekday - 1)
            case "F": out += "\(year)-\(num(month, 2))-\(num(day, 2))"
            case "%": out += "%"
            default: throw ValueError("strftime_now: unsupported directive %\(d)")
            }
        }
        return out
    }
}
