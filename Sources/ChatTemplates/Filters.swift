import Foundation

/// jinja2's built-in filters that chat templates use, plus transformers' `tojson`.
enum Filters {
    static let names: Set<String> = [
        "trim", "upper", "lower", "capitalize", "title", "length", "count", "default", "d", "join", "tojson", "string", "int",
        "float", "abs", "round", "first", "last", "list", "items", "reverse", "sort", "unique", "min", "max", "sum", "replace",
        "selectattr", "rejectattr", "select", "reject", "map", "indent", "safe", "escape", "e", "attr", "dictsort",
    ]

    static func apply(_ name: String, _ v: Value, _ positional: [Value], _ keyword: [(String, Value)], _ ev: Evaluator) throws -> Value {
        let a = Args(positional, keyword, name)
        switch name {
        case "trim":
            let chars = a.optional(0, "chars").flatMap { if case let .string(c) = $0 { c } else { nil } }
            return .string(PyString.strip(v.str, chars, leading: true, trailing: true))
        case "upper": return .string(v.str.uppercased())
        case "lower": return .string(v.str.lowercased())
        case "capitalize": return .string(PyString.capitalize(v.str))
        case "title": return .string(PyString.jinjaTitle(v.str))
        case "length", "count": return .int(try v.length())
        case "default", "d":
            let fallback = a.optional(0, "default_value") ?? .string("")
            return v.isUndefined || (a.bool(1, "boolean", default: false) && !v.truthy) ? fallback : v
        case "join":
            var items = try v.iterated()
            if let attr = a.optional(1, "attribute") { items = try items.map { try lookup($0, attr.str, ev) } }
            return .string(items.map(\.str).joined(separator: a.optional(0, "d")?.str ?? ""))
        case "tojson":
            let indent: String? = switch a.optional(0, "indent") {
            case let .int(n)?: String(repeating: " ", count: max(n, 0))
            case let .string(s)?: s
            default: nil
            }
            var separators: (String, String)?
            if case let .list(seps)? = a.optional(2, "separators"), seps.count == 2 { separators = (seps[0].str, seps[1].str) }
            return .string(try JSON.dump(v, indent: indent, separators: separators, sortKeys: a.bool(3, "sort_keys", default: false),
                                         ensureASCII: a.bool(4, "ensure_ascii", default: false)))
        case "string": return .string(v.str)
        case "int":
            let fallback = try a.int(0, "default", default: 0)
            switch v {
            case let .int(i): return .int(i)
            case let .bool(b): return .int(b ? 1 : 0)
            case let .double(d): return d.isFinite && abs(d) < 9e18 ? .int(Int(d)) : .int(fallback)
            case let .string(s):
                let t = PyString.strip(s, nil, leading: true, trailing: true).replacingOccurrences(of: "_", with: "")
                if let i = Int(t, radix: try a.int(1, "base", default: 10)) { return .int(i) }
                if let d = Double(t), d.isFinite, abs(d) < 9e18 { return .int(Int(d)) }
                return .int(fallback)
            default: return .int(fallback)
            }
        case "float":
            let fallback = a.optional(0, "default")?.numeric ?? 0
            if let n = v.numeric { return .double(n) }
            if case let .string(s) = v, let d = Double(PyString.strip(s, nil, leading: true, trailing: true)) { return .double(d) }
            return .double(fallback)
        case "abs":
            switch v {
            case let .int(i): return .int(abs(i))
            case let .double(d): return .double(abs(d))
            default: throw ValueError("bad operand type for abs(): '\(v.typeName)'")
            }
        case "round":
            guard let x = v.numeric else { throw ValueError("round needs a number, not \(v.typeName)") }
            let precision = try a.int(0, "precision", default: 0)
            let method = a.optional(1, "method")?.str ?? "common"
            let scale = pow(10.0, Double(precision))
            let rule: FloatingPointRoundingRule = method == "ceil" ? .up : method == "floor" ? .down : .toNearestOrEven  // Python's round() rounds half to even
            return .double((x * scale).rounded(rule) / scale)
        case "first":
            return try v.iterated().first ?? .undefined("No first item, sequence was empty.")
        case "last":
            return try v.iterated().last ?? .undefined("No last item, sequence was empty.")
        case "list": return .list(try v.iterated())
        case "items":
            switch v {
            case .undefined: return .list([])
            case let .dict(d): return .list(d.pairs.map { .list([.string($0.0), $0.1]) })
            default: throw ValueError("can only get item pairs from a mapping")
            }
        case "reverse":
            if case let .string(s) = v { return .string(PyString.string(s.unicodeScalars.reversed())) }
            return .list(try v.iterated().reversed())
        case "sort":
            let reverse = a.bool(0, "reverse", default: false)
            let caseSensitive = a.bool(1, "case_sensitive", default: false)
            let attribute = a.optional(2, "attribute")?.str
            let keyed = try v.iterated().map { item -> (Value, Value) in
                var key = try attribute.map { try lookup(item, $0, ev) } ?? item
                if !caseSensitive, case let .string(s) = key { key = .string(s.lowercased()) }
                return (key, item)
            }
            // A stable sort, as Python's is.
            var indexed = Array(keyed.enumerated())
            var failure: Error?
            indexed.sort { x, y in
                do {
                    if try x.element.0.less(than: y.element.0) { return !reverse }
                    if try y.element.0.less(than: x.element.0) { return reverse }
                } catch { failure = error }
                return x.offset < y.offset
            }
            if let failure { throw failure }
            return .list(indexed.map(\.element.1))
        case "unique":
            var seen: [Value] = []
            for item in try v.iterated() where !seen.contains(where: { $0.equals(item) }) { seen.append(item) }
            return .list(seen)
        case "min", "max":
            let items = try v.iterated()
            guard var best = items.first else { return .undefined("No aggregated item, sequence was empty.") }
            for item in items.dropFirst() where try name == "min" ? item.less(than: best) : best.less(than: item) { best = item }
            return best
        case "sum":
            var total = a.optional(1, "start") ?? .int(0)
            for item in try v.iterated() {
                total = try Operators.binary("+", total, try a.optional(0, "attribute").map { try lookup(item, $0.str, ev) } ?? item)
            }
            return total
        case "replace":
            return .string(PyString.replace(v.str, try a.required(0, "old").str, try a.required(1, "new").str,
                                            count: try a.int(2, "count", default: -1)))
        case "selectattr", "rejectattr", "select", "reject":
            let byAttribute = name.hasSuffix("attr")
            let attribute = byAttribute ? try a.required(0, "attribute").str : nil
            let rest = Array(positional.dropFirst(byAttribute ? 1 : 0))
            let keep = name.hasPrefix("select")
            return .list(try v.iterated().filter { item in
                let subject = try attribute.map { try lookup(item, $0, ev) } ?? item
                let passes = try rest.first.map { try Tests.apply($0.str, subject, Array(rest.dropFirst()), ev) } ?? subject.truthy
                return passes == keep
            })
        case "map":
            if let attribute = keyword.first(where: { $0.0 == "attribute" })?.1.str {
                let fallback = keyword.first { $0.0 == "default" }?.1
                return .list(try v.iterated().map { item in
                    let x = try lookup(item, attribute, ev)
                    if let fallback, x.isUndefined { return fallback }
                    return x
                })
            }
            guard let filter = positional.first?.str else { throw ValueError("map() needs a filter name or attribute=") }
            guard names.contains(filter) else { throw ValueError("no filter named '\(filter)'") }
            return .list(try v.iterated().map { try apply(filter, $0, Array(positional.dropFirst()), keyword, ev) })
        case "indent":
            let width: String = switch a.optional(0, "width") {
            case let .string(s)?: s
            case let .int(n)?: String(repeating: " ", count: max(n, 0))
            default: "    "
            }
            let first = a.bool(1, "first", default: false)
            let blank = a.bool(2, "blank", default: false)
            var text = v.str
            var lines = PyString.split(text, "\n")
            let head = lines.removeFirst()
            text = (first ? (head.isEmpty && !blank ? head : width + head) : head)
            for line in lines { text += "\n" + (line.isEmpty && !blank ? line : width + line) }
            return .string(text)
        case "safe": return v
        case "escape", "e":
            return .string(PyString.replace(PyString.replace(PyString.replace(PyString.replace(PyString.replace(
                v.str, "&", "&amp;"), "<", "&lt;"), ">", "&gt;"), "\"", "&#34;"), "'", "&#39;"))
        case "attr": return try ev.attribute(v, try a.required(0, "name").str)
        case "dictsort":
            guard case let .dict(d) = v else { throw ValueError("dictsort needs a mapping") }
            let caseSensitive = a.bool(0, "case_sensitive", default: false)
            let byValue = a.optional(1, "by")?.str == "value"
            let reverse = a.bool(2, "reverse", default: false)
            var pairs = d.pairs.map { ($0.0, $0.1) }
            let key = { (p: (String, Value)) -> Value in
                let k = byValue ? p.1 : .string(p.0)
                if !caseSensitive, case let .string(s) = k { return .string(s.lowercased()) }
                return k
            }
            var failure: Error?
            pairs.sort { x, y in
                do { return try reverse ? key(y).less(than: key(x)) : key(x).less(than: key(y)) } catch { failure = error; return false }
            }
            if let failure { throw failure }
            return .list(pairs.map { .list([.string($0.0), $0.1]) })
        default:
            throw ValueError("no filter named '\(name)'")
        }
    }

