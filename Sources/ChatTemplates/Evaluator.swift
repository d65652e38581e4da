import Foundation

/// Variables visible at one point of a render. Each iteration of a `for` body gets a fresh scope
/// (so a `set` there reaches neither the next iteration nor after the loop, as in jinja2: state
/// crosses iterations only through a namespace); a macro call gets a scope over the scope the
/// macro was defined in.
final class Scope {
    var vars: [String: Value] = [:]
    let parent: Scope?
    init(parent: Scope?, vars: [String: Value] = [:]) {
        self.parent = parent
        self.vars = vars
    }
    func lookup(_ name: String) -> Value? {
        var s: Scope? = self
        while let c = s {
            if let v = c.vars[name] { return v }
            s = c.parent
        }
        return nil
    }
}

/// Renders parsed statements. `now` is what `strftime_now` formats.
struct Evaluator {
    let now: Date
    let timeZone: TimeZone

    enum Flow { case normal, breakLoop, continueLoop }

    func render(_ body: [Stmt], _ scope: Scope, into out: inout String) throws -> Flow {
        for stmt in body {
            switch stmt {
            case let .text(t): out += t
            case let .output(e): out += try eval(e, scope).str
            case let .ifChain(branches, otherwise):
                var taken = false
                for (condition, branch) in branches where try eval(condition, scope).truthy {
                    taken = true
                    let flow = try render(branch, scope, into: &out)
                    if flow != .normal { return flow }
                    break
                }
                if !taken {
                    let flow = try render(otherwise, scope, into: &out)
                    if flow != .normal { return flow }
                }
            case let .forLoop(line, target, iterable, condition, loopBody, otherwise):
                try renderFor(line: line, target: target, iterable: iterable, condition: condition, body: loopBody,
                              otherwise: otherwise, scope, into: &out)
            case let .set(line, target, e):
                try assign(target, try eval(e, scope), scope, line: line)
            case let .setBlock(line, target, blockBody):
                var captured = ""
                _ = try render(blockBody, scope, into: &captured)
                try assign(target, .string(captured), scope, line: line)
            case let .macro(_, name, parameters, macroBody):
                scope.vars[name] = makeMacro(name: name, parameters: parameters, body: macroBody, defined: scope)
            case .breakLoop: return .breakLoop
            case .continueLoop: return .continueLoop
            case let .generation(inner):
                let flow = try render(inner, scope, into: &out)
                if flow != .normal { return flow }
            }
        }
        return .normal
    }

    private func renderFor(line: Int, target: Target, iterable: Expr, condition: Expr?, body: [Stmt], otherwise: [Stmt],
                           _ scope: Scope, into out: inout String) throws {
        var items = try wrap(line) { try eval(iterable, scope).iterated() }
        if let condition {
            let loopScope = Scope(parent: scope)
            // jinja2 filters before counting, so loop.length and loop.last see only the kept items.
            items = try items.filter { item in
                try assign(target, item, loopScope, line: line)
                return try eval(condition, loopScope).truthy
            }
        }
        if items.isEmpty {
            _ = try render(otherwise, scope, into: &out)
            return
        }
        let n = items.count
        for (k, item) in items.enumerated() {
            let loopScope = Scope(parent: scope)
            try assign(target, item, loopScope, line: line)
            var loop = Value.Dict()
            loop["index"] = .int(k + 1)
            loop["index0"] = .int(k)
            loop["revindex"] = .int(n - k)
            loop["revindex0"] = .int(n - k - 1)
            loop["first"] = .bool(k == 0)
            loop["last"] = .bool(k == n - 1)
            loop["length"] = .int(n)
            loop["depth"] = .int(1)
            loop["depth0"] = .int(0)
            loop["previtem"] = k > 0 ? items[k - 1] : .undefined("there is no previous item")
            loop["nextitem"] = k < n - 1 ? items[k + 1] : .undefined("there is no next item")
            loop["cycle"] = .function(.init(name: "loop.cycle") { args, _ in
                guard !args.isEmpty else { throw ValueError("no items for cycling given") }
                return args[k % args.count]
            })
            loopScope.vars["loop"] = .dict(loop)
            if try render(body, loopScope, into: &out) == .breakLoop { break }
        }
    }

    private func assign(_ target: Target, _ value: Value, _ scope: Scope, line: Int) throws {
        switch target {
        case let .name(n): scope.vars[n] = value
        case let .attribute(n, attr):
            guard case let .namespace(ns) = scope.lookup(n) else {
                throw JinjaError.render(line, "cannot assign attribute on non-namespace object '\(n)'")
            }
            if attr.hasPrefix("_") { throw JinjaError.render(line, "namespace attributes cannot start with '_': '\(attr)'") }
            ns.attributes[attr] = value
        case let .tuple(targets):
            let items = try wrap(line) { try value.iterated() }
            guard items.count == targets.count else {
                throw JinjaError.render(line, "cannot unpack \(items.count) values into \(targets.count) names")
            }
            for (t, v) in zip(targets, items) { try assign(t, v, scope, line: line) }
        }
    }

