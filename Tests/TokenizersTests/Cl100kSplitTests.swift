import Foundation
@testable import Tokenizers
import XCTest

/// The hand-written Llama 3 / Qwen2 split against the regex it replaces (NSRegularExpression,
/// ICU): the classes it reads scalars by, over every scalar, then whole splits of mixed text.
final class Cl100kSplitTests: XCTestCase {
    static let llama3 = Cl100kSplit.patternPrefix + #"\p{N}{1,3}"# + Cl100kSplit.patternSuffix
    static let qwen2 = Cl100kSplit.patternPrefix + #"\p{N}"# + Cl100kSplit.patternSuffix

    /// Every Unicode scalar, in order, as one string, and the scalar at each UTF-16 offset.
    static let allScalars: (text: String, atOffset: [Int: Unicode.Scalar]) = {
        var view = String.UnicodeScalarView()
        var at: [Int: Unicode.Scalar] = [:]
        var offset = 0
        for v in UInt32(0)...0x10FFFF {
            guard let s = Unicode.Scalar(v) else { continue }
            view.append(s)
            at[offset] = s
            offset += s.utf16.count
        }
        return (String(view), at)
    }()

    /// The scalars the pattern matches, each matched alone.
    func scalarsMatching(_ pattern: String) throws -> Set<UInt32> {
        let (text, at) = Self.allScalars
        let regex = try NSRegularExpression(pattern: pattern)
        var out = Set<UInt32>()
        for m in regex.matches(in: text, range: NSRange(location: 0, length: (text as NSString).length)) {
            out.insert(at[m.range.location]!.value)
        }
        return out
    }

    func testClassesMatchICUForEveryScalar() throws {
        let classes: [(String, Cl100kSplit.Class)] = [(#"\p{L}"#, .letter), (#"\p{N}"#, .number), (#"\s"#, .space)]
        for (pattern, cls) in classes {
            let icu = try scalarsMatching(pattern)
            var ours = Set<UInt32>()
            for v in UInt32(0)...0x10FFFF {
                if let s = Unicode.Scalar(v), Cl100kSplit.classify(s) == cls { ours.insert(v) }
            }
            XCTAssertFalse(icu.isEmpty)
            let onlyICU = icu.subtracting(ours).sorted().prefix(10).map { String($0, radix: 16) }
            let onlyOurs = ours.subtracting(icu).sorted().prefix(10).map { String($0, radix: 16) }
            let ages = icu.symmetricDifference(ours).compactMap { Unicode.Scalar($0)?.properties.age }.map { "\($0.major).\($0.minor)" }
            XCTAssertTrue(icu == ours, "\(pattern): \(icu.subtracting(ours).count) ICU only (\(onlyICU)), \(ours.subtracting(icu).count) ours only (\(onlyOurs)); ages \(Set(ages).sorted())")
        }
    }

    func testContractionLettersFoldAsICUDoes() throws {
        for letter in "strevmld".unicodeScalars {
            let icu = try scalarsMatching("(?i:\(letter))")
            var ours = Set<UInt32>()
            for v in UInt32(0)...0x10FFFF where Unicode.Scalar(v) != nil && Cl100kSplit.folded(v) == letter.value { ours.insert(v) }
            XCTAssertTrue(icu == ours, "(?i:\(letter)): ICU \(icu.sorted()), ours \(ours.sorted())")
        }
    }

    /// Scalars from every class and the cases the alternatives turn on: contractions in any case
    /// (and LONG S), \r and \n among other spaces, digits of several kinds, marks, emoji.
    static let pool: [String] = [
        "a", "Z", "é", "e\u{301}", "\u{17F}", "\u{212A}", "ß", "\u{FB06}", "İ", "'", "\u{2019}", "s", "S", "t", "T", "r", "R",
        "e", "E", "v", "V", "m", "M", "l", "L", "d", "D", "x", "ll", "re", "ve", "1", "٣", "²", "½", "Ⅻ", "0", "42", "12345",
        " ", "  ", "\t", "\n", "\r", "\r\n", "\n\n", "\u{0B}", "\u{0C}", "\u{85}", "\u{A0}", "\u{2028}", "\u{3000}", "\u{200B}",
        "-", ".", ",", "!", "$", "\\", "{", "}", "😀", "👍🏽", "👨‍👩‍👧", "🇫🇷", "中", "文", "한", "カ", "\u{FE0F}", "\u{20E3}",
        "\u{0301}", "Ω", "𝔘", "𝟙", "\u{E000}", "\u{E0001}", "<|im_start|>",
    ]

    func testSplitsMatchTheRegexOnMixedText() throws {
        var rng = SystemRandomNumberGenerator()
        var seed = UInt64.random(in: 0...UInt64.max, using: &rng)
        // A logged seed, so a failure can be replayed.
        print("Cl100kSplitTests seed \(seed)")
        func next() -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(seed >> 33)
        }
        let field = JSONNode(value: nil, path: "pattern", file: "test")
        for pattern in [Self.llama3, Self.qwen2] {
            for behavior in [RegexSplit.Behavior.Isolated, .Removed, .MergedWithPrevious, .MergedWithNext, .Contiguous] {
                let split = try RegexSplit(pattern: pattern, behavior: behavior, field: field)
                XCTAssertNotNil(split.fast)
                for _ in 0..<(behavior == .Isolated ? 20000 : 2000) {
                    let text = (0..<(next() % 40)).map { _ in Self.pool[next() % Self.pool.count] }.joined()
                    let expected = split.regexSplit(text)
                    XCTAssertEqual(split.split(text), expected, "\(behavior) on \(text.debugDescription)")
                    if behavior == .Isolated { XCTAssertEqual(expected.joined(), text) }
                }
            }
        }
    }

    func testOtherPatternsKeepTheRegex() {
        XCTAssertNil(Cl100kSplit(pattern: PreTokenizer.gpt2Pattern))
        XCTAssertNil(Cl100kSplit(pattern: Self.llama3 + "|x"))
        XCTAssertEqual(Cl100kSplit(pattern: Self.llama3)?.maxDigits, 3)
        XCTAssertEqual(Cl100kSplit(pattern: Self.qwen2)?.maxDigits, 1)
    }
}
