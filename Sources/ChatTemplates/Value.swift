import Foundation

/// A value inside a template: what Python values a Hugging Face chat template sees (JSON values,
/// plus jinja2's undefined, namespaces and callables). Dicts keep insertion order, as Python's do,
/// so `tojson` and `items()` list keys as the conversation gave them.
public enum Value {
    /// A missing variable, attribute or key; the name is for error messages.
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([Value])
    case dict(Dict)
    case namespace(Namespace)
    case function(Function)

    /// An insertion-ordered dictionary with string keys (chat messages, tool schemas, kwargs).
    public struct Dict {
        public private(set) var keys: [String] = []
        private var storage: [String: Value] = [:]

        public init() {}
        public init(_ pairs: [(String, Value)]) { for (k, v) in pairs { self[k] = v } }

        public subscript(key: String) -> Value? {
            get { storage[key] }
            set {
                if let newValue {
                    if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
                } else if storage.removeValue(forKey: key) != nil {
                    keys.removeAll { $0 == key }
                }
            }
        }
        public var count: Int { keys.count }
        public var pairs: [(String, Value)] { keys.map { ($0, storage[$0]!) } }
    }

    /// `namespace(...)`: the one mutable object templates have, so a loop body can carry state out.
    public final class Namespace {
        var attributes: Dict
        init(_ attributes: Dict) { self.attributes = attributes }
    }

    /// A global, macro or bound method: positional and keyword arguments in, a value out.
    public struct Function {
        let name: String
        let call: ([Value], [(String, Value)]) throws -> Value
    }
}

/// An evaluation failure without a location; the evaluator adds the template line.
struct ValueError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

// MARK: - Building values from Swift and JSON

extension Value: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: Value...) { self = .list(elements) }
    public init(dictionaryLiteral elements: (String, Value)...) { self = .dict(Dict(elements)) }
    public init(nilLiteral: ()) { self = .none }

    /// A value from what JSONSerialization produces (or plain Swift collections). Foundation's
    /// dictionaries have no order, so their keys are sorted; use `Value.parseJSON` to keep order.
    public init(any: Any?) throws {
        switch any {
        case nil, is NSNull: self = .none
        case let v as Value: self = v
        case let s as String: self = .string(s)
        case let n as NSNumber:
            // JSONSerialization's booleans are NSNumbers of type "c", its non-integral numbers "d".
            switch String(cString: n.objCType) {
            case "c", "B": self = .bool(n.boolValue)
            case "d", "f": self = .double(n.doubleValue)
            default: self = .int(n.intValue)
            }
        case let b as Bool: self = .bool(b)
        case let i as Int: self = .int(i)
        case let d as Double: self = .double(d)
        case let a as [Any?]: self = .list(try a.map { try Value(any: $0) })
        case let a as [Any]: self = .list(try a.map { try Value(any: $0) })
        case let d as [String: Any?]:
            self = .dict(Dict(try d.keys.sorted().map { ($0, try Value(any: d[$0] ?? nil)) }))
        case let d as [String: Any]:
            self = .dict(Dict(try d.keys.sorted().map { ($0, try Value(any: d[$0])) }))
        default:
            throw ChatTemplateError.load(path: "value", reason: "cannot pass a \(type(of: any!)) to a template")
        }
    }
}

// MARK: - Python semantics

extension Value {
    var isUndefined: Bool { if case .undefined = self { true } else { false } }

    /// Python truthiness (jinja2's Undefined is falsy).
    var truthy: Bool {
        switch self {
        case .undefined, .none: false
        case let .bool(b): b
        case let .int(i): i != 0
        case let .double(d): d != 0
        case let .string(s): !s.isEmpty
        case let .list(l): !l.isEmpty
        case let .dict(d): d.count > 0
        case .namespace, .function: true
        }
    }

    /// What `{{ value }}` prints: Python's str(), with Undefined printing nothing.
    var str: String {
        switch self {
        case .undefined: ""
        case let .string(s): s
        default: repr
        }
    }

    /// Python's repr(), which str() of a list or dict uses for its items.
    var repr: String {
        switch self {
        case .undefined: ""
        case .none: "None"
        case let .bool(b): b ? "True" : "False"
        case let .int(i): String(i)
        case let .double(d): pythonFloat(d)
        case let .string(s): pythonStringRepr(s)
        case let .list(l): "[" + l.map(\.repr).joined(separator: ", ") + "]"
        case let .dict(d): "{" + d.pairs.map { pythonStringRepr($0.0) + ": " + $0.1.repr }.joined(separator: ", ") + "}"
        case let .namespace(n): "<Namespace " + Value.dict(n.attributes).repr + ">"
        case let .function(f): "<function \(f.name)>"
        }
    }

