/// A check of a JSON text's structure that JSON parsers do not make: a key written twice in one
/// object (Foundation keeps one of them silently), and nesting deeper than a limit. It reads the
/// bytes once, without building values; malformed text is left to the parser, which reports it.
public enum JSONStructure {
    public enum Problem: Equatable, Sendable {
        /// `path` is the object holding the key (dotted, `[i]` for list items; "" at the top).
        case duplicateKey(String, path: String)
        case tooDeep(limit: Int)

        public var description: String {
            switch self {
            case let .duplicateKey(key, path): "key '\(key)' appears twice" + (path.isEmpty ? "" : " in \(path)")
            case let .tooDeep(limit): "nested deeper than \(limit) levels"
            }
        }
    }

    /// Nesting depth no configuration or record comes near.
    public static let depthLimit = 256

    /// One open container: its keys so far (objects) or its item index (lists), and where it
    /// sits in its parent (a key, or an index), for the path of an error.
    private struct Frame {
        var isObject: Bool
        var keys: Set<String> = []
        var index = 0
        var under: String?
        var at = 0
    }

    /// The first problem in `bytes`, or nil.
    public static func problem(in bytes: some Collection<UInt8>, depthLimit: Int = depthLimit) -> Problem? {
        if let r = bytes.withContiguousStorageIfAvailable({ scan($0, depthLimit: depthLimit) }) { return r }
        return Array(bytes).withUnsafeBufferPointer { scan($0, depthLimit: depthLimit) }
    }

    /// One pass over the bytes; only keys are decoded (values are skipped), so the cost on a
    /// record of long contents is a byte scan.
    private static func scan(_ b: UnsafeBufferPointer<UInt8>, depthLimit: Int) -> Problem? {
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        var i = 0
        var stack: [Frame] = []
        var expectKey = false
        var lastKey = ""
        func path() -> String {
            var p = ""
            for f in stack.dropFirst() {
                if let key = f.under { p += p.isEmpty ? key : "." + key } else { p += "[\(f.at)]" }
            }
            return p
        }
        while i < b.count {
            let c = b[i]
            switch c {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard stack.count < depthLimit else { return .tooDeep(limit: depthLimit) }
                var frame = Frame(isObject: c == UInt8(ascii: "{"))
                if let top = stack.last {
                    if top.isObject { frame.under = lastKey } else { frame.at = top.index }
                }
                stack.append(frame)
                expectKey = frame.isObject
                i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                guard !stack.isEmpty else { return nil }
                stack.removeLast()
                i += 1
            case UInt8(ascii: ","):
                if let top = stack.last {
                    if top.isObject { expectKey = true } else { stack[stack.count - 1].index += 1 }
                }
                i += 1
            case quote:
                if expectKey, let top = stack.last, top.isObject {
                    guard let (s, next) = string(b, from: i) else { return nil }
                    i = next
                    if top.keys.contains(s) { return .duplicateKey(s, path: path()) }
                    stack[stack.count - 1].keys.insert(s)
                    lastKey = s
                    expectKey = false
                } else {
                    // A value: skip to its closing quote.
                    i += 1
                    while i < b.count, b[i] != quote { i += b[i] == backslash ? 2 : 1 }
                    i += 1
                }
            default:
                i += 1
            }
        }
        return nil
    }

    /// A JSON string starting at `start` (a quote), decoded, and the index after it.
    static func string(_ b: UnsafeBufferPointer<UInt8>, from start: Int) -> (String, Int)? {
        var i = start + 1
        var units: [UInt16] = []
        var bytes: [UInt8] = []
        func flushBytes() {
            if !bytes.isEmpty { units += String(decoding: bytes, as: UTF8.self).utf16; bytes.removeAll() }
        }
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                flushBytes()
                return (String(decoding: units, as: UTF16.self), i + 1)
            }
            if c == UInt8(ascii: "\\") {
                guard i + 1 < b.count else { return nil }
                flushBytes()
                let e = b[i + 1]
                switch e {
                case UInt8(ascii: "u"):
                    guard i + 5 < b.count, let u = UInt16(String(decoding: b[(i + 2)...(i + 5)], as: UTF8.self), radix: 16) else { return nil }
                    units.append(u)
                    i += 6
                    continue
                case UInt8(ascii: "n"): units.append(10)
                case UInt8(ascii: "t"): units.append(9)
                case UInt8(ascii: "r"): units.append(13)
                case UInt8(ascii: "b"): units.append(8)
                case UInt8(ascii: "f"): units.append(12)
                default: units.append(UInt16(e))
                }
                i += 2
                continue
            }
            bytes.append(c)
            i += 1
        }
        return nil
    }
}