    private func makeMacro(name: String, parameters: [(String, Expr?)], body: [Stmt], defined: Scope) -> Value {
        .function(.init(name: name) { args, kwargs in
            guard args.count <= parameters.count else {
                throw ValueError("macro '\(name)' takes not more than \(parameters.count) argument(s)")
            }
            let local = Scope(parent: defined)
            for (k, (param, fallback)) in parameters.enumerated() {
                if k < args.count {
                    local.vars[param] = args[k]
                } else if let kw = kwargs.first(where: { $0.0 == param }) {
                    local.vars[param] = kw.1
                } else if let fallback {
                    local.vars[param] = try eval(fallback, local)
                } else {
                    local.vars[param] = .undefined("'\(param)' is undefined")
                }
            }
            if let extra = kwargs.first(where: { kw in !parameters.contains { $0.0 == kw.0 } }) {
                throw ValueError("macro '\(name)' takes no keyword argument '\(extra.0)'")
            }
            var out = ""
            _ = try render(body, local, into: &out)
            return .string(out)
        })
    }

    /// Runs `body`, turning a located-less ValueError into a render error on `line`.
    func wrap<T>(_ line: Int, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as ValueError { throw JinjaError.render(line, e.message) }
    }

    // MARK: expressions

    func eval(_ e: Expr, _ scope: Scope) throws -> Value {
        switch e.kind {
        case let .string(s): return .string(s)
        case let .integer(i): return .int(i)
        case let .float(d): return .double(d)
        case let .bool(b): return .bool(b)
        case .none: return .none
        case let .name(n): return scope.lookup(n) ?? .undefined("'\(n)' is undefined")
        case let .list(items), let .tuple(items): return .list(try items.map { try eval($0, scope) })
        case let .dict(pairs):
            var d = Value.Dict()
            for (k, v) in pairs {
                guard case let .string(key) = try eval(k, scope) else { throw JinjaError.render(k.line, "dict keys must be strings here") }
                d[key] = try eval(v, scope)
            }
            return .dict(d)
        case let .attribute(target, name):
            let v = try eval(target, scope)
            return try wrap(e.line) { try attribute(v, name) }
        case let .item(target, key):
            let v = try eval(target, scope)
            let k = try eval(key, scope)
            return try wrap(e.line) { try item(v, k) }
        case let .slice(target, start, stop, step):
            let v = try eval(target, scope)
            let bounds = try [start, stop, step].map { try $0.map { try eval($0, scope) } ?? .none }
            return try wrap(e.line) { try slice(v, bounds[0], bounds[1], bounds[2]) }
        case let .call(callee, arguments):
            let f = try eval(callee, scope)
            let (args, kwargs) = try evalArguments(arguments, scope)
            return try call(f, args, kwargs, line: e.line)
        case let .filter(target, name, arguments):
            let v = try eval(target, scope)
            let (args, kwargs) = try evalArguments(arguments, scope)
            return try wrap(e.line) { try Filters.apply(name, v, args, kwargs, self) }
        case let .test(target, name, arguments, negated):
            let v = try eval(target, scope)
            let (args, _) = try evalArguments(arguments, scope)
            return .bool(try wrap(e.line) { try Tests.apply(name, v, args, self) } != negated)
        case let .not(x): return .bool(!(try eval(x, scope).truthy))
        case let .negate(x):
            switch try eval(x, scope) {
            case let .double(d): return .double(-d)  // keeps Python's -0.0
            case let v: return try wrap(e.line) { try Operators.binary("-", .int(0), v) }
            }
        case let .plus(x):
            let v = try eval(x, scope)
            guard v.numeric != nil else { throw JinjaError.render(e.line, "bad operand type for unary +: '\(v.typeName)'") }
            return v
        case let .and(a, b):
            let left = try eval(a, scope)
            return left.truthy ? try eval(b, scope) : left
        case let .or(a, b):
            let left = try eval(a, scope)
            return left.truthy ? left : try eval(b, scope)
        case let .binary(op, a, b):
            let left = try eval(a, scope)
            let right = try eval(b, scope)
            return try wrap(e.line) { try Operators.binary(op, left, right) }
        case let .compare(first, rest):
            var left = try eval(first, scope)
            for (op, rhs) in rest {
                let right = try eval(rhs, scope)
                guard try wrap(e.line, { try Operators.compare(op, left, right) }) else { return .bool(false) }
                left = right
            }
            return .bool(true)
        case let .conditional(then, condition, otherwise):
            if try eval(condition, scope).truthy { return try eval(then, scope) }
            return try otherwise.map { try eval($0, scope) } ?? .undefined("the inline if-expression evaluated to false and no else section was defined")
        }
    }

