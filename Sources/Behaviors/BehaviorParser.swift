import Foundation

/// Reads behaviors out of a strategist's reply, tolerating what real models write: a JSON
/// object (possibly inside a ``` fence, with trailing commas, with prose around it), or
/// `behavior_x: instruction` lines. Never throws: unusable text is reported as such.
public enum BehaviorParser {
    public enum Format: String, Sendable, Codable { case json, lines, unparseable }

    public struct Result: Sendable, Equatable {
        public var behaviors: [(name: String, instruction: String)]
        public var format: Format
        public static func == (a: Result, b: Result) -> Bool {
            a.format == b.format && a.behaviors.map { "\($0.name)\u{0}\($0.instruction)" } == b.behaviors.map { "\($0.name)\u{0}\($0.instruction)" }
        }
    }

    public static func parse(_ text: String) -> Result {
        if let pairs = jsonObject(in: text), !pairs.isEmpty {
            return Result(behaviors: pairs, format: .json)
        }
        let lines = behaviorLines(in: text)
        return lines.isEmpty ? Result(behaviors: [], format: .unparseable) : Result(behaviors: lines, format: .lines)
    }

    /// The names of `known` behaviors a response cites (whole-word matches), in citation order.
    public static func citations(in response: String, known: [String]) -> [String] {
        let lower = response.lowercased()
        var found: [(String.Index, String)] = []
        for name in Set(known) {
            var searchFrom = lower.startIndex
            while let r = lower.range(of: name.lowercased(), range: searchFrom..<lower.endIndex) {
                let before = r.lowerBound == lower.startIndex ? nil : lower[lower.index(before: r.lowerBound)]
                let after = r.upperBound == lower.endIndex ? nil : lower[r.upperBound]
                let boundary: (Character?) -> Bool = { c in c.map { !($0.isLetter || $0.isNumber || $0 == "_") } ?? true }
                if boundary(before), boundary(after) {
                    found.append((r.lowerBound, name))
                    break
                }
                searchFrom = r.upperBound
            }
        }
        return found.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// The first balanced {...} in the text (fences and prose ignored), trailing commas
    /// removed, read as an object of string values under behavior_ keys.
    static func jsonObject(in text: String) -> [(name: String, instruction: String)]? {
        let chars = Array(text)
        guard let start = chars.firstIndex(of: "{") else { return nil }
        var depth = 0, inString = false, escaped = false, end: Int?
        for i in start..<chars.count {
            let c = chars[i]
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
                continue
            }
            if c == "\"" { inString = true } else if c == "{" { depth += 1 } else if c == "}" {
                depth -= 1
                if depth == 0 { end = i; break }
            }
        }
        guard let end else { return nil }
        var body = String(chars[start...end])
        // Trailing commas before a closing brace or bracket, common in model output.
        body = body.replacingOccurrences(of: #",\s*([}\]])"#, with: "$1", options: .regularExpression)
        guard let data = body.data(using: .utf8),
              let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        var out: [(name: String, instruction: String)] = []
        for key in obj.keys.sorted() {
            guard let value = obj[key] as? String, !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { continue }
            guard key.lowercased().hasPrefix("behavior") else { continue }
            out.append((Behavior.canonicalName(key), value.trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        return out
    }

    /// `behavior_x: instruction` (or `- **behavior_x** - instruction`) lines.
    static func behaviorLines(in text: String) -> [(name: String, instruction: String)] {
        let pattern = #"^\s*(?:[-*•]|\d+[.)])?\s*\**`?(behavior_[A-Za-z0-9_]+)`?\**\s*[:\-–—]\s*(.+?)\s*$"#
        guard let re = try? NSRegularExpression(pattern: pattern, options: [.anchorsMatchLines]) else { return [] }
        let ns = text as NSString
        return re.matches(in: text, range: NSRange(location: 0, length: ns.length)).compactMap { m in
            let name = ns.substring(with: m.range(at: 1)), instruction = ns.substring(with: m.range(at: 2))
            return instruction.isEmpty ? nil : (Behavior.canonicalName(name), instruction)
        }
    }
}