    var typeName: String {
        switch self {
        case .undefined: "undefined"
        case .none: "NoneType"
        case .bool: "bool"
        case .int: "int"
        case .double: "float"
        case .string: "str"
        case .list: "list"
        case .dict: "dict"
        case .namespace: "Namespace"
        case .function: "function"
        }
    }

    /// Python's `==` (1 == 1.0 == True; Undefined equals only Undefined).
    func equals(_ other: Value) -> Bool {
        switch (self, other) {
        case (.undefined, .undefined), (.none, .none): return true
        case let (.string(a), .string(b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case let (.list(a), .list(b)): return a.count == b.count && zip(a, b).allSatisfy { $0.equals($1) }
        case let (.dict(a), .dict(b)):
            return a.count == b.count && a.keys.allSatisfy { k in b[k].map { a[k]!.equals($0) } ?? false }
        case let (.namespace(a), .namespace(b)): return a === b
        default:
            if let x = numeric, let y = other.numeric { return x == y }
            return false
        }
    }

    /// Numbers (and bools, which Python counts as ints) as a double for comparisons.
    var numeric: Double? {
        switch self {
        case let .int(i): Double(i)
        case let .double(d): d
        case let .bool(b): b ? 1 : 0
        default: nil
        }
    }

    /// Python's `<` for numbers, strings (by code point) and lists.
    func less(than other: Value) throws -> Bool {
        switch (self, other) {
        case let (.string(a), .string(b)): return a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
        case let (.list(a), .list(b)):
            for (x, y) in zip(a, b) where !x.equals(y) { return try x.less(than: y) }
            return a.count < b.count
        default:
            if case let .int(x) = self, case let .int(y) = other { return x < y }
            if let x = numeric, let y = other.numeric { return x < y }
            throw ValueError("'<' not supported between instances of '\(typeName)' and '\(other.typeName)'")
        }
    }

    /// The items `for` iterates: a list's items, a dict's keys, a string's characters.
    func iterated() throws -> [Value] {
        switch self {
        case .undefined: return []
        case let .list(l): return l
        case let .dict(d): return d.keys.map { .string($0) }
        case let .string(s): return s.unicodeScalars.map { .string(String($0)) }
        case let .namespace(n): return n.attributes.keys.map { .string($0) }
        default: throw ValueError("'\(typeName)' object is not iterable")
        }
    }

    /// Python's len(); Undefined has length 0 as in jinja2.
    func length() throws -> Int {
        switch self {
        case .undefined: return 0
        case let .string(s): return s.unicodeScalars.count
        case let .list(l): return l.count
        case let .dict(d): return d.count
        default: throw ValueError("object of type '\(typeName)' has no len()")
        }
    }
}

/// Python's repr() of a float: shortest round-trip digits, exponent form outside 1e-4..1e16.
func pythonFloat(_ d: Double) -> String {
    if d.isNaN { return "nan" }
    if d.isInfinite { return d < 0 ? "-inf" : "inf" }
    if d == d.rounded(), abs(d) < 1e16 { return String(format: "%.1f", d) }
    var s = "\(d)"  // Swift's description is also shortest round-trip
    // Swift writes 1e-05 and 1e+16 the way Python does; only the mantissa's ".0" may differ.
    if let e = s.firstIndex(of: "e"), s[..<e].hasSuffix(".0") { s.removeSubrange(s.index(e, offsetBy: -2)..<e) }
    return s
}

/// Python's repr() of a str: single quotes unless the text holds ' and no ".
func pythonStringRepr(_ s: String) -> String {
    let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
    var out = String(quote)
    for u in s.unicodeScalars {
        switch u {
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if Character(u) == quote { out += "\\" + String(quote) }
            else if u.value < 0x20 || u.value == 0x7F { out += String(format: "\\x%02x", u.value) }
            else { out.unicodeScalars.append(u) }
        }
    }
    out.append(quote)
    return out
}

/// Python's str.isspace() for one code point.
func isPythonSpace(_ u: Unicode.Scalar) -> Bool {
    switch u.value {
    case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: true
    default: false
    }
}