    private func evalArguments(_ a: Arguments, _ scope: Scope) throws -> ([Value], [(String, Value)]) {
        (try a.positional.map { try eval($0, scope) }, try a.keyword.map { ($0.0, try eval($0.1, scope)) })
    }

    func call(_ f: Value, _ args: [Value], _ kwargs: [(String, Value)], line: Int) throws -> Value {
        switch f {
        case let .function(fn):
            do { return try fn.call(args, kwargs) } catch let e as ValueError { throw JinjaError.render(line, e.message) } catch let e as RaisedError {
                throw JinjaError(kind: .raised, line: line, message: e.message)
            }
        case let .undefined(message): throw JinjaError.render(line, message)
        default: throw JinjaError.render(line, "'\(f.typeName)' object is not callable")
        }
    }

    // MARK: attribute and item access (jinja2's getattr then getitem, and the reverse for [])

    func attribute(_ v: Value, _ name: String) throws -> Value {
        switch v {
        case let .undefined(message): throw ValueError(message)
        case let .dict(d):
            if let m = Methods.dict(d, name) { return m }
            return d[name] ?? .undefined("'dict object' has no attribute '\(name)'")
        case let .namespace(ns): return ns.attributes[name] ?? .undefined("'Namespace' object has no attribute '\(name)'")
        case let .string(s): return Methods.string(s, name) ?? .undefined("'str object' has no attribute '\(name)'")
        case let .list(l): return Methods.list(l, name) ?? .undefined("'list object' has no attribute '\(name)'")
        default: return .undefined("'\(v.typeName) object' has no attribute '\(name)'")
        }
    }

    func item(_ v: Value, _ key: Value) throws -> Value {
        switch (v, key) {
        case let (.undefined(message), _): throw ValueError(message)
        case let (.dict(d), .string(k)): return d[k] ?? Methods.dict(d, k) ?? .undefined("'dict object' has no attribute '\(k)'")
        case let (.namespace, .string(k)): return try attribute(v, k)
        case let (.list(l), .int(i)):
            let j = i < 0 ? i + l.count : i
            return l.indices.contains(j) ? l[j] : .undefined("list object has no element \(i)")
        case let (.string(s), .int(i)):
            let scalars = Array(s.unicodeScalars)
            let j = i < 0 ? i + scalars.count : i
            return scalars.indices.contains(j) ? .string(String(scalars[j])) : .undefined("str object has no element \(i)")
        case (_, .string(let k)): return try attribute(v, k)
        default: return .undefined("'\(v.typeName) object' has no element \(key.repr)")
        }
    }

    func slice(_ v: Value, _ start: Value, _ stop: Value, _ step: Value) throws -> Value {
        func bound(_ b: Value) throws -> Int? {
            switch b {
            case .none, .undefined: return nil
            case let .int(i): return i
            case let .bool(x): return x ? 1 : 0
            default: throw ValueError("slice indices must be integers or None")
            }
        }
        let indices = { (n: Int) throws -> [Int] in try pythonSliceIndices(count: n, start: bound(start), stop: bound(stop), step: bound(step)) }
        switch v {
        case let .list(l): return .list(try indices(l.count).map { l[$0] })
        case let .string(s):
            let scalars = Array(s.unicodeScalars)
            return .string(String(String.UnicodeScalarView(try indices(scalars.count).map { scalars[$0] })))
        case let .undefined(message): throw ValueError(message)
        default: throw ValueError("'\(v.typeName)' object is not subscriptable")
        }
    }
}

/// The indices Python's `seq[start:stop:step]` selects from a sequence of `count` items.
func pythonSliceIndices(count n: Int, start: Int?, stop: Int?, step: Int?) throws -> [Int] {
    let step = step ?? 1
    guard step != 0 else { throw ValueError("slice step cannot be zero") }
    func clamp(_ x: Int?, _ fallback: Int, low: Int, high: Int) -> Int {
        guard var x else { return fallback }
        if x < 0 { x += n }
        return min(max(x, low), high)
    }
    var out: [Int] = []
    if step > 0 {
        var i = clamp(start, 0, low: 0, high: n)
        let end = clamp(stop, n, low: 0, high: n)
        while i < end { out.append(i); i += step }
    } else {
        var i = clamp(start, n - 1, low: -1, high: n - 1)
        let end = clamp(stop, -1, low: -1, high: n - 1)
        while i > end { out.append(i); i += step }
    }
    return out
}

/// `raise_exception(message)` from the template.
struct RaisedError: Error { let message: String }
