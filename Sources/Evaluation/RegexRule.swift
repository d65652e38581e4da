import Foundation

/// One compiled regular-expression rewrite. The normaliser is a list of these; compiling
/// each once keeps grading thousands of answers fast.
struct RegexRule: Sendable {
    let regex: NSRegularExpression
    let template: String

    init(_ pattern: String, _ template: String = "", caseInsensitive: Bool = false) {
        regex = try! NSRegularExpression(pattern: pattern, options: caseInsensitive ? [.caseInsensitive] : [])
        self.template = template
    }

    func apply(_ s: String) -> String {
        regex.stringByReplacingMatches(in: s, range: NSRange(location: 0, length: (s as NSString).length), withTemplate: template)
    }

    func matches(_ s: String) -> Bool {
        regex.firstMatch(in: s, range: NSRange(location: 0, length: (s as NSString).length)) != nil
    }

    /// Applies the rule until the text stops changing (nested or repeated forms).
    func applyRepeatedly(_ s: String) -> String {
        var current = s
        while true {
            let next = apply(current)
            if next == current { return current }
            current = next
        }
    }
}
