import Foundation

/// The final answer found in a model response, or why there is none.
public struct Extraction: Equatable, Sendable {
    public enum Status: String, Codable, Sendable {
        case found
        /// The response finished but states no final answer.
        case none
        /// The response was cut off: inside its thinking span or inside a `\boxed{`.
        case truncated
    }

    public var text: String?
    public var status: Status
    /// Where the answer came from ("\\boxed", "\\fbox", "answer line"), or why it is missing;
    /// graders quote it in their reasons.
    public var source: String

    public init(text: String?, status: Status, source: String) {
        self.text = text
        self.status = status
        self.source = source
    }
}

/// Finds the final answer of a response: the last `\boxed{}` / `\fbox{}`, else an explicit
/// "Answer:" / "The answer is" line, always after dropping the thinking span, whose drafts
/// and abandoned boxes are not the answer.
public enum AnswerExtractor {
    public static func extract(from response: String) -> Extraction {
        guard let visible = stripThinking(response) else {
            return Extraction(text: nil, status: .truncated, source: "unclosed <think>: cut off while thinking")
        }
        if let boxed = lastBox(in: visible) { return boxed }
        if let line = answerLine(in: visible) {
            return Extraction(text: line, status: .found, source: "answer line")
        }
        return Extraction(text: nil, status: .none, source: "no \\boxed{} or answer line")
    }

    /// The response without its thinking: the text after the last `</think>` (a lone closing
    /// tag means the template opened the span inside the prompt). nil when `<think>` opens
    /// and never closes.
    public static func stripThinking(_ response: String) -> String? {
        if let close = response.range(of: "</think>", options: .backwards) {
            return String(response[close.upperBound...])
        }
        return response.contains("<think>") ? nil : response
    }

    /// The content of the last `\boxed{...}` or `\fbox{...}` (nested braces allowed), or the
    /// token after `\boxed ` (the `\boxed 5` form). An unclosed last box is a truncation.
    static func lastBox(in text: String) -> Extraction? {
        let chars = Array(text)
        var last: (start: Int, command: String)?
        for command in ["\\boxed", "\\fbox"] {
            let pattern = Array(command)
            var i = 0
            while i + pattern.count <= chars.count {
                if chars[i] == "\\", Array(chars[i..<(i + pattern.count)]) == pattern,
                   i + pattern.count == chars.count || !chars[i + pattern.count].isLetter {
                    if last == nil || i > last!.start { last = (i, command) }
                }
                i += 1
            }
        }
        guard let (start, command) = last else { return nil }
        var i = start + command.count
        while i < chars.count, chars[i] == " " { i += 1 }
        if i < chars.count, chars[i] == "{" {
            guard let close = TeX.closingBrace(in: chars, open: i) else {
                return Extraction(text: nil, status: .truncated, source: "unclosed \(command){: cut off inside the answer")
            }
            let content = String(chars[(i + 1)..<close]).trimmingCharacters(in: .whitespacesAndNewlines)
            return Extraction(text: content, status: .found, source: command)
        }
        // `\boxed 5`: TeX takes the next token; models mean the next word.
        var end = i
        while end < chars.count, !chars[end].isWhitespace, chars[end] != "$" { end += 1 }
        guard end > i else {
            return Extraction(text: nil, status: .truncated, source: "\(command) with no argument")
        }
        return Extraction(text: String(chars[i..<end]), status: .found, source: command)
    }

    // "Answer:", "**Final Answer:**", "Final answer:" / "The answer is", "the final answer is".
    private static let answerPatterns: [NSRegularExpression] = [
        #"answer\s*(?:\*\*)?\s*:"#,
        #"the\s+(?:final\s+)?answer\s+is\s*:?"#,
    ].map { try! NSRegularExpression(pattern: $0, options: [.caseInsensitive]) }

    /// The rest of the line after the last explicit answer phrase, cleaned of markdown bold,
    /// math delimiters and the sentence's full stop; the next non-empty line when the phrase
    /// ends its line ("Final answer:\n5").
    static func answerLine(in text: String) -> String? {
        let ns = text as NSString
        var best: NSRange?
        for re in answerPatterns {
            if let m = re.matches(in: text, range: NSRange(location: 0, length: ns.length)).last,
               best == nil || m.range.location > best!.location {
                best = m.range
            }
        }
        guard let range = best else { return nil }
        let rest = ns.substring(from: range.location + range.length)
        for line in rest.split(separator: "\n", omittingEmptySubsequences: false) {
            let cleaned = cleanAnswerLine(String(line))
            if !cleaned.isEmpty { return cleaned }
        }
        return nil
    }

    /// The answer in the rest of an answer line: the math span it opens with (`$...$`,
    /// `\(...\)`, `\[...\]`), else the text up to the end of the sentence, so that Minerva's
    /// "The final answer is $5$. I hope it is correct." gives "5".
    static func cleanAnswerLine(_ line: String) -> String {
        let s = line.replacingOccurrences(of: "**", with: "").trimmingCharacters(in: .whitespaces)
        for (open, close) in [("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")] where s.hasPrefix(open) {
            var from = s.index(s.startIndex, offsetBy: open.count)
            while let end = s.range(of: close, range: from..<s.endIndex) {
                // `\$` inside the span is a dollar sign (money), not its end
                if close.hasPrefix("$"), end.lowerBound > s.startIndex, s[s.index(before: end.lowerBound)] == "\\" {
                    from = end.upperBound
                    continue
                }
                return String(s[s.index(s.startIndex, offsetBy: open.count)..<end.lowerBound]).trimmingCharacters(in: .whitespaces)
            }
        }
        // A full stop followed by a space ends the sentence; one inside a number does not.
        var sentence = s.range(of: #"\.\s"#, options: .regularExpression).map { String(s[..<$0.lowerBound]) } ?? s
        while let last = sentence.last, ".:;".contains(last) { sentence.removeLast() }
        return sentence.trimmingCharacters(in: .whitespaces)
    }
}