    /// jinja2's attribute getter for filters: dotted paths, item lookup first.
    static func lookup(_ item: Value, _ path: String, _ ev: Evaluator) throws -> Value {
        var x = item
        for part in PyString.split(path, ".") {
            if x.isUndefined { return x }
            x = try ev.item(x, Int(part).map(Value.int) ?? .string(part))
        }
        return x
    }
}

/// jinja2's tests (`x is defined`, `x is string`, ...).
enum Tests {
    static func apply(_ name: String, _ v: Value, _ args: [Value], _ ev: Evaluator) throws -> Bool {
        func arg() throws -> Value {
            guard let x = args.first else { throw ValueError("test '\(name)' needs an argument") }
            return x
        }
        switch name {
        case "defined": return !v.isUndefined
        case "undefined": return v.isUndefined
        case "none": if case .none = v { return true }; return false
        case "boolean": if case .bool = v { return true }; return false
        case "true": if case .bool(true) = v { return true }; return false
        case "false": if case .bool(false) = v { return true }; return false
        case "string": if case .string = v { return true }; return false
        case "number": return v.numeric != nil
        case "integer": if case .int = v { return true }; return false
        case "float": if case .double = v { return true }; return false
        case "mapping": if case .dict = v { return true }; return false
        case "sequence":
            switch v {
            case .string, .list, .dict: return true
            default: return false
            }
        case "iterable":
            switch v {
            case .string, .list, .dict, .undefined: return true
            default: return false
            }
        case "callable": if case .function = v { return true }; return false
        case "equalto", "eq", "==", "sameas": return v.equals(try arg())
        case "ne", "!=": return !v.equals(try arg())
        case "lt", "lessthan", "<": return try v.less(than: try arg())
        case "gt", "greaterthan", ">": return try arg().less(than: v)
        case "le", "<=": return try Operators.compare("<=", v, try arg())
        case "ge", ">=": return try Operators.compare(">=", v, try arg())
        case "in": return try Operators.contains(try arg(), v)
        case "odd", "even":
            guard case let .int(i) = v else { throw ValueError("test '\(name)' needs an integer") }
            return (i % 2 != 0) == (name == "odd")
        case "divisibleby":
            guard case let .int(i) = v, case let .int(n) = try arg(), n != 0 else { throw ValueError("divisibleby needs nonzero integers") }
            return i % n == 0
        case "lower": return v.str.lowercased() == v.str
        case "upper": return v.str.uppercased() == v.str
        case "filter": return Filters.names.contains(try arg().str)
        case "test": return ["defined", "undefined", "none", "string", "number", "mapping", "sequence", "iterable"].contains(try arg().str)
        default: throw ValueError("no test named '\(name)'")
        }
    }
}
