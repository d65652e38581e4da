import Foundation

/// Python's str operations, by code point (Swift's String compares and splits by grapheme
/// cluster, which would join "\r\n" into one character).
enum PyString {
    typealias Scalars = [Unicode.Scalar]

    static func scalars(_ s: String) -> Scalars { Array(s.unicodeScalars) }
    static func string<C: Sequence>(_ s: C) -> String where C.Element == Unicode.Scalar { String(String.UnicodeScalarView(s)) }

    /// Index of the first occurrence of `needle` at or after `from`.
    static func find(_ hay: Scalars, _ needle: Scalars, from: Int = 0) -> Int? {
        guard needle.count <= hay.count else { return nil }
        if needle.isEmpty { return from <= hay.count ? from : nil }
        var i = max(from, 0)
        while i + needle.count <= hay.count {
            if hay[i] == needle[0], hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    static func contains(_ s: String, _ needle: String) -> Bool { find(scalars(s), scalars(needle)) != nil }

    static func replace(_ s: String, _ old: String, _ new: String, count: Int = -1) -> String {
        let hay = scalars(s), o = scalars(old), n = scalars(new)
        var out: Scalars = []
        var i = 0, done = 0
        if o.isEmpty {
            // Python inserts `new` between every character and at both ends.
            for c in hay {
                if count < 0 || done < count { out += n; done += 1 }
                out.append(c)
            }
            if count < 0 || done < count { out += n }
            return string(out)
        }
        while count < 0 || done < count, let j = find(hay, o, from: i) {
            out += hay[i..<j]
            out += n
            i = j + o.count
            done += 1
        }
        out += hay[i...]
        return string(out)
    }

    static func strip(_ s: String, _ chars: String?, leading: Bool, trailing: Bool) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        let strip = { (u: Unicode.Scalar) in set?.contains(u) ?? isPythonSpace(u) }
        var a = scalars(s)[...]
        if leading { while let f = a.first, strip(f) { a = a.dropFirst() } }
        if trailing { while let l = a.last, strip(l) { a = a.dropLast() } }
        return string(a)
    }

    static func split(_ s: String, _ sep: String?, maxsplit: Int = -1) -> [String] {
        let hay = scalars(s)
        guard let sep else {
            // Runs of whitespace separate; leading and trailing whitespace yields nothing.
            var parts: [String] = []
            var i = 0
            while i < hay.count {
                while i < hay.count, isPythonSpace(hay[i]) { i += 1 }
                guard i < hay.count else { break }
                if maxsplit >= 0, parts.count == maxsplit {
                    var rest = hay[i...]
                    while let l = rest.last, isPythonSpace(l) { rest = rest.dropLast() }
                    parts.append(string(rest))
                    break
                }
                let start = i
                while i < hay.count, !isPythonSpace(hay[i]) { i += 1 }
                parts.append(string(hay[start..<i]))
            }
            return parts
        }
        let sp = scalars(sep)
        var parts: [String] = []
        var i = 0
        while maxsplit < 0 || parts.count < maxsplit, let j = find(hay, sp, from: i) {
            parts.append(string(hay[i..<j]))
            i = j + sp.count
        }
        parts.append(string(hay[i...]))
        return parts
    }

    static func capitalize(_ s: String) -> String {
        let a = scalars(s)
        guard let f = a.first else { return s }
        return String(f).uppercased() + string(a.dropFirst()).lowercased()
    }

    /// Python's str.title(): a letter after a non-letter starts a word.
    static func title(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for u in s.unicodeScalars {
            let letter = u.properties.isAlphabetic
            out += letter ? (previousCased ? String(u).lowercased() : String(u).uppercased()) : String(u)
            previousCased = letter
        }
        return out
    }

    /// jinja2's `title` filter: words start after whitespace or one of - ( { [ <.
    static func jinjaTitle(_ s: String) -> String {
        var out = ""
        var atStart = true
        for u in s.unicodeScalars {
            let separator = isPythonSpace(u) || "-({[<".unicodeScalars.contains(u)
            out += separator ? String(u) : (atStart ? String(u).uppercased() : String(u).lowercased())
            atStart = separator
        }
        return out
    }
}

/// Methods templates call on strings, dicts and lists (the read-only ones: transformers renders
/// in jinja2's ImmutableSandboxedEnvironment, which refuses list.append and dict.update).
enum Methods {
    private static func method(_ name: String, _ body: @escaping ([Value], [(String, Value)]) throws -> Value) -> Value {
        .function(.init(name: name, call: body))
    }

