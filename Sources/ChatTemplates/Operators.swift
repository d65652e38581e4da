import Foundation

/// Python's arithmetic, concatenation and comparison operators over template values.
enum Operators {
    static func binary(_ op: String, _ a: Value, _ b: Value) throws -> Value {
        if op == "~" { return .string(a.str + b.str) }
        if case let .undefined(m) = a { throw ValueError(m) }
        if case let .undefined(m) = b { throw ValueError(m) }
        switch (op, a, b) {
        case let ("+", .string(x), .string(y)): return .string(x + y)
        case let ("+", .list(x), .list(y)): return .list(x + y)
        case let ("*", .string(s), .int(n)), let ("*", .int(n), .string(s)): return .string(String(repeating: s, count: max(n, 0)))
        case let ("*", .list(l), .int(n)), let ("*", .int(n), .list(l)): return .list(Array([[Value]](repeating: l, count: max(n, 0)).joined()))
        case ("%", .string, _): throw ValueError("printf-style '%' formatting of strings is not supported")
        default: break
        }
        guard let x = a.numeric, let y = b.numeric else {
            throw ValueError("unsupported operand type(s) for \(op): '\(a.typeName)' and '\(b.typeName)'")
        }
        let ints: (Int, Int)? = a.isIntegral && b.isIntegral ? (Int(x), Int(y)) : nil
        switch op {
        case "+", "-", "*":
            if let (i, j) = ints {
                let (r, overflow) = op == "+" ? i.addingReportingOverflow(j) : op == "-" ? i.subtractingReportingOverflow(j) : i.multipliedReportingOverflow(by: j)
                guard !overflow else { throw ValueError("integer overflow in \(op)") }
                return .int(r)
            }
            return .double(op == "+" ? x + y : op == "-" ? x - y : x * y)
        case "/":
            guard y != 0 else { throw ValueError("division by zero") }
            return .double(x / y)
        case "//", "%":
            guard y != 0 else { throw ValueError(op == "//" ? "integer division or modulo by zero" : "modulo by zero") }
            if let (i, j) = ints {
                // Python floors toward negative infinity; its remainder takes the divisor's sign.
                var q = i / j
                if (i % j != 0) && ((i < 0) != (j < 0)) { q -= 1 }
                return .int(op == "//" ? q : i - q * j)
            }
            let q = (x / y).rounded(.down)
            return .double(op == "//" ? q : x - q * y)
        case "**":
            if let (i, j) = ints, j >= 0 {
                var r = 1
                for _ in 0..<j {
                    let (m, overflow) = r.multipliedReportingOverflow(by: i)
                    guard !overflow else { throw ValueError("integer overflow in **") }
                    r = m
                }
                return .int(r)
            }
            return .double(pow(x, y))
        default:
            throw ValueError("unknown operator \(op)")
        }
    }

    static func compare(_ op: String, _ a: Value, _ b: Value) throws -> Bool {
        switch op {
        case "==": return a.equals(b)
        case "!=": return !a.equals(b)
        case "<": return try a.less(than: b)
        case ">": return try b.less(than: a)
        case "<=": return try a.less(than: b) || a.equals(b)
        case ">=": return try b.less(than: a) || a.equals(b)
        case "in": return try contains(b, a)
        case "not in": return try !contains(b, a)
        default: throw ValueError("unknown comparison \(op)")
        }
    }

    /// Python's `needle in container`.
    static func contains(_ container: Value, _ needle: Value) throws -> Bool {
        switch container {
        case let .string(s):
            guard case let .string(n) = needle else { throw ValueError("'in <string>' requires string as left operand, not \(needle.typeName)") }
            return PyString.contains(s, n)
        case let .list(l): return l.contains { $0.equals(needle) }
        case let .dict(d):
            guard case let .string(k) = needle else { return false }
            return d[k] != nil
        case .undefined: return false
        case let .namespace(ns):
            guard case let .string(k) = needle else { return false }
            return ns.attributes[k] != nil
        default: throw ValueError("argument of type '\(container.typeName)' is not iterable")
        }
    }
}

extension Value {
    /// Python ints (and bools): arithmetic on two of them stays integral.
    var isIntegral: Bool {
        switch self {
        case .int, .bool: true
        default: false
        }
    }
}
