/// Character-level helpers shared by extraction, normalisation and structure parsing. They
/// work on `[Character]` so that positions are plain integers.
enum TeX {
    /// The index of the `}` that closes the `{` at `open`, skipping escaped `\{` and `\}`;
    /// nil when the group never closes (a truncated answer).
    static func closingBrace(in chars: [Character], open: Int, end: Int? = nil) -> Int? {
        let end = end ?? chars.count
        var depth = 0, i = open
        while i < end {
            switch chars[i] {
            case "\\": i += 1  // an escaped brace is text, not nesting
            case "{": depth += 1
            case "}":
                depth -= 1
                if depth == 0 { return i }
            default: break
            }
            i += 1
        }
        return nil
    }

    /// Splits `text` at `separator` where it is not nested inside (), [], {} or \{ \}.
    /// Brackets of different kinds count alike, so half-open intervals like `[1,2)` nest
    /// properly. A separator that is a control word (`\cup`) must not run on into letters.
    static func splitTopLevel(_ text: String, separator: String) -> [String] {
        let chars = Array(text), sep = Array(separator)
        var parts: [String] = [], current: [Character] = [], depth = 0, i = 0
        while i < chars.count {
            let c = chars[i]
            if depth == 0, matches(sep, in: chars, at: i) {
                parts.append(String(current))
                current = []
                i += sep.count
                continue
            }
            if c == "\\", i + 1 < chars.count, "{}".contains(chars[i + 1]) {
                depth += chars[i + 1] == "{" ? 1 : -1
                current += [c, chars[i + 1]]
                i += 2
                continue
            }
            if "([{".contains(c) { depth += 1 } else if ")]}".contains(c) { depth = max(0, depth - 1) }
            current.append(c)
            i += 1
        }
        parts.append(String(current))
        return parts
    }

    /// Whether brackets ((), [], {}; so also `\{`, `\left(`) nest deeper than `limit` anywhere in
    /// `text`. A closing bracket with nothing open is ignored, as splitTopLevel does.
    static func nestsDeeper(than limit: Int, _ text: String) -> Bool {
        var depth = 0
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "("), UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > limit { return true }
            case UInt8(ascii: ")"), UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth = max(0, depth - 1)
            default: break
            }
        }
        return false
    }

    static func matches(_ sep: [Character], in chars: [Character], at i: Int) -> Bool {
        guard i + sep.count <= chars.count, chars[i..<(i + sep.count)].elementsEqual(sep) else { return false }
        // `\cup` must not match the start of `\cupcake`.
        if sep.first == "\\", sep.last?.isLetter == true, i + sep.count < chars.count, chars[i + sep.count].isLetter { return false }
        // A one-character separator after a backslash is an escape (`\,`), not a separator.
        if sep.count == 1, i > 0, chars[i - 1] == "\\" { return false }
        return true
    }

    /// The position of the bracket that closes the one at `open`, counting (), [] alike.
    static func closingBracket(in chars: [Character], open: Int) -> Int? {
        var depth = 0
        for i in open..<chars.count {
            if "([{".contains(chars[i]) { depth += 1 } else if ")]}".contains(chars[i]) {
                depth -= 1
                if depth == 0 { return i }
            }
        }
        return nil
    }
}