    static func string(_ s: String, _ name: String) -> Value? {
        switch name {
        case "startswith", "endswith":
            return method(name) { args, _ in
                let a = Args(args, [], name)
                let prefixes: [String]
                switch try a.required(0, "prefix") {
                case let .string(p): prefixes = [p]
                case let .list(l): prefixes = l.map(\.str)
                case let v: throw ValueError("\(name) first arg must be str or a tuple of str, not \(v.typeName)")
                }
                let hay = PyString.scalars(s)
                return .bool(prefixes.contains { p in
                    let n = PyString.scalars(p)
                    return name == "startswith" ? hay.starts(with: n) : hay.reversed().starts(with: n.reversed())
                })
            }
        case "strip", "lstrip", "rstrip":
            return method(name) { args, _ in
                let chars = Args(args, [], name).optional(0, "chars")
                return .string(PyString.strip(s, chars.flatMap { if case let .string(c) = $0 { c } else { nil } },
                                              leading: name != "rstrip", trailing: name != "lstrip"))
            }
        case "split", "rsplit":
            return method(name) { args, kwargs in
                let a = Args(args, kwargs, name)
                let sep = a.optional(0, "sep").flatMap { if case let .string(x) = $0 { x } else { nil } }
                let maxsplit = try a.int(1, "maxsplit", default: -1)
                if name == "rsplit", maxsplit >= 0 {
                    // rsplit with a limit splits from the right: split the reversed text.
                    let rev = { (x: String) in PyString.string(x.unicodeScalars.reversed()) }
                    return .list(PyString.split(rev(s), sep.map(rev), maxsplit: maxsplit).reversed().map { .string(rev($0)) })
                }
                return .list(PyString.split(s, sep, maxsplit: maxsplit).map { .string($0) })
            }
        case "upper": return method(name) { _, _ in .string(s.uppercased()) }
        case "lower": return method(name) { _, _ in .string(s.lowercased()) }
        case "title": return method(name) { _, _ in .string(PyString.title(s)) }
        case "capitalize": return method(name) { _, _ in .string(PyString.capitalize(s)) }
        case "replace":
            return method(name) { args, kwargs in
                let a = Args(args, kwargs, name)
                return .string(PyString.replace(s, try a.required(0, "old").str, try a.required(1, "new").str, count: try a.int(2, "count", default: -1)))
            }
        case "find":
            return method(name) { args, _ in
                .int(PyString.find(PyString.scalars(s), PyString.scalars(try Args(args, [], name).required(0, "sub").str)) ?? -1)
            }
        case "count":
            return method(name) { args, _ in
                let sub = try Args(args, [], name).required(0, "sub").str
                return .int(PyString.split(s, sub).count - 1)
            }
        case "join":
            return method(name) { args, _ in
                .string(try Args(args, [], name).required(0, "iterable").iterated().map(\.str).joined(separator: s))
            }
        case "splitlines":
            return method(name) { _, _ in
                var lines = PyString.split(s, "\n")
                if lines.last == "" { lines.removeLast() }
                return .list(lines.map { .string($0) })
            }
        case "isdigit", "isalpha", "isalnum", "isspace", "isupper", "islower":
            return method(name) { _, _ in
                let a = s.unicodeScalars
                switch name {
                case "isdigit": return .bool(!a.isEmpty && a.allSatisfy { $0.properties.numericType != nil })
                case "isalpha": return .bool(!a.isEmpty && a.allSatisfy(\.properties.isAlphabetic))
                case "isalnum": return .bool(!a.isEmpty && a.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil })
                case "isspace": return .bool(!a.isEmpty && a.allSatisfy(isPythonSpace))
                case "isupper": return .bool(s.uppercased() == s && s.lowercased() != s)
                default: return .bool(s.lowercased() == s && s.uppercased() != s)
                }
            }
        default: return nil
        }
    }

    static func dict(_ d: Value.Dict, _ name: String) -> Value? {
        switch name {
        case "items": return method(name) { _, _ in .list(d.pairs.map { .list([.string($0.0), $0.1]) }) }
        case "keys": return method(name) { _, _ in .list(d.keys.map { .string($0) }) }
        case "values": return method(name) { _, _ in .list(d.pairs.map(\.1)) }
        case "get":
            return method(name) { args, _ in
                let a = Args(args, [], name)
                guard case let .string(k) = try a.required(0, "key") else { return a.optional(1, "default") ?? .none }
                return d[k] ?? a.optional(1, "default") ?? .none
            }
        default: return nil
        }
    }

    static func list(_ l: [Value], _ name: String) -> Value? {
        switch name {
        case "index":
            return method(name) { args, _ in
                let x = try Args(args, [], name).required(0, "value")
                guard let i = l.firstIndex(where: { $0.equals(x) }) else { throw ValueError("\(x.repr) is not in list") }
                return .int(i)
            }
        case "count":
            return method(name) { args, _ in
                let x = try Args(args, [], name).required(0, "value")
                return .int(l.filter { $0.equals(x) }.count)
            }
        case "append", "extend", "pop", "insert", "remove", "clear", "sort", "reverse":
            return method(name) { _, _ in throw ValueError("cannot modify a list in a chat template (list.\(name))") }
        default: return nil
        }
    }
}

/// Positional-or-keyword argument access for filters and methods.
struct Args {
    let positional: [Value]
    let keyword: [(String, Value)]
    let owner: String

    init(_ positional: [Value], _ keyword: [(String, Value)], _ owner: String) {
        self.positional = positional
        self.keyword = keyword
        self.owner = owner
    }

    func optional(_ index: Int, _ name: String) -> Value? {
        if index < positional.count { return positional[index] }
        return keyword.first { $0.0 == name }?.1
    }
    func required(_ index: Int, _ name: String) throws -> Value {
        guard let v = optional(index, name) else { throw ValueError("\(owner)() missing required argument '\(name)'") }
        return v
    }
    func int(_ index: Int, _ name: String, default d: Int) throws -> Int {
        switch optional(index, name) {
        case nil, .none?: return d
        case let .int(i)?: return i
        case let .bool(b)?: return b ? 1 : 0
        case let v?: throw ValueError("\(owner)(): '\(name)' must be an integer, not \(v.typeName)")
        }
    }
    func bool(_ index: Int, _ name: String, default d: Bool) -> Bool { optional(index, name)?.truthy ?? d }
}
